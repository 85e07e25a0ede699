// Outcome-reward estimators (GRPO, Dr. GRPO, RLOO, ReMax) compute one advantage per
// completion; this spreads it over the completion's loss tokens, in parallel over sequences.
#pragma once

#include <cstddef>
#include <span>

#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

// advantages[t] = sequence_advantages[s] on every loss token t of sequence s, 0 elsewhere.
inline void broadcast_sequence_advantages(const rollout_batch& batch,
                                          std::span<const double> sequence_advantages,
                                          std::span<float> advantages) {
  const auto mask = batch.loss_mask();
  parallel_for(batch.num_sequences(), [&](std::size_t s) {
    const auto advantage = static_cast<float>(sequence_advantages[s]);
    const std::size_t end = batch.sequence_end(s);
    for (std::size_t t = batch.sequence_begin(s); t < end; ++t) advantages[t] = mask[t] ? advantage : 0.0f;
  });
}

}  // namespace rlft::detail
