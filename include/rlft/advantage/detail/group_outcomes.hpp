// The per-completion inputs of the token-level estimators (REINFORCE++, GAE): which groups
// have all-equal outcome rewards, which sequences the equal-reward policy zeroes, and the
// outcome reward each completion's last token receives (minus the group mean for
// REINFORCE++-baseline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

struct group_outcomes {
  std::vector<std::uint8_t> equal_rewards;  // per group
  std::vector<std::uint8_t> skip;           // per sequence: write zero advantages
  std::vector<double> outcome;              // per sequence
};

inline group_outcomes outcomes_of(const rollout_batch& batch, bool subtract_group_mean,
                                  equal_reward_policy policy) {
  const auto rewards = batch.rewards().total();
  group_outcomes result{.equal_rewards = std::vector<std::uint8_t>(batch.num_groups()),
                        .skip = std::vector<std::uint8_t>(batch.num_sequences()),
                        .outcome = std::vector<double>(batch.num_sequences())};
  parallel_for(batch.num_groups(), [&](std::size_t g) {
    value_moments group;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) group.add(rewards[s]);
    result.equal_rewards[g] = group.all_equal();
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
      result.skip[s] = group.all_equal() && zeroes_equal_groups(policy);
      result.outcome[s] = outcome_reward(rewards[s], group, subtract_group_mean);
    }
  });
  return result;
}

}  // namespace rlft::detail
