// OPO, on-policy RL with the optimal reward baseline (Hao et al., arXiv 2505.23585, eq. 6), as
// verl's `opo` estimator computes it: the baseline of a group is its rewards' mean weighted by
// completion length, the variance-minimising baseline when a completion's gradient norm grows
// with its length,
//   A_i = R_i − Σ_j l_j·R_j / Σ_j l_j,   l_j the number of loss tokens of completion j,
// on every loss token of i. A group whose rewards are all equal gets exactly 0 (the weighted
// mean of equal values, exactly); so does a group without loss tokens. Groups of one completion
// have no baseline to compare with: they get 0 and trainers reject them, unless `singletons`
// asks for verl's baseline 0 (A_i = R_i).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

struct opo_advantage {
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  singleton_group_policy singletons = singleton_group_policy::no_signal;

  static constexpr const char* name = "opo advantage";  // in error messages

  std::size_t minimum_group_size() const noexcept {
    return singletons == singleton_group_policy::zero_mean_unit_std ? 1 : 2;
  }

  // Throws rlft::error when advantages is not batch.num_tokens() long; rlft::data_error when a
  // reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    detail::check_finite_rewards(batch, name);
    const auto rewards = batch.rewards().total();
    const std::vector<std::size_t> lengths = detail::sequence_loss_tokens(batch, 0, batch.num_sequences());
    std::vector<double> sequence_advantages(batch.num_sequences());
    std::vector<std::uint8_t> equal(batch.num_groups());
    parallel_for(batch.num_groups(), [&](std::size_t g) {
      detail::value_moments group;
      double weighted = 0.0, tokens = 0.0;
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
        const auto length = static_cast<double>(lengths[s]);
        group.add(rewards[s]);
        weighted += length * rewards[s];
        tokens += length;
      }
      equal[g] = group.all_equal();
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
        sequence_advantages[s] = detail::length_weighted_advantage(rewards[s], group, weighted, tokens, singletons);
    });
    detail::broadcast_sequence_advantages(batch, sequence_advantages, advantages);
    return detail::summarize_groups(equal, equal_rewards);
  }
};

static_assert(advantage_estimator<opo_advantage>);

}  // namespace rlft
