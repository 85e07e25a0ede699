// Greedy decoding: keep only the most likely candidate, so the draw returns the argmax with
// log-probability 0 (a point mass). Ties go to the smallest token id, on every back-end.
// Usually the last stage: `repetition_penalty{1.1f} | greedy{}`. Cost: one pass.
#pragma once

#include <cstddef>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {

struct greedy {
  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    const auto values = candidates.values();
    if (values.empty()) return;
    const float largest = candidates.max_value();
    std::size_t best = 0;
    while (values[best] != largest) ++best;  // dense ids ascend: the first maximum wins
    if (!candidates.dense()) {
      for (std::size_t i = best + 1; i < values.size(); ++i)
        if (values[i] == largest && candidates.token(i) < candidates.token(best)) best = i;
    }
    candidates.keep_only(best);
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
