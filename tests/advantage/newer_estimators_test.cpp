// OPO, GRPO pass@k and GDPO against their formulas evaluated by hand, the stand-in moments of
// a group of one, and their errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "batch_builder.hpp"
#include "rlft/advantage/gdpo_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/grpo_passk_advantage.hpp"
#include "rlft/advantage/opo_advantage.hpp"

using doctest::Approx;
using doctest::Contains;
using rlft_test::completion_advantages;
using rlft_test::four_and_one;
using rlft_test::make_batch;
using rlft_test::per_sequence;

TEST_CASE("opo: the reward minus the group's length-weighted mean reward") {
  auto batch = four_and_one();
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  const auto summary = rlft::opo_advantage{}(batch, advantages);
  const double baseline = (3 * 2.0 + 2 * 0.0 + 1 * 1.0 + 4 * 1.0) / 10.0;
  CHECK(completion_advantages(batch, advantages, 0) == std::vector<float>(3, static_cast<float>(2.0 - baseline)));
  CHECK(per_sequence(batch, advantages)[1] == Approx(0.0 - baseline));
  CHECK(per_sequence(batch, advantages)[3] == Approx(1.0 - baseline));
  CHECK(completion_advantages(batch, advantages, 4) == std::vector<float>(2, 0.0f));  // alone: no baseline
  CHECK(advantages[0] == 0.0f);  // a prompt token
  CHECK(summary.groups_with_equal_rewards == 1);

  // A masked token shortens its completion's weight: sequence 3 counts 3 tokens.
  batch.loss_mask()[batch.sequence_end(3) - 1] = 0;
  rlft::opo_advantage{}(batch, advantages);
  CHECK(per_sequence(batch, advantages)[0] == Approx(2.0 - (6.0 + 1.0 + 3.0) / 9.0));
  CHECK(advantages[batch.sequence_end(3) - 1] == 0.0f);
}

TEST_CASE("a group of one: no signal, or verl's stand-in mean 0 and std 1") {
  const auto batch = four_and_one();  // group 1: one completion, reward 5
  std::vector<float> advantages(batch.num_tokens());
  const auto singleton = [&](const auto& estimator) {
    estimator(batch, advantages);
    return per_sequence(batch, advantages)[4];
  };
  constexpr auto stand_in = rlft::singleton_group_policy::zero_mean_unit_std;
  CHECK(singleton(rlft::grpo_advantage{}) == 0.0f);
  CHECK(rlft::grpo_advantage{}.minimum_group_size() == 2);
  CHECK(singleton(rlft::grpo_advantage{.epsilon = 1e-6, .singletons = stand_in}) == static_cast<float>(5.0 / (1.0 + 1e-6)));
  CHECK(rlft::grpo_advantage{.singletons = stand_in}.minimum_group_size() == 1);
  CHECK(singleton(rlft::grpo_advantage{.scaling = rlft::reward_scaling::none, .singletons = stand_in}) == 5.0f);
  CHECK(singleton(rlft::opo_advantage{}) == 0.0f);
  CHECK(singleton(rlft::opo_advantage{.singletons = stand_in}) == 5.0f);
  // The other group is untouched by the policy.
  rlft::grpo_advantage{.singletons = stand_in}(batch, advantages);
  const auto with = per_sequence(batch, advantages);
  rlft::grpo_advantage{}(batch, advantages);
  const auto without = per_sequence(batch, advantages);
  for (std::size_t s = 0; s < 4; ++s) CHECK(with[s] == without[s]);
}

