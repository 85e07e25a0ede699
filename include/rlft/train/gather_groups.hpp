// Builds a rollout batch from chosen groups of other rollout batches, every per-token,
// per-sequence and per-group array and every reward component carried along. DAPO's dynamic
// sampling (arXiv 2503.14476, section 3.2) needs it: groups whose rewards are all equal are
// dropped and the batch is refilled from further generation rounds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft {

struct group_reference {
  const rollout_batch* batch = nullptr;
  std::size_t group = 0;
};

// Throws rlft::error when no group is chosen, a group index is out of range, or the batches
// do not have the same reward components in the same order.
inline rollout_batch gather_groups(std::span<const group_reference> groups) {
  if (groups.empty()) throw error("gather_groups: no groups chosen");
  const auto& first = *groups.front().batch;
  token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  std::vector<std::int64_t> group_offsets{0};
  for (const auto& [batch, g] : groups) {
    if (g >= batch->num_groups())
      throw error(detail::make_message("gather_groups: group ", g, " of a batch of ", batch->num_groups()));
    const auto names = batch->rewards().component_names();
    if (!std::equal(names.begin(), names.end(), first.rewards().component_names().begin(),
                    first.rewards().component_names().end()))
      throw error("gather_groups: the batches have different reward components");
    for (std::size_t s = batch->group_begin(g); s < batch->group_end(g); ++s) {
      sequences.push_back(batch->tokens(s));
      prompt_lengths.push_back(static_cast<std::int64_t>(batch->prompt_length(s)));
    }
    group_offsets.push_back(static_cast<std::int64_t>(sequences.size()));
  }
  rollout_batch result(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  for (std::size_t c = 0; c < first.rewards().num_components(); ++c)
    result.rewards().add_component(first.rewards().component_name(c));

  std::size_t out_sequence = 0;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const rollout_batch* batch = groups[k].batch;  // not a structured binding: the lambda below uses it
    const std::size_t g = groups[k].group;
    result.greedy_rewards()[k] = batch->greedy_rewards()[g];
    for (std::size_t s = batch->group_begin(g); s < batch->group_end(g); ++s, ++out_sequence) {
      const auto copy_tokens = [&](auto source, auto target) {
        std::copy(source.begin() + static_cast<std::ptrdiff_t>(batch->sequence_begin(s)),
                  source.begin() + static_cast<std::ptrdiff_t>(batch->sequence_end(s)),
                  target.begin() + static_cast<std::ptrdiff_t>(result.sequence_begin(out_sequence)));
      };
      const rollout_batch& from = *batch;
      copy_tokens(from.loss_mask(), result.loss_mask());
      copy_tokens(from.sampling_logprobs(), result.sampling_logprobs());
      copy_tokens(from.old_logprobs(), result.old_logprobs());
      copy_tokens(from.ref_logprobs(), result.ref_logprobs());
      copy_tokens(from.advantages(), result.advantages());
      copy_tokens(from.token_rewards(), result.token_rewards());
      copy_tokens(from.values(), result.values());
      copy_tokens(from.step_ends(), result.step_ends());
      result.truncated()[out_sequence] = from.truncated()[s];
      result.rewards().total()[out_sequence] = from.rewards().total()[s];
      for (std::size_t c = 0; c < from.rewards().num_components(); ++c)
        result.rewards().component(c)[out_sequence] = from.rewards().component(c)[s];
    }
  }
  return result;
}

}  // namespace rlft
