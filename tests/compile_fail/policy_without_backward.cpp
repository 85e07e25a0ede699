// Must not compile: a model that computes log-probs but cannot be trained, handed to a function
// constrained on rlft::policy.
#include <rlft/concepts/policy.hpp>

struct inference_only {
  void log_probs(rlft::token_sequences_view, std::span<float>) {}
};

template <rlft::policy Policy>
void train(Policy&) {}

int main() {
  inference_only model;
  train(model);
}
