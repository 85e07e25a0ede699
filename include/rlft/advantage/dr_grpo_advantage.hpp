// Dr. GRPO's advantage ("Understanding R1-Zero-Like Training: A Critical Perspective",
// arXiv 2503.20783, section 3): Â_i = R_i − mean(R_group) on every token of completion i.
// Dividing by the group's standard deviation, as GRPO does, weights prompts whose rewards
// barely differ (too easy or too hard) more than the others; Dr. GRPO removes the division.
// Its other half, dividing the loss by a constant instead of each completion's length, is
// rlft::loss_aggregation::sequence_mean_token_sum_normalized.
#pragma once

#include <cstddef>
#include <span>

#include "rlft/advantage/detail/outcome_estimator.hpp"
#include "rlft/advantage/reward_scaling.hpp"

namespace rlft {

struct dr_grpo_advantage {
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "dr. grpo advantage";  // in error messages

  // Groups of one completion leave every advantage 0: trainers reject them.
  std::size_t minimum_group_size() const noexcept { return 2; }

  // Throws rlft::error when advantages is not batch.num_tokens() long; rlft::data_error when a
  // reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return detail::outcome_advantages(
        batch, advantages, {.epsilon = 0.0, .scaling = reward_scaling::none, .equal_rewards = equal_rewards}, name);
  }
};

static_assert(advantage_estimator<dr_grpo_advantage>);

}  // namespace rlft
