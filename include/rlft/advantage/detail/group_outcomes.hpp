// The per-completion inputs of the token-level estimators (REINFORCE++, GAE): which groups
// have all-equal outcome rewards, which sequences the equal-reward policy zeroes, and the
// outcome reward each completion's last token receives (minus the group mean for
// REINFORCE++-baseline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

// Σ of the rewards of sequences [first, last) and whether they are all equal.
struct group_reward_sum {
  double sum = 0.0;
  bool all_equal = true;
};

inline group_reward_sum sum_group_rewards(std::span<const float> rewards, std::size_t first, std::size_t last) {
  group_reward_sum result;
  for (std::size_t s = first; s < last; ++s) {
    result.sum += rewards[s];
    result.all_equal = result.all_equal && rewards[s] == rewards[first];
  }
  return result;
}

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
    const std::size_t first = batch.group_begin(g), last = batch.group_end(g);
    const auto [sum, all_equal] = sum_group_rewards(rewards, first, last);
    const double mean = all_equal ? double{rewards[first]} : sum / static_cast<double>(last - first);
    result.equal_rewards[g] = all_equal;
    for (std::size_t s = first; s < last; ++s) {
      result.skip[s] = all_equal && zeroes_equal_groups(policy);
      result.outcome[s] = subtract_group_mean ? rewards[s] - mean : double{rewards[s]};
    }
  });
  return result;
}

}  // namespace rlft::detail
