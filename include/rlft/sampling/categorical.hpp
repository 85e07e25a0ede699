// Plain sampling from softmax of the raw logits: the identity logit processor, so
// `categorical{}` is a sampler on its own and a neutral element of `|`.
#pragma once

#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {

struct categorical {
  void apply(candidate_logits&, std::span<const token_id>) const {}

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
