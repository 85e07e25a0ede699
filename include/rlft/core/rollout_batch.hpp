// The rollout batch: everything one RL step needs, padding-free. P prompts × G completions
// are stored as num_sequences = Σ G token sequences (prompt followed by completion) in CSR
// form; the completions of one prompt form a contiguous group (group_offsets, CSR over
// sequences). Every per-token array — sampling, old and reference log-probs, advantages,
// critic values, dense rewards, step ends — shares the sequences' token
// offsets, so token t of sequence s is entry sequence_begin(s) + t of each of them. Entry t
// holds the quantity for predicting token t from tokens < t; entries of prompt tokens stay
// unused. The loss mask is 1 on the completion tokens the loss uses; it starts as "every
// completion token" and callers may clear more (truncated completions, tool output). Rewards
// are per completion, per named component; estimators that need more than the outcome reward
// read it from here too (values for GAE, per-token and per-step rewards for process
// supervision, the greedy completion's reward for ReMax), so every estimator has the same
// call shape. Inputs that have no neutral default (values, greedy rewards) start as NaN: an
// estimator that needs them and finds them unset fails loudly instead of training on zeros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/reward_table.hpp"
#include "rlft/core/token_sequences.hpp"

namespace rlft {

class rollout_batch {
 public:
  // sequences[s] = prompt tokens followed by completion tokens; the first prompt_lengths[s]
  // tokens are the prompt. group_offsets (CSR over sequences) delimits the groups.
  // Throws rlft::error naming the problem unless: there is at least one sequence; every
  // sequence has at least one token and a prompt length in [0, its length]; token ids are
  // non-negative; group_offsets starts at 0, ends at the number of sequences and holds no
  // empty group.
  rollout_batch(token_sequences sequences, std::vector<std::int64_t> prompt_lengths,
                std::vector<std::int64_t> group_offsets)
      : sequences_(std::move(sequences)),
        prompt_lengths_(std::move(prompt_lengths)),
        group_offsets_(std::move(group_offsets)),
        loss_mask_(sequences_.num_tokens(), 0),
        step_ends_(sequences_.num_tokens(), 0),
        truncated_(sequences_.size(), 0),
        rewards_(sequences_.size()) {
    validate();
    values_.assign(num_tokens(), std::numeric_limits<float>::quiet_NaN());
    greedy_rewards_.assign(num_groups(), std::numeric_limits<float>::quiet_NaN());
    for (auto& field : token_fields_) field.assign(num_tokens(), 0.0f);
    for (std::size_t s = 0; s < num_sequences(); ++s)
      for (std::size_t t = sequence_begin(s) + prompt_length(s); t < sequence_end(s); ++t)
        loss_mask_[t] = 1;
  }

  // P × G layout: consecutive runs of group_size sequences form the groups.
  static rollout_batch with_group_size(token_sequences sequences,
                                       std::vector<std::int64_t> prompt_lengths,
                                       std::size_t group_size) {
    if (group_size == 0) throw error("rollout batch: group size must be at least 1");
    if (sequences.size() % group_size != 0)
      throw error(detail::make_message("rollout batch: ", sequences.size(),
                               " sequences do not split into groups of ", group_size));
    std::vector<std::int64_t> group_offsets;
    for (std::size_t s = 0; s <= sequences.size(); s += group_size)
      group_offsets.push_back(static_cast<std::int64_t>(s));
    return rollout_batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  }

  // Shape.
  std::size_t num_groups() const noexcept { return group_offsets_.size() - 1; }
  std::size_t num_sequences() const noexcept { return sequences_.size(); }
  std::size_t num_tokens() const noexcept { return sequences_.num_tokens(); }
  std::size_t num_completion_tokens() const noexcept {
    return num_tokens() - static_cast<std::size_t>(total_prompt_tokens_);
  }

  // Groups: sequences [group_begin(g), group_end(g)).
  std::size_t group_begin(std::size_t g) const {
    RLFT_ASSERT(g < num_groups());
    return static_cast<std::size_t>(group_offsets_[g]);
  }
  std::size_t group_end(std::size_t g) const {
    RLFT_ASSERT(g < num_groups());
    return static_cast<std::size_t>(group_offsets_[g + 1]);
  }
  std::size_t group_size(std::size_t g) const { return group_end(g) - group_begin(g); }
  std::span<const std::int64_t> group_offsets() const noexcept { return group_offsets_; }

  // Sequences: tokens [sequence_begin(s), sequence_end(s)) of every per-token array.
  token_sequences_view sequences() const noexcept { return sequences_.view(); }
  token_sequences_view sequences(std::size_t first, std::size_t count) const {
    return sequences_.view().subview(first, count);
  }
  std::span<const std::int64_t> sequence_offsets() const noexcept { return sequences_.offsets(); }
  std::size_t sequence_begin(std::size_t s) const { return sequences_.view().begin(s); }
  std::size_t sequence_end(std::size_t s) const { return sequences_.view().end(s); }
  std::span<const token_id> tokens() const noexcept { return sequences_.tokens(); }
  std::span<const token_id> tokens(std::size_t s) const { return sequences_[s]; }

  // Prompt / completion boundary.
  std::size_t prompt_length(std::size_t s) const {
    RLFT_ASSERT(s < num_sequences());
    return static_cast<std::size_t>(prompt_lengths_[s]);
  }
  std::size_t completion_length(std::size_t s) const {
    return sequences_.view().length(s) - prompt_length(s);
  }
  std::span<const token_id> prompt(std::size_t s) const {
    return tokens(s).first(prompt_length(s));
  }
  std::span<const token_id> completion(std::size_t s) const {
    return tokens(s).subspan(prompt_length(s));
  }

