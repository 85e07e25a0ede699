// REINFORCE++ and GAE against their recursions unrolled by hand on small batches.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "batch_builder.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/core/philox.hpp"
#include "thread_counts.hpp"

using doctest::Approx;
using rlft_test::completion_advantages;
using rlft_test::make_batch;

namespace {

void check_close(const std::vector<float>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) CHECK(actual[i] == Approx(expected[i]).epsilon(1e-6));
}

// One group, two completions: sequence 0 = 1 prompt + 3 completion tokens (positions 1..3),
// sequence 1 = 2 prompt + 2 completion tokens (positions 6, 7). Rewards 1 and 0.
// k1 = old − ref: sequence 0: 0.5, 0, −1; sequence 1: 0, −0.2.
rlft::rollout_batch two_completions() {
  auto batch = make_batch({{1, 3}, {2, 2}}, {0, 2}, {1.0f, 0.0f});
  const std::vector<float> old{0.0f, -1.0f, -0.5f, -2.0f, 0.0f, 0.0f, -0.25f, -0.25f};
  const std::vector<float> ref{0.0f, -1.5f, -0.5f, -1.0f, 0.0f, 0.0f, -0.25f, -0.05f};
  std::copy(old.begin(), old.end(), batch.old_logprobs().begin());
  std::copy(ref.begin(), ref.end(), batch.ref_logprobs().begin());
  return batch;
}

std::vector<double> whitened(const std::vector<double>& values) {
  double mean = 0.0, square = 0.0;
  for (const double v : values) mean += v / static_cast<double>(values.size());
  for (const double v : values) square += (v - mean) * (v - mean) / static_cast<double>(values.size());
  std::vector<double> result;
  for (const double v : values) result.push_back((v - mean) / (std::sqrt(square) + 1e-8));
  return result;
}

}  // namespace

TEST_CASE("reinforce++: discounted returns of KL-shaped token rewards") {
  const auto batch = two_completions();
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  const rlft::reinforce_plus_plus_advantage estimator{
      .gamma = 0.5, .kl = {.coefficient = 0.1, .estimator = rlft::kl_estimator::k1}, .whiten = false};
  const auto summary = estimator(batch, advantages);
  // r = (−0.05, 0, 1 + 0.1) and (0, 0.02); G_t = r_t + 0.5 G_{t+1}.
  check_close(completion_advantages(batch, advantages, 0), {-0.05 + 0.5 * 0.55, 0.55, 1.1});
  check_close(completion_advantages(batch, advantages, 1), {0.01, 0.02});
  CHECK(advantages[0] == 0.0f);
  CHECK(advantages[4] == 0.0f);
  CHECK(advantages[5] == 0.0f);
  CHECK(summary.groups == 1);
  CHECK(summary.groups_with_equal_rewards == 0);

  // Whitened over the five loss tokens of the batch (the default).
  auto whitening = estimator;
  whitening.whiten = true;
  whitening(batch, advantages);
  const auto expected = whitened({0.225, 0.55, 1.1, 0.01, 0.02});
  check_close(completion_advantages(batch, advantages, 0), {expected[0], expected[1], expected[2]});
  check_close(completion_advantages(batch, advantages, 1), {expected[3], expected[4]});

  // verl's masked_whiten: divided by sqrt(variance over n − 1 + ε).
  whitening.whitening = rlft::whitening_scale::sqrt_sample_variance_plus_epsilon;
  whitening(batch, advantages);
  const double returns[] = {0.225, 0.55, 1.1, 0.01, 0.02};
  double mean = 0.0, square = 0.0;
  for (const double g : returns) mean += g / 5.0;
  for (const double g : returns) square += (g - mean) * (g - mean) / 4.0;
  const double spread = std::sqrt(square + 1e-8);
  check_close(completion_advantages(batch, advantages, 0),
              {(returns[0] - mean) / spread, (returns[1] - mean) / spread, (returns[2] - mean) / spread});
  check_close(completion_advantages(batch, advantages, 1), {(returns[3] - mean) / spread, (returns[4] - mean) / spread});

  // OpenRLHF's: divided by sqrt(max(variance over n, ε)); with ε = 1 the floor holds.
  whitening.whitening = rlft::whitening_scale::sqrt_population_variance_at_least_epsilon;
  whitening(batch, advantages);
  check_close(completion_advantages(batch, advantages, 1), {expected[3] * (std::sqrt(square * 4.0 / 5.0) + 1e-8) /
                                                                std::sqrt(square * 4.0 / 5.0),
                                                            expected[4] * (std::sqrt(square * 4.0 / 5.0) + 1e-8) /
                                                                std::sqrt(square * 4.0 / 5.0)});
  whitening.whitening_epsilon = 1.0;
  whitening(batch, advantages);
  check_close(completion_advantages(batch, advantages, 1), {returns[3] - mean, returns[4] - mean});
}

