// rlft::policy_objective: an objective that satisfies it, and types that miss each part.
#include <doctest/doctest.h>

#include <vector>

#include "rlft/concepts/policy_objective.hpp"

namespace {

// Plain REINFORCE, token-mean: L = −Σ_t m_t A_t log π_t / Σ_t m_t, so dL/d(log π_t) = −m_t A_t / N.
struct reinforce_token_mean {
  rlft::objective_result operator()(const rlft::objective_input& in,
                                    const rlft::objective_output& out) const {
    const auto& batch = in.batch;
    const auto first_token = batch.sequence_begin(in.first_sequence);
    const auto slice = batch.sequences(in.first_sequence, in.sequence_count);
    std::size_t tokens = 0;
    for (std::size_t t = 0; t < slice.num_tokens(); ++t) tokens += batch.loss_mask()[first_token + t];
    const double normaliser =
        static_cast<double>(in.scope.loss_tokens ? in.scope.loss_tokens : tokens);
    rlft::objective_result result;
    for (std::size_t t = 0; t < slice.num_tokens(); ++t) {
      const double weight = batch.loss_mask()[first_token + t] * batch.advantages()[first_token + t];
      result.loss -= weight * in.logprobs[t] / normaliser;
      out.logprob_gradients[t] = static_cast<float>(-weight / normaliser);
    }
    result.metrics.policy_loss = result.loss;
    result.metrics.tokens = tokens;
    return result;
  }
};

struct returns_only_the_loss {
  double operator()(const rlft::objective_input&, const rlft::objective_output&) const;
};

struct forgets_the_gradient {
  rlft::objective_result operator()(const rlft::objective_input&) const;
};

struct caches_between_calls {
  std::vector<float> cache;
  rlft::objective_result operator()(const rlft::objective_input&, const rlft::objective_output&);
};

}  // namespace

static_assert(rlft::policy_objective<reinforce_token_mean>);
static_assert(!rlft::policy_objective<returns_only_the_loss>);
static_assert(!rlft::policy_objective<forgets_the_gradient>);
static_assert(!rlft::returns_loss_and_gradient<caches_between_calls>);
static_assert(!rlft::policy_objective<int>);

TEST_CASE("a policy objective returns the loss and dL/d(log-prob) of a slice") {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>{1, 2, 3});
  sequences.push_back(std::vector<rlft::token_id>{1, 4});
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {1, 1}, 2);
  const std::vector<float> advantages{0.0f, 1.0f, 1.0f, 0.0f, -2.0f};
  std::copy(advantages.begin(), advantages.end(), batch.advantages().begin());
  const std::vector<float> logprobs{0.0f, -0.5f, -1.0f, 0.0f, -0.25f};
  std::vector<float> gradients(5);

  const rlft::policy_objective auto objective = reinforce_token_mean{};
  const auto result = objective({.batch = batch, .sequence_count = 2, .logprobs = logprobs},
                                {.logprob_gradients = gradients});
  // Three completion tokens: L = −(1·(−0.5) + 1·(−1) + (−2)·(−0.25)) / 3 = 1/3.
  CHECK(result.loss == doctest::Approx(1.0 / 3.0));
  CHECK(result.metrics.tokens == 3);
  CHECK(gradients[1] == doctest::Approx(-1.0 / 3.0));
  CHECK(gradients[4] == doctest::Approx(2.0 / 3.0));
  CHECK(gradients[0] == 0.0f);

  // The second sequence alone, normalised by the mini-batch's three tokens.
  std::vector<float> slice_gradients(2);
  const auto slice = objective({.batch = batch,
                                .first_sequence = 1,
                                .sequence_count = 1,
                                .logprobs = std::span<const float>(logprobs).subspan(3),
                                .scope = {.sequences = 2, .loss_tokens = 3}},
                               {.logprob_gradients = slice_gradients});
  CHECK(slice.loss == doctest::Approx(-0.5 / 3.0));
  CHECK(slice_gradients[1] == doctest::Approx(2.0 / 3.0));
}
