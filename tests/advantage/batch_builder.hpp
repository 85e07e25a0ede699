// Small rollout batches for the estimator tests: sequences given by prompt and completion
// lengths, grouped by explicit offsets, with token ids that do not matter.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rlft/core/rollout_batch.hpp"

namespace rlft_test {

struct sequence_shape {
  std::int64_t prompt = 1;
  std::int64_t completion = 1;
};

inline rlft::rollout_batch make_batch(const std::vector<sequence_shape>& shapes,
                                      std::vector<std::int64_t> group_offsets,
                                      const std::vector<float>& rewards = {}) {
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (const auto& shape : shapes) {
    sequences.push_back(std::vector<rlft::token_id>(static_cast<std::size_t>(shape.prompt + shape.completion), 7));
    prompt_lengths.push_back(shape.prompt);
  }
  rlft::rollout_batch batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  for (std::size_t s = 0; s < rewards.size(); ++s) batch.rewards().total()[s] = rewards[s];
  return batch;
}

// The advantage of sequence s's first completion token.
inline float first_completion_advantage(const rlft::rollout_batch& batch, std::span<const float> advantages,
                                        std::size_t s) {
  return advantages[batch.sequence_begin(s) + batch.prompt_length(s)];
}

// The advantages of sequence s's completion tokens.
inline std::vector<float> completion_advantages(const rlft::rollout_batch& batch,
                                                std::span<const float> advantages, std::size_t s) {
  const auto first = advantages.begin() + static_cast<std::ptrdiff_t>(batch.sequence_begin(s) + batch.prompt_length(s));
  return {first, advantages.begin() + static_cast<std::ptrdiff_t>(batch.sequence_end(s))};
}

// The first completion token's advantage of every sequence.
inline std::vector<float> per_sequence(const rlft::rollout_batch& batch, std::span<const float> advantages) {
  std::vector<float> result;
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) result.push_back(first_completion_advantage(batch, advantages, s));
  return result;
}

// Group 0: completions of 3, 2, 1 and 4 tokens with rewards 2, 0, 1, 1 (mean 1, deviations
// 1, −1, 0, 0); group 1: a single completion, reward 5.
inline rlft::rollout_batch four_and_one() {
  return make_batch({{2, 3}, {1, 2}, {3, 1}, {1, 4}, {2, 2}}, {0, 4, 5}, {2.0f, 0.0f, 1.0f, 1.0f, 5.0f});
}

}  // namespace rlft_test
