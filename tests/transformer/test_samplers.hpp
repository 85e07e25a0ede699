// Two small samplers for the transformer tests (the library's samplers are not needed here):
// greedy (argmax) and plain categorical sampling by inverse CDF from one Philox uniform.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

#include "rlft/concepts/sampler.hpp"

namespace rlft_test {

inline float log_softmax_at(std::span<const float> logits, std::size_t k) {
  const float top = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (const float x : logits) total += std::exp(static_cast<double>(x - top));
  return static_cast<float>(logits[k] - top - std::log(total));
}

struct greedy_sampler {
  rlft::sampled_token operator()(std::span<const float> logits, std::span<const rlft::token_id>,
                                 rlft::philox_stream&) const {
    const auto k = static_cast<std::size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const float logprob = log_softmax_at(logits, k);
    return {static_cast<rlft::token_id>(k), 0.0f, logprob};
  }
};

struct categorical_sampler {
  rlft::sampled_token operator()(std::span<const float> logits, std::span<const rlft::token_id>,
                                 rlft::philox_stream& rng) const {
    const float top = *std::max_element(logits.begin(), logits.end());
    double total = 0.0;
    for (const float x : logits) total += std::exp(static_cast<double>(x - top));
    const double u = rng.uniform() * total;
    double cumulative = 0.0;
    std::size_t k = 0;
    for (; k + 1 < logits.size(); ++k) {
      cumulative += std::exp(static_cast<double>(logits[k] - top));
      if (u < cumulative) break;
    }
    const float logprob = log_softmax_at(logits, k);
    return {static_cast<rlft::token_id>(k), logprob, logprob};
  }
};

static_assert(rlft::sampler<greedy_sampler>);
static_assert(rlft::sampler<categorical_sampler>);

}  // namespace rlft_test
