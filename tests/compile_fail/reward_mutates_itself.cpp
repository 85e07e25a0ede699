// Must not compile: a reward whose operator() is not const (rewards are scored in parallel).
// GCC names the unsatisfied requirement, rlft::call_operator_is_const, in its diagnostic.
#include <rlft/rewards/composition.hpp>

struct counts_calls {
  int calls = 0;
  float operator()(const rlft::reward_input&) { return static_cast<float>(++calls); }
};

int main() { [[maybe_unused]] const auto reward = rlft::component("calls", counts_calls{}); }
