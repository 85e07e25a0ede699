// Min-p truncation (Nguyen et al., "Turning up the heat: min-p sampling for creative and
// coherent LLM outputs", arXiv 2407.01082): keep the tokens whose probability is at least
// p times the largest probability. On logits this is the threshold z ≥ max z + log p, which
// needs no softmax: O(C) over the C current candidates (one pass for the maximum, one to
// compact). The comparison is done as z − max z ≥ log p in float; ties at the threshold stay.
#pragma once

#include <cmath>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {

struct min_p {
  float p = 0.0f;  // in [0, 1]; 0 keeps everything, 1 keeps only the most likely tokens

  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    if (!(p >= 0.0f && p <= 1.0f))
      throw error(detail::make_message("min_p: p must be in [0, 1], got ", p));
    if (p == 0.0f) return;
    const float largest = candidates.max_value();
    const float log_p = std::log(p);
    candidates.keep_if([=](float z) { return z - largest >= log_p; });
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