TEST_CASE("reinforce++-baseline subtracts the group mean reward first") {
  const auto batch = two_completions();
  std::vector<float> advantages(batch.num_tokens());
  rlft::reinforce_plus_plus_advantage{.gamma = 0.5,
                                      .kl = {.coefficient = 0.1, .estimator = rlft::kl_estimator::k1},
                                      .group_mean_baseline = true,
                                      .whiten = false}(batch, advantages);
  // Outcomes 1 − 0.5 and 0 − 0.5.
  check_close(completion_advantages(batch, advantages, 0), {-0.05 + 0.5 * 0.3, 0.3, 0.6});
  check_close(completion_advantages(batch, advantages, 1), {-0.24, -0.48});
}

TEST_CASE("reinforce++: other KL estimators, dense rewards, masked tokens") {
  auto batch = two_completions();
  std::vector<float> advantages(batch.num_tokens());
  // k3 at token 1: δ = ref − old = −0.5 → exp(−0.5) + 0.5 − 1.
  rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = 1.0, .estimator = rlft::kl_estimator::k3},
                                      .whiten = false}(batch, advantages);
  const double k3_token1 = std::exp(-0.5) - 0.5, k3_token3 = std::exp(1.0) - 2.0, k3_token7 = std::exp(0.2) - 1.2;
  check_close(completion_advantages(batch, advantages, 0), {1.0 - k3_token1 - k3_token3, 1.0 - k3_token3, 1.0 - k3_token3});
  check_close(completion_advantages(batch, advantages, 1), {-k3_token7, -k3_token7});

  batch.token_rewards()[2] = 0.3f;  // a dense reward on sequence 0's second completion token
  batch.loss_mask()[1] = 0;         // the first completion token leaves the loss: no KL there
  rlft::reinforce_plus_plus_advantage{
      .gamma = 0.5, .kl = {.coefficient = 0.1, .estimator = rlft::kl_estimator::k1}, .whiten = false}(batch,
                                                                                                    advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.0, 0.3 + 0.55, 1.1});
}

TEST_CASE("gae: δ_t = r_t + γV_{t+1} − V_t, A_t = Σ (γλ)^l δ_{t+l}, returns A + V") {
  auto batch = make_batch({{1, 3}}, {0, 1}, {1.0f});
  const std::vector<float> values{0.5f, 0.25f, 0.75f};
  std::copy(values.begin(), values.end(), batch.values().begin() + 1);
  std::vector<float> advantages(batch.num_tokens(), 99.0f), returns(batch.num_tokens(), 99.0f);

  rlft::gae_advantage{.gamma = 0.9, .lambda = 0.8}(batch, advantages, returns);
  const double d2 = 1.0 - 0.75, d1 = 0.9 * 0.75 - 0.25, d0 = 0.9 * 0.25 - 0.5;
  const double a2 = d2, a1 = d1 + 0.72 * d2, a0 = d0 + 0.72 * d1 + 0.72 * 0.72 * d2;
  check_close(completion_advantages(batch, advantages, 0), {a0, a1, a2});
  check_close(completion_advantages(batch, returns, 0), {a0 + 0.5, a1 + 0.25, a2 + 0.75});
  CHECK(advantages[0] == 0.0f);
  CHECK(returns[0] == 0.0f);

  // λ = 1, γ = 1: Monte Carlo, A_t = R − V_t. λ = 0: one-step TD errors.
  rlft::gae_advantage{.gamma = 1.0, .lambda = 1.0}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.5, 0.75, 0.25});
  rlft::gae_advantage{.gamma = 0.9, .lambda = 0.0}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {d0, d1, d2});

  // Whitening changes the advantages, not the critic's targets.
  rlft::gae_advantage{.gamma = 0.9, .lambda = 0.8, .whiten = true}(batch, advantages, returns);
  const auto expected = whitened({a0, a1, a2});
  check_close(completion_advantages(batch, advantages, 0), expected);
  check_close(completion_advantages(batch, returns, 0), {a0 + 0.5, a1 + 0.25, a2 + 0.75});
}

