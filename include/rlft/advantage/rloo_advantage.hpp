// REINFORCE Leave-One-Out (Ahmadian et al., "Back to Basics: Revisiting REINFORCE Style
// Optimization for Learning from Human Feedback in LLMs", arXiv 2402.14740; Kool, van Hoof
// and Welling 2019): the baseline of completion i is the mean reward of the other G − 1
// completions of its prompt, A_i = R_i − (Σ_j R_j − R_i) / (G − 1), on every token of i. It is
// unbiased because the baseline does not depend on completion i. A group of one completion
// has no other completion to compare with: its advantage is 0, and it counts as a group of
// equal rewards.
#pragma once

#include <cstddef>
#include <span>

#include "rlft/advantage/detail/outcome_estimator.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/concepts/advantage_estimator.hpp"

namespace rlft {

struct rloo_advantage {
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "rloo advantage";  // in error messages

  // Groups of one completion leave every advantage 0: trainers reject them.
  std::size_t minimum_group_size() const noexcept { return 2; }

  // Throws rlft::error when advantages is not batch.num_tokens() long; rlft::data_error when a
  // reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return detail::outcome_advantages(
        batch, advantages,
        {.rule = detail::outcome_rule::leave_one_out, .scaling = reward_scaling::none, .equal_rewards = equal_rewards},
        name);
  }
};

static_assert(advantage_estimator<rloo_advantage>);

}  // namespace rlft
