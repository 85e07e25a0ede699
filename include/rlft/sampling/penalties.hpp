// Penalties on tokens that already occur in the history passed to the sampler (whatever the
// caller chose: the completion so far, or prompt and completion):
//   - repetition_penalty (Keskar et al., "CTRL", arXiv 1909.05858, section 4.1, in the form
//     HF transformers and vLLM use): z → z / θ if z > 0, else z · θ, for every token seen;
//   - presence_penalty and frequency_penalty (OpenAI API, vLLM): z → z − α when the token
//     occurs at all, z → z − β · count for a token seen count times.
// θ > 1, α > 0, β > 0 discourage repetition; θ = 1, α = β = 0 do nothing. Each stage's
// penalised() is the formula for one seen token, which the CUDA sampler calls too, so that both
// back-ends compute the same values.
// Cost: O(H log H) to count the H history tokens (sorting a thread-local copy), then O(U) on
// dense candidates for U distinct tokens, or O(C log H) on C sparse candidates. A history
// token outside [0, vocabulary size) is rlft::error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"
#include "rlft/sampling/row_errors.hpp"

namespace rlft {
namespace detail {

// Calls adjust(value&, count) once for every candidate whose token occurs count > 0 times in
// the history.
template <class Adjust>
void adjust_seen_tokens(candidate_logits& candidates, std::span<const token_id> history,
                        const char* stage, const Adjust& adjust) {
  if (history.empty()) return;
  thread_local std::vector<token_id> sorted;
  sorted.assign(history.begin(), history.end());
  std::sort(sorted.begin(), sorted.end());
  const auto vocabulary = static_cast<std::int64_t>(candidates.vocabulary_size());
  if (sorted.front() < 0 || sorted.back() >= vocabulary)
    throw error(history_out_of_range_message(stage, sorted.front() < 0 ? sorted.front() : sorted.back(),
                                             candidates.vocabulary_size()));
  const auto values = candidates.values();
  if (candidates.dense()) {
    for (auto run = sorted.begin(); run != sorted.end();) {
      const auto run_end = std::upper_bound(run, sorted.end(), *run);
      adjust(values[static_cast<std::size_t>(*run)], run_end - run);
      run = run_end;
    }
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto [first, last] = std::equal_range(sorted.begin(), sorted.end(), candidates.token(i));
      if (first != last) adjust(values[i], last - first);
    }
  }
}

}  // namespace detail

struct repetition_penalty {
  float penalty = 1.0f;  // θ: positive and finite

  static constexpr const char* name = "repetition_penalty";  // in error messages

  void check() const {
    if (!(penalty > 0.0f) || !std::isfinite(penalty))
      throw error(detail::make_message(name, ": must be positive and finite, got ", penalty));
  }

  RLFT_HOST_DEVICE float penalised(float z) const { return z > 0.0f ? z / penalty : z * penalty; }

  void apply(candidate_logits& candidates, std::span<const token_id> history) const {
    check();
    if (penalty == 1.0f) return;
    detail::adjust_seen_tokens(candidates, history, name, [this](float& z, std::ptrdiff_t) { z = penalised(z); });
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

struct presence_penalty {
  float penalty = 0.0f;  // α: finite

  static constexpr const char* name = "presence_penalty";  // in error messages

  void check() const {
    if (!std::isfinite(penalty)) throw error(detail::make_message(name, ": must be finite, got ", penalty));
  }

  RLFT_HOST_DEVICE float penalised(float z) const { return z - penalty; }

  void apply(candidate_logits& candidates, std::span<const token_id> history) const {
    check();
    if (penalty == 0.0f) return;
    detail::adjust_seen_tokens(candidates, history, name, [this](float& z, std::ptrdiff_t) { z = penalised(z); });
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

struct frequency_penalty {
  float penalty = 0.0f;  // β: finite

  static constexpr const char* name = "frequency_penalty";  // in error messages

  void check() const {
    if (!std::isfinite(penalty)) throw error(detail::make_message(name, ": must be finite, got ", penalty));
  }

  // For a token seen `count` times (std::ptrdiff_t on the CPU, std::uint32_t on the device: the
  // same float either way). Both compilers fuse the product and the difference into one FMA
  // (nvcc by default, GCC in GNU modes on a target with FMA, as with -march=native); a host
  // build without FMA rounds the product first and may differ from the device in the last bit.
  template <class Count>
  RLFT_HOST_DEVICE float penalised(float z, Count count) const {
    return z - penalty * static_cast<float>(count);
  }

  void apply(candidate_logits& candidates, std::span<const token_id> history) const {
    check();
    if (penalty == 0.0f) return;
    detail::adjust_seen_tokens(candidates, history, name,
                               [this](float& z, std::ptrdiff_t count) { z = penalised(z, count); });
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
