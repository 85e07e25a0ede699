// Outcome-reward estimators against their formulas evaluated by hand: GRPO (group, batch and
// no std scaling), Dr. GRPO, RLOO, ReMax; degenerate groups; zero-sum and invariance
// properties.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "batch_builder.hpp"
#include "rlft/advantage/dr_grpo_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/remax_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"
#include "rlft/core/philox.hpp"

using doctest::Approx;
using rlft_test::completion_advantages;
using rlft_test::first_completion_advantage;
using rlft_test::four_and_one;
using rlft_test::make_batch;
using rlft_test::per_sequence;

namespace {

// Random rewards in groups of random sizes; group sizes >= 2 so every group has a spread.
rlft::rollout_batch random_batch(std::uint64_t seed) {
  rlft::philox_stream random(seed, 0);
  std::vector<rlft_test::sequence_shape> shapes;
  std::vector<std::int64_t> offsets{0};
  std::vector<float> rewards;
  for (int g = 0; g < 6; ++g) {
    const int size = 2 + static_cast<int>(random() % 7);
    for (int i = 0; i < size; ++i) {
      shapes.push_back({1 + static_cast<std::int64_t>(random() % 3), 1 + static_cast<std::int64_t>(random() % 5)});
      rewards.push_back(std::round(random.uniform() * 8.0f) / 4.0f - 1.0f);
    }
    rewards.back() = rewards[static_cast<std::size_t>(offsets.back())] + 0.5f;  // never all equal
    offsets.push_back(static_cast<std::int64_t>(shapes.size()));
  }
  return make_batch(shapes, offsets, rewards);
}

}  // namespace

TEST_CASE("grpo: the group z-score of the reward on every loss token, 0 elsewhere") {
  auto batch = four_and_one();
  batch.loss_mask()[batch.sequence_begin(3) + 2] = 0;  // a masked completion token
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  const auto summary = rlft::grpo_advantage{}(batch, advantages);

  const double sample_std = std::sqrt((1.0 + 1.0) / 3.0);
  const double plus = 1.0 / (sample_std + 1e-4);
  CHECK(completion_advantages(batch, advantages, 0) == std::vector<float>(3, static_cast<float>(plus)));
  CHECK(completion_advantages(batch, advantages, 1) == std::vector<float>(2, static_cast<float>(-plus)));
  CHECK(completion_advantages(batch, advantages, 2) == std::vector<float>{0.0f});
  CHECK(completion_advantages(batch, advantages, 3) == std::vector<float>(4, 0.0f));
  // Prompt tokens, the masked token and the single-completion group get 0.
  CHECK(advantages[0] == 0.0f);
  CHECK(advantages[1] == 0.0f);
  CHECK(completion_advantages(batch, advantages, 4) == std::vector<float>(2, 0.0f));
  CHECK(summary.groups == 2);
  CHECK(summary.groups_with_equal_rewards == 1);
  CHECK(summary.drop_group.empty());
}

TEST_CASE("grpo: population std, custom epsilon, batch std and no scaling") {
  const auto batch = four_and_one();
  std::vector<float> advantages(batch.num_tokens());

  rlft::grpo_advantage{.epsilon = 0.5, .unbiased_std = false}(batch, advantages);
  CHECK(per_sequence(batch, advantages)[0] == Approx(1.0 / (std::sqrt(0.5) + 0.5)));

  // Batch rewards 2, 0, 1, 1, 5: mean 9/5, Σ squared deviations 0.04 + 3.24 + 0.64 + 0.64 + 10.24.
  rlft::grpo_advantage{.scaling = rlft::reward_scaling::batch_std}(batch, advantages);
  const double batch_std = std::sqrt((0.04 + 3.24 + 0.64 + 0.64 + 10.24) / 4.0);
  CHECK(per_sequence(batch, advantages)[0] == Approx(1.0 / (batch_std + 1e-4)));
  CHECK(per_sequence(batch, advantages)[1] == Approx(-1.0 / (batch_std + 1e-4)));
  CHECK(per_sequence(batch, advantages)[4] == 0.0f);

  rlft::grpo_advantage{.scaling = rlft::reward_scaling::none}(batch, advantages);
  CHECK(per_sequence(batch, advantages) == std::vector<float>{1.0f, -1.0f, 0.0f, 0.0f, 0.0f});
}

TEST_CASE("dr. grpo: the mean-centred reward, no division") {
  const auto batch = make_batch({{1, 2}, {1, 2}, {1, 2}}, {0, 3}, {3.0f, 0.5f, 1.0f});
  std::vector<float> advantages(batch.num_tokens());
  rlft::dr_grpo_advantage{}(batch, advantages);
  const double mean = 4.5 / 3.0;
  CHECK(per_sequence(batch, advantages)[0] == Approx(3.0 - mean));
  CHECK(per_sequence(batch, advantages)[1] == Approx(0.5 - mean));
  CHECK(per_sequence(batch, advantages)[2] == Approx(1.0 - mean));
}

TEST_CASE("rloo: the reward minus the mean of the other completions' rewards") {
  const auto batch = four_and_one();
  std::vector<float> advantages(batch.num_tokens());
  const auto summary = rlft::rloo_advantage{}(batch, advantages);
  CHECK(per_sequence(batch, advantages)[0] == Approx(2.0 - (0.0 + 1.0 + 1.0) / 3.0));
  CHECK(per_sequence(batch, advantages)[1] == Approx(0.0 - (2.0 + 1.0 + 1.0) / 3.0));
  CHECK(per_sequence(batch, advantages)[2] == Approx(1.0 - (2.0 + 0.0 + 1.0) / 3.0));
  CHECK(per_sequence(batch, advantages)[4] == 0.0f);  // nobody to leave out
  CHECK(summary.groups_with_equal_rewards == 1);
}