TEST_CASE("gdpo: a group of one under the stand-in moments adds its components' rewards") {
  // Group 0 of two completions (accuracy 1 and 0), group 1 of one (accuracy 1); one token each.
  auto batch = make_batch({{1, 1}, {1, 1}, {1, 1}}, {0, 2, 3}, {0.0f, 0.0f, 0.0f});
  auto& table = batch.rewards();
  const auto accuracy = table.component(table.add_component("accuracy"));
  accuracy[0] = 1.0f;
  accuracy[1] = 0.0f;
  accuracy[2] = 1.0f;
  std::vector<float> advantages(batch.num_tokens());
  rlft::gdpo_advantage{.singletons = rlft::singleton_group_policy::zero_mean_unit_std}(batch, advantages);
  // Before whitening: ±(1/2)/(√(1/2) + ε) in group 0, 1/(1 + ε) for the singleton.
  const double z = 0.5 / (std::sqrt(0.5) + 1e-6), alone = 1.0 / (1.0 + 1e-6);
  const double sums[] = {z, -z, alone};
  const double mean = (sums[0] + sums[1] + sums[2]) / 3.0;
  double variance = 0.0;
  for (const double s : sums) variance += (s - mean) * (s - mean) / 2.0;
  for (std::size_t s = 0; s < 3; ++s)
    CHECK(per_sequence(batch, advantages)[s] == Approx((sums[s] - mean) / std::sqrt(variance + 1e-8)).epsilon(1e-6));
}

TEST_CASE("grpo pass@k: only the best completion, by its margin over the runner-up") {
  const auto batch = four_and_one();
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  rlft::grpo_passk_advantage{}(batch, advantages);
  const double sample_std = std::sqrt((1.0 + 1.0) / 3.0);
  CHECK(per_sequence(batch, advantages) ==
        std::vector<float>{static_cast<float>((2.0 - 1.0) / (sample_std + 1e-6)), 0.0f, 0.0f, 0.0f, 0.0f});
  rlft::grpo_passk_advantage{.normalize = false}(batch, advantages);
  CHECK(per_sequence(batch, advantages) == std::vector<float>{1.0f, 0.0f, 0.0f, 0.0f, 0.0f});
  rlft::grpo_passk_advantage{.epsilon = 0.5, .unbiased_std = false}(batch, advantages);
  CHECK(per_sequence(batch, advantages)[0] == Approx(1.0 / (std::sqrt(0.5) + 0.5)));

  // A tie for first: the margin is 0 and nothing is reinforced.
  const auto tied = make_batch({{1, 2}, {1, 2}, {1, 2}}, {0, 3}, {1.0f, 3.0f, 3.0f});
  std::vector<float> tied_advantages(tied.num_tokens(), 99.0f);
  rlft::grpo_passk_advantage{}(tied, tied_advantages);
  CHECK(per_sequence(tied, tied_advantages) == std::vector<float>{0.0f, 0.0f, 0.0f});
}

TEST_CASE("gdpo: each component normalised in its group, weighted, summed, whitened over loss tokens") {
  // Two groups of two; completions of 2, 1, 1 and 2 tokens.
  auto batch = make_batch({{1, 2}, {1, 1}, {1, 1}, {1, 2}}, {0, 2, 4}, {0.0f, 0.0f, 0.0f, 0.0f});
  const float accuracy[] = {1.0f, 0.0f, 0.0f, 0.0f}, format[] = {1.0f, 1.0f, 1.0f, 0.0f};
  auto& table = batch.rewards();
  const auto accuracy_column = table.component(table.add_component("accuracy"));
  const auto format_column = table.component(table.add_component("format"));
  for (std::size_t s = 0; s < 4; ++s) {
    accuracy_column[s] = accuracy[s];
    format_column[s] = format[s];
  }
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  const auto summary =
      rlft::gdpo_advantage{.components = {{"accuracy", 1.0}, {"format", 0.5}}}(batch, advantages);

  // A group of values 1 and 0: mean 1/2, sample std √(1/2), z-scores ±(1/2)/(√(1/2) + ε).
  const double z = 0.5 / (std::sqrt(0.5) + 1e-6);
  const double sums[] = {z, -z, 0.5 * z, -0.5 * z};  // accuracy in group 0, half of format in group 1
  const double lengths[] = {2, 1, 1, 2};
  double mean = 0.0;
  for (int s = 0; s < 4; ++s) mean += lengths[s] * sums[s] / 6.0;
  double variance = 0.0;
  for (int s = 0; s < 4; ++s) variance += lengths[s] * (sums[s] - mean) * (sums[s] - mean) / 5.0;
  for (std::size_t s = 0; s < 4; ++s) {
    CAPTURE(s);
    CHECK(per_sequence(batch, advantages)[s] == Approx((sums[s] - mean) / std::sqrt(variance + 1e-8)).epsilon(1e-6));
  }
  CHECK(advantages[0] == 0.0f);  // a prompt token
  CHECK(summary.groups_with_equal_rewards == 0);

  // Without names: every component, weight 1. The sums ±z have mean 0 over the six tokens.
  rlft::gdpo_advantage{}(batch, advantages);
  const double whitened = z / std::sqrt(6.0 * z * z / 5.0 + 1e-8);
  CHECK(per_sequence(batch, advantages)[0] == Approx(whitened).epsilon(1e-6));
  CHECK(per_sequence(batch, advantages)[1] == Approx(-whitened).epsilon(1e-6));
  CHECK(per_sequence(batch, advantages)[2] == Approx(whitened).epsilon(1e-6));
  CHECK(per_sequence(batch, advantages)[3] == Approx(-whitened).epsilon(1e-6));

  // Every sum equal (both components equal in both groups) with ε_w = 0: advantages 0, not NaN.
  {
    auto flat = batch;
    for (std::size_t s = 0; s < 4; ++s) flat.rewards().component("accuracy")[s] = flat.rewards().component("format")[s] = 1.0f;
    rlft::gdpo_advantage{.whitening_epsilon = 0.0}(flat, advantages);
    CHECK(per_sequence(flat, advantages) == std::vector<float>(4, 0.0f));
  }

  // A group equal in every component counts as equal; zero_advantage zeroes it after whitening.
  format_column[3] = 1.0f;
  const auto equal =
      rlft::gdpo_advantage{.equal_rewards = rlft::equal_reward_policy::zero_advantage}(batch, advantages);
  CHECK(equal.groups_with_equal_rewards == 1);
  CHECK(per_sequence(batch, advantages)[2] == 0.0);
  CHECK(per_sequence(batch, advantages)[3] == 0.0);
}