TEST_CASE("reinforce++ and gae: masked tokens carried over, as verl discounts them") {
  // One completion of 4 tokens; its second and third tokens are outside the loss (tool output).
  auto batch = make_batch({{1, 4}}, {0, 1}, {1.0f});
  batch.loss_mask()[2] = 0;
  batch.loss_mask()[3] = 0;
  const std::vector<float> values{0.5f, 0.1f, 0.2f, 0.25f};
  std::copy(values.begin(), values.end(), batch.values().begin() + 1);
  std::vector<float> advantages(batch.num_tokens()), returns(batch.num_tokens());
  const auto carried = rlft::masked_token_steps::carried;
  // REINFORCE++, γ = 0.5: token 4 gets R = 1; token 1 is one time step before it, not three.
  rlft::reinforce_plus_plus_advantage{.gamma = 0.5, .whiten = false, .masked_tokens = carried}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.5, 0.0, 0.0, 1.0});
  rlft::reinforce_plus_plus_advantage{.gamma = 0.5, .whiten = false}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.125, 0.0, 0.0, 1.0});
  // GAE: token 1's next value is token 4's, and its advantage carries token 4's undiscounted by
  // the masked steps: δ_4 = 1 − 0.25, δ_1 = 0.9·0.25 − 0.5, A_1 = δ_1 + 0.9·0.8·A_4.
  rlft::gae_advantage{.gamma = 0.9, .lambda = 0.8, .masked_tokens = carried}(batch, advantages, returns);
  const double a4 = 0.75, a1 = 0.9 * 0.25 - 0.5 + 0.72 * a4;
  check_close(completion_advantages(batch, advantages, 0), {a1, 0.0, 0.0, a4});
  check_close(completion_advantages(batch, returns, 0), {a1 + 0.5, 0.0, 0.0, a4 + 0.25});
  // A dense reward on a carried token joins the return undiscounted.
  batch.token_rewards()[2] = 0.3f;
  rlft::reinforce_plus_plus_advantage{.gamma = 0.5, .whiten = false, .masked_tokens = carried}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.5 * 1.3, 0.0, 0.0, 1.0});
}

TEST_CASE("gae and reinforce++: zeroed groups keep critic targets and leave the whitening") {
  auto batch = make_batch({{1, 2}, {1, 2}, {1, 1}, {1, 1}}, {0, 2, 4}, {1.0f, 1.0f, 2.0f, 0.0f});
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) batch.values()[t] = 0.25f;
  std::vector<float> advantages(batch.num_tokens()), returns(batch.num_tokens());
  const auto summary = rlft::gae_advantage{.gamma = 1.0, .lambda = 1.0, .equal_rewards = rlft::equal_reward_policy::zero_advantage}(
      batch, advantages, returns);
  CHECK(summary.groups_with_equal_rewards == 1);
  check_close(completion_advantages(batch, advantages, 0), {0.0, 0.0});
  check_close(completion_advantages(batch, returns, 0), {1.0, 1.0});
  check_close(completion_advantages(batch, advantages, 2), {1.75});

  rlft::reinforce_plus_plus_advantage{.equal_rewards = rlft::equal_reward_policy::drop}(batch, advantages);
  check_close(completion_advantages(batch, advantages, 0), {0.0, 0.0});
  // Whitened over group 1 only: returns 2 and 0 → ±1.
  check_close(completion_advantages(batch, advantages, 2), {1.0});
  check_close(completion_advantages(batch, advantages, 3), {-1.0});
}

TEST_CASE("token-level estimators give the same bits for every thread count") {
  rlft::philox_stream random(42, 0);
  std::vector<rlft_test::sequence_shape> shapes;
  std::vector<float> rewards;
  for (int s = 0; s < 512; ++s) {
    shapes.push_back({1 + static_cast<std::int64_t>(random() % 8), 1 + static_cast<std::int64_t>(random() % 64)});
    rewards.push_back(random.uniform());
  }
  std::vector<std::int64_t> offsets;
  for (int s = 0; s <= 512; s += 8) offsets.push_back(s);
  auto batch = make_batch(shapes, offsets, rewards);
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) {
    batch.old_logprobs()[t] = -2.0f * random.uniform();
    batch.ref_logprobs()[t] = -2.0f * random.uniform();
    batch.values()[t] = random.uniform();
  }
  const auto run = [&] {
    std::vector<float> a(batch.num_tokens()), b(batch.num_tokens()), returns(batch.num_tokens());
    rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = 0.05}}(batch, a);
    rlft::gae_advantage{.kl = {.coefficient = 0.05}, .whiten = true}(batch, b, returns);
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), returns.begin(), returns.end());
    return a;
  };
  const auto [one, two, three] = rlft::testing::results_for_thread_counts(run);
  CHECK(one == two);
  CHECK(one == three);
}
