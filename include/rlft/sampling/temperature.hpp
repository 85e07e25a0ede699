// Temperature scaling: sample from softmax(z / T). T < 1 sharpens the distribution, T > 1
// flattens it (Ackley, Hinton and Sejnowski 1985; the R1 report samples at T = 1 for RL and
// evaluates at T = 0.6). The division is IEEE-exact and scaled() serves the CUDA sampler too,
// so both back-ends get the same values. Cost: one pass over the candidates. T = 1 is free.
#pragma once

#include <cmath>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {

struct temperature {
  float value = 1.0f;  // T: positive and finite (use rlft::greedy for the T → 0 limit)

  void check() const {
    if (!(value > 0.0f) || !std::isfinite(value))
      throw error(detail::make_message("temperature: must be positive and finite, got ", value));
  }

  // A logit z after this stage.
  RLFT_HOST_DEVICE float scaled(float z) const { return z / value; }

  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    check();
    if (value == 1.0f) return;
    for (float& z : candidates.values()) z = scaled(z);
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
