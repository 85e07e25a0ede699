// GRPO's family on the CPU (GRPO, Dr. GRPO, RLOO): each group's reward moments, one advantage
// per completion from detail::outcome_advantage (the formulas the CUDA kernel shares), spread
// over the completion's loss tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

struct outcome_options {
  outcome_rule rule = outcome_rule::normalized;
  double epsilon = 1e-4;
  reward_scaling scaling = reward_scaling::group_std;
  bool unbiased_std = true;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  singleton_group_policy singletons = singleton_group_policy::no_signal;
};

// GRPO's family on the CPU: one advantage per completion from its group's reward moments
// (detail::outcome_advantage), spread over its loss tokens.
inline advantage_summary outcome_advantages(const rollout_batch& batch, std::span<float> advantages,
                                            const outcome_options& options, std::string_view estimator) {
  check_epsilon(options.epsilon, estimator);
  check_token_span(batch, advantages.size(), estimator, "advantages");
  check_finite_rewards(batch, estimator);
  const auto rewards = batch.rewards().total();

  double batch_std = 0.0;
  if (options.scaling == reward_scaling::batch_std) {
    value_moments all;
    for (const float reward : rewards) all.add(reward);
    batch_std = all.standard_deviation(options.unbiased_std);
  }

  std::vector<double> sequence_advantages(batch.num_sequences());
  std::vector<std::uint8_t> equal_rewards(batch.num_groups());
  parallel_for(batch.num_groups(), [&](std::size_t g) {
    value_moments group;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) group.add(rewards[s]);
    equal_rewards[g] = group.all_equal();
    const double scale =
        reward_scale(options.scaling, group, batch_std, options.epsilon, options.unbiased_std, options.singletons);
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
      sequence_advantages[s] = outcome_advantage(options.rule, rewards[s], group, scale, options.singletons);
  });
  broadcast_sequence_advantages(batch, sequence_advantages, advantages);
  return summarize_groups(equal_rewards, options.equal_rewards);
}

}  // namespace rlft::detail
