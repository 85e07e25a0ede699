// REINFORCE Leave-One-Out (Ahmadian et al., "Back to Basics: Revisiting REINFORCE Style
// Optimization for Learning from Human Feedback in LLMs", arXiv 2402.14740; Kool, van Hoof
// and Welling 2019): the baseline of completion i is the mean reward of the other G − 1
// completions of its prompt, A_i = R_i − (Σ_j R_j − R_i) / (G − 1), on every token of i. It is
// unbiased because the baseline does not depend on completion i. A group of one completion
// has no other completion to compare with: its advantage is 0, and it counts as a group of
// equal rewards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/detail/group_outcomes.hpp"
#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {

struct rloo_advantage {
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "rloo advantage";  // in error messages

  // Throws rlft::error when advantages is not batch.num_tokens() long or a reward is NaN or
  // infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    detail::check_finite_rewards(batch, name);
    const auto rewards = batch.rewards().total();

    std::vector<double> sequence_advantages(batch.num_sequences());
    std::vector<std::uint8_t> equal(batch.num_groups());
    parallel_for(batch.num_groups(), [&](std::size_t g) {
      const std::size_t first = batch.group_begin(g), last = batch.group_end(g);
      const auto [sum, all_equal] = detail::sum_group_rewards(rewards, first, last);
      equal[g] = all_equal;
      const auto others = static_cast<double>(last - first - 1);
      for (std::size_t s = first; s < last; ++s)
        sequence_advantages[s] = all_equal ? 0.0 : rewards[s] - (sum - rewards[s]) / others;
    });
    detail::broadcast_sequence_advantages(batch, sequence_advantages, advantages);
    return detail::summarize_groups(equal, equal_rewards);
  }
};

static_assert(advantage_estimator<rloo_advantage>);

}  // namespace rlft