TEST_CASE("the newer estimators' errors name the problem") {
  auto batch = four_and_one();
  std::vector<float> advantages(batch.num_tokens());
  CHECK_THROWS_WITH_AS(rlft::grpo_passk_advantage{.epsilon = -1.0}(batch, advantages),
                       Contains("grpo pass@k advantage: option epsilon = -1"), rlft::error);
  std::vector<float> short_span(batch.num_tokens() - 1);
  CHECK_THROWS_WITH_AS(rlft::opo_advantage{}(batch, short_span), Contains("opo advantage: 20 advantages given for a batch of 21 tokens"),
                       rlft::error);
  batch.rewards().total()[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(rlft::opo_advantage{}(batch, advantages), Contains("reward of sequence 2 is nan"),
                       rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::grpo_passk_advantage{}(batch, advantages), Contains("reward of sequence 2 is nan"),
                       rlft::data_error);

  CHECK_THROWS_WITH_AS(rlft::gdpo_advantage{}(batch, advantages),
                       Contains("gdpo advantage: the batch has no reward components to normalise"), rlft::error);
  const auto accuracy = batch.rewards().component(batch.rewards().add_component("accuracy"));
  const rlft::gdpo_advantage format_only{.components = {{"format", 1.0}}};
  CHECK_THROWS_WITH_AS(format_only(batch, advantages),
                       Contains("gdpo advantage: the batch has no reward component named 'format'"), rlft::error);
  accuracy[4] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(rlft::gdpo_advantage{}(batch, advantages),
                       Contains("gdpo advantage: reward component 'accuracy' of sequence 4 is inf"), rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::gdpo_advantage{.whitening_epsilon = -1.0}(batch, advantages),
                       Contains("option whitening_epsilon = -1"), rlft::error);

  // One loss token in the batch leaves nothing to whiten against.
  auto single = make_batch({{1, 1}, {1, 1}}, {0, 2}, {1.0f, 0.0f});
  single.rewards().component(single.rewards().add_component("accuracy"))[0] = 1.0f;
  single.loss_mask()[single.sequence_end(1) - 1] = 0;
  std::vector<float> two(single.num_tokens());
  CHECK_THROWS_WITH_AS(rlft::gdpo_advantage{}(single, two),
                       Contains("the whitening needs at least two loss tokens, and the batch has 1"), rlft::data_error);
}
