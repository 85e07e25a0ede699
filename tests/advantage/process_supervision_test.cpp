// Process supervision (DeepSeekMath 4.1.3) against the formula evaluated by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "batch_builder.hpp"
#include "rlft/advantage/process_supervision_advantage.hpp"

using doctest::Approx;
using rlft_test::completion_advantages;
using rlft_test::make_batch;

namespace {

// Group 0: sequence 0 (tokens 0..4, completion 1..4) has steps ending at 2 (reward 1) and 4
// (reward 0); sequence 1 (tokens 5..8, completion 6..8) has one step ending at 7 (reward 1).
// Group 1: sequence 2 (tokens 9..11) has one step, ending at 11.
rlft::rollout_batch stepped_batch() {
  auto batch = make_batch({{1, 4}, {1, 3}, {1, 2}}, {0, 2, 3});
  for (const auto& [token, reward] : {std::pair{2, 1.0f}, {4, 0.0f}, {7, 1.0f}, {11, 0.5f}}) {
    batch.step_ends()[token] = 1;
    batch.token_rewards()[token] = reward;
  }
  return batch;
}

}  // namespace

TEST_CASE("process supervision: a token's advantage sums the group-normalised rewards of later steps") {
  const auto batch = stepped_batch();
  std::vector<float> advantages(batch.num_tokens(), 99.0f);
  const auto summary = rlft::process_supervision_advantage{}(batch, advantages);

  // Step rewards 1, 0, 1: mean 2/3, sample std √(1/3).
  const double scale = std::sqrt(1.0 / 3.0) + 1e-4;
  const double first = 1.0 / 3.0 / scale, second = -2.0 / 3.0 / scale, third = 1.0 / 3.0 / scale;
  const auto s0 = completion_advantages(batch, advantages, 0);
  CHECK(s0[0] == Approx(first + second));
  CHECK(s0[1] == Approx(first + second));  // the step ending here still counts
  CHECK(s0[2] == Approx(second));
  CHECK(s0[3] == Approx(second));
  const auto s1 = completion_advantages(batch, advantages, 1);
  CHECK(s1[0] == Approx(third));
  CHECK(s1[1] == Approx(third));
  CHECK(s1[2] == 0.0f);  // after the last step
  CHECK(completion_advantages(batch, advantages, 2) == std::vector<float>{0.0f, 0.0f});  // one step: no spread
  CHECK(advantages[0] == 0.0f);
  CHECK(summary.groups == 2);
  CHECK(summary.groups_with_equal_rewards == 1);
}

TEST_CASE("process supervision: population std, epsilon, masked tokens, drop") {
  auto batch = stepped_batch();
  batch.loss_mask()[3] = 0;
  std::vector<float> advantages(batch.num_tokens());
  const auto summary = rlft::process_supervision_advantage{
      .epsilon = 0.0, .unbiased_std = false, .equal_rewards = rlft::equal_reward_policy::drop}(batch, advantages);
  const double scale = std::sqrt(2.0 / 9.0);
  const auto s0 = completion_advantages(batch, advantages, 0);
  CHECK(s0[0] == Approx(-1.0 / 3.0 / scale));
  CHECK(s0[2] == 0.0f);
  CHECK(s0[3] == Approx(-2.0 / 3.0 / scale));
  CHECK(summary.drop_group == std::vector<std::uint8_t>{0, 1});
}
