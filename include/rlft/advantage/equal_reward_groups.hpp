// Groups whose rewards are all equal carry no learning signal under a group baseline: every
// completion is as good as its siblings. Every estimator counts them; what happens to them is
// an option. DAPO (arXiv 2503.14476, section 3.2, "dynamic sampling") drops such prompts from
// the batch; here an estimator can mark them in advantage_summary::drop_group, and
// clear_dropped_groups removes them from the loss by clearing their loss mask, so objectives
// neither train on them nor count their tokens in the aggregation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft {

enum class equal_reward_policy {
  keep,            // the estimator's formula decides (exactly 0 for the group baselines)
  zero_advantage,  // every token of the group gets advantage 0
  drop,            // advantage 0, and the group is marked in advantage_summary::drop_group
};

namespace detail {

// Throws rlft::error when the summary marks groups for dropping but not one mark per group.
inline void check_drop_marks(const advantage_summary& summary, std::size_t groups, const char* owner) {
  if (!summary.drop_group.empty() && summary.drop_group.size() != groups)
    throw error(make_message(owner, ": the estimator's summary marks ", summary.drop_group.size(),
                             " groups but the batch has ", groups));
}

}  // namespace detail

// Clears the loss mask of every group the summary marks for dropping. Throws rlft::error when
// the summary does not describe this batch's groups.
inline void clear_dropped_groups(rollout_batch& batch, const advantage_summary& summary) {
  detail::check_drop_marks(summary, batch.num_groups(), "clear dropped groups");
  if (summary.drop_group.empty()) return;
  const auto mask = batch.loss_mask();
  for (std::size_t g = 0; g < batch.num_groups(); ++g) {
    if (!summary.drop_group[g]) continue;
    for (std::size_t t = batch.sequence_begin(batch.group_begin(g)); t < batch.sequence_end(batch.group_end(g) - 1); ++t)
      mask[t] = 0;
  }
}

namespace detail {

// Whether the estimator must write zeros for a group whose rewards are all equal.
constexpr bool zeroes_equal_groups(equal_reward_policy policy) noexcept {
  return policy != equal_reward_policy::keep;
}

// The summary of a batch given one flag per group (1 = all rewards equal).
inline advantage_summary summarize_groups(const std::vector<std::uint8_t>& equal_rewards,
                                          equal_reward_policy policy) {
  advantage_summary summary{.groups = equal_rewards.size()};
  for (const auto flag : equal_rewards) summary.groups_with_equal_rewards += flag;
  if (policy == equal_reward_policy::drop) summary.drop_group = equal_rewards;
  return summary;
}

}  // namespace detail
}  // namespace rlft