  // Per-token loss mask (1 = the loss uses this token).
  std::span<std::uint8_t> loss_mask() noexcept { return loss_mask_; }
  std::span<const std::uint8_t> loss_mask() const noexcept { return loss_mask_; }

  // Per-token float arrays, all num_tokens() long and zero-initialised (values: NaN).
  std::span<float> sampling_logprobs() noexcept { return field(sampling_logprobs_field); }
  std::span<const float> sampling_logprobs() const noexcept { return field(sampling_logprobs_field); }
  std::span<float> old_logprobs() noexcept { return field(old_logprobs_field); }
  std::span<const float> old_logprobs() const noexcept { return field(old_logprobs_field); }
  std::span<float> ref_logprobs() noexcept { return field(ref_logprobs_field); }
  std::span<const float> ref_logprobs() const noexcept { return field(ref_logprobs_field); }
  std::span<float> advantages() noexcept { return field(advantages_field); }
  std::span<const float> advantages() const noexcept { return field(advantages_field); }
  // Dense rewards: the reward received for producing token t (a process reward model's step
  // score, a per-token penalty), added to the outcome reward by the estimators that discount
  // over tokens (REINFORCE++, GAE); process supervision reads it at the step ends.
  std::span<float> token_rewards() noexcept { return field(token_rewards_field); }
  std::span<const float> token_rewards() const noexcept { return field(token_rewards_field); }

  // Per-token critic values V_t (GAE's baseline), NaN until the caller fills them.
  std::span<float> values() noexcept { return values_; }
  std::span<const float> values() const noexcept { return values_; }

  // Per-token: 1 where a reasoning step ends; token_rewards() there holds that step's reward
  // (process supervision, DeepSeekMath section 4.1.3).
  std::span<std::uint8_t> step_ends() noexcept { return step_ends_; }
  std::span<const std::uint8_t> step_ends() const noexcept { return step_ends_; }

  // Per-group: the reward of the prompt's greedy (temperature 0) completion, ReMax's baseline;
  // NaN until the caller fills it.
  std::span<float> greedy_rewards() noexcept { return greedy_rewards_; }
  std::span<const float> greedy_rewards() const noexcept { return greedy_rewards_; }

  // Per-completion: 1 when generation stopped at the length limit rather than a stop token.
  std::span<std::uint8_t> truncated() noexcept { return truncated_; }
  std::span<const std::uint8_t> truncated() const noexcept { return truncated_; }

  reward_table& rewards() noexcept { return rewards_; }
  const reward_table& rewards() const noexcept { return rewards_; }

 private:
  enum token_field_index : std::size_t {
    sampling_logprobs_field,
    old_logprobs_field,
    ref_logprobs_field,
    advantages_field,
    token_rewards_field,
    token_field_count
  };
  std::span<float> field(token_field_index i) noexcept { return token_fields_[i]; }
  std::span<const float> field(token_field_index i) const noexcept { return token_fields_[i]; }

  void validate() {
    const std::size_t n = num_sequences();
    if (n == 0) throw error("rollout batch: no sequences");
    if (prompt_lengths_.size() != n)
      throw error(detail::make_message("rollout batch: ", prompt_lengths_.size(), " prompt lengths for ", n,
                               " sequences"));
    const auto view = sequences_.view();
    for (std::size_t s = 0; s < n; ++s) {
      if (view.length(s) == 0) throw error(detail::make_message("rollout batch: sequence ", s, " is empty"));
      if (prompt_lengths_[s] < 0 || static_cast<std::size_t>(prompt_lengths_[s]) > view.length(s))
        throw error(detail::make_message("rollout batch: sequence ", s, " has prompt length ",
                                 prompt_lengths_[s], " outside [0, ", view.length(s), "]"));
      total_prompt_tokens_ += prompt_lengths_[s];
    }
    const auto tokens = sequences_.tokens();
    for (std::size_t t = 0; t < tokens.size(); ++t)
      if (tokens[t] < 0)
        throw error(detail::make_message("rollout batch: token ", t, " has negative id ", tokens[t]));

    if (group_offsets_.size() < 2)
      throw error("rollout batch: group offsets need at least two entries (one group)");
    if (group_offsets_.front() != 0)
      throw error(detail::make_message("rollout batch: group offsets start at ", group_offsets_.front(),
                               ", not 0"));
    if (group_offsets_.back() != static_cast<std::int64_t>(n))
      throw error(detail::make_message("rollout batch: group offsets end at ", group_offsets_.back(),
                               " but there are ", n, " sequences"));
    for (std::size_t g = 0; g + 1 < group_offsets_.size(); ++g)
      if (group_offsets_[g + 1] <= group_offsets_[g])
        throw error(detail::make_message("rollout batch: group ", g, " is empty or has negative size (offsets ",
                                 group_offsets_[g], " then ", group_offsets_[g + 1], ")"));
  }

  token_sequences sequences_;
  std::vector<std::int64_t> prompt_lengths_;
  std::vector<std::int64_t> group_offsets_;
  std::int64_t total_prompt_tokens_ = 0;
  std::vector<std::uint8_t> loss_mask_;
  std::vector<float> token_fields_[token_field_count];
  std::vector<float> values_;
  std::vector<std::uint8_t> step_ends_;
  std::vector<float> greedy_rewards_;
  std::vector<std::uint8_t> truncated_;
  reward_table rewards_;
};

}  // namespace rlft