TEST_CASE("remax: the reward minus the greedy completion's reward") {
  auto batch = make_batch({{1, 2}, {1, 3}, {2, 1}}, {0, 2, 3}, {1.0f, 0.25f, 0.5f});
  batch.greedy_rewards()[0] = 0.75f;
  batch.greedy_rewards()[1] = 0.5f;
  std::vector<float> advantages(batch.num_tokens());
  const auto summary = rlft::remax_advantage{.equal_rewards = rlft::equal_reward_policy::drop}(batch, advantages);
  CHECK(completion_advantages(batch, advantages, 0) == std::vector<float>(2, 0.25f));
  CHECK(completion_advantages(batch, advantages, 1) == std::vector<float>(3, -0.5f));
  CHECK(completion_advantages(batch, advantages, 2) == std::vector<float>{0.0f});
  // Group 1's only sample matches its greedy completion: no signal.
  CHECK(summary.groups_with_equal_rewards == 1);
  CHECK(summary.drop_group == std::vector<std::uint8_t>{0, 1});
}

TEST_CASE("groups of equal rewards are counted, zeroed and optionally marked for dropping") {
  auto batch = make_batch({{1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}}, {0, 2, 4, 6},
                          {0.1f, 0.1f, 1.0f, 0.0f, 0.3f, 0.3f});
  std::vector<float> advantages(batch.num_tokens(), 99.0f);

  for (const auto policy : {rlft::equal_reward_policy::keep, rlft::equal_reward_policy::zero_advantage,
                            rlft::equal_reward_policy::drop}) {
    CAPTURE(static_cast<int>(policy));
    // Each estimator runs just before its own checks, so every one of them is checked.
    const std::function<rlft::advantage_summary()> estimators[] = {
        [&] { return rlft::grpo_advantage{.equal_rewards = policy}(batch, advantages); },
        [&] { return rlft::grpo_advantage{.epsilon = 0.0, .equal_rewards = policy}(batch, advantages); },
        [&] { return rlft::rloo_advantage{.equal_rewards = policy}(batch, advantages); },
        [&] { return rlft::dr_grpo_advantage{.equal_rewards = policy}(batch, advantages); }};
    for (const auto& estimate : estimators) {
      const auto summary = estimate();
      CHECK(summary.groups == 3);
      CHECK(summary.groups_with_equal_rewards == 2);
      if (policy == rlft::equal_reward_policy::drop)
        CHECK(summary.drop_group == std::vector<std::uint8_t>{1, 0, 1});
      else
        CHECK(summary.drop_group.empty());
      const auto values = per_sequence(batch, advantages);
      CHECK(values[0] == 0.0f);  // exactly, even with ε = 0
      CHECK(values[5] == 0.0f);
      CHECK(values[2] > 0.0f);
    }
  }

  const auto summary = rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop}(batch, advantages);
  rlft::clear_dropped_groups(batch, summary);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s)
    for (std::size_t t = batch.sequence_begin(s) + 1; t < batch.sequence_end(s); ++t)
      CHECK(batch.loss_mask()[t] == (s == 2 || s == 3 ? 1 : 0));
  CHECK_THROWS_WITH_AS(rlft::clear_dropped_groups(batch, {.groups = 2, .drop_group = {1, 0}}),
                       doctest::Contains("marks 2 groups but the batch has 3"), rlft::error);
}

TEST_CASE("grpo and rloo advantages sum to zero in every group") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto batch = random_batch(seed);
    std::vector<float> advantages(batch.num_tokens());
    for (int estimator = 0; estimator < 3; ++estimator) {
      if (estimator == 0) rlft::grpo_advantage{}(batch, advantages);
      if (estimator == 1) rlft::rloo_advantage{}(batch, advantages);
      if (estimator == 2) rlft::dr_grpo_advantage{}(batch, advantages);
      const auto values = per_sequence(batch, advantages);
      for (std::size_t g = 0; g < batch.num_groups(); ++g) {
        double sum = 0.0, magnitude = 0.0;
        for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) {
          sum += values[s];
          magnitude += std::abs(values[s]);
        }
        CHECK(magnitude > 0.0);
        CHECK(std::abs(sum) <= 1e-6 * magnitude);
      }
    }
  }
}

TEST_CASE("shifting every reward changes no advantage, scaling them changes no grpo advantage") {
  for (std::uint64_t seed = 11; seed <= 15; ++seed) {
    const auto batch = random_batch(seed);
    auto shifted = random_batch(seed);
    auto scaled = random_batch(seed);
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      shifted.rewards().total()[s] += 3.0f;
      scaled.rewards().total()[s] *= 4.0f;
    }
    std::vector<float> original(batch.num_tokens()), transformed(batch.num_tokens());
    const auto same = [&](double tolerance) {
      for (std::size_t t = 0; t < original.size(); ++t) CHECK(transformed[t] == Approx(original[t]).epsilon(tolerance));
    };
    for (const auto scaling : {rlft::reward_scaling::group_std, rlft::reward_scaling::batch_std}) {
      const rlft::grpo_advantage grpo{.epsilon = 0.0, .scaling = scaling};
      grpo(batch, original);
      grpo(shifted, transformed);
      same(1e-5);
      grpo(scaled, transformed);
      same(1e-6);
    }
    rlft::rloo_advantage{}(batch, original);
    rlft::rloo_advantage{}(shifted, transformed);
    same(1e-5);
    rlft::dr_grpo_advantage{}(batch, original);
    rlft::dr_grpo_advantage{}(shifted, transformed);
    same(1e-5);
  }
}
