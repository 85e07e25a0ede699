// The random draw at the end of every rlft sampling pipeline, defined so that a CUDA kernel
// reproduces the CPU token exactly from the same Philox stream.
//
// Rule. Let z_c be the processed logit of each surviving candidate token c (after temperature,
// penalties and truncation), m = max_c z_c, and rng the Philox stream keyed by (seed,
// stream = sequence id, counter = decoding step). The drawn token is
//     argmax_c  exp(z_c − m) / E_c,   ties broken towards the smaller token id,
//     E_c = −log(1 − w_c),  w_c = min(float(2·b_c + 1) · 2^−33, 1 − 2^−24),
//     b_c = word (c mod 4) of rng.block(c / 4)
// where float(·) converts the 64-bit integer to the nearest float and −log(1 − w) is evaluated
// as u = 1 − w (rounded), E = w if u = 1, else E = log(u) · w / (u − 1) (Goldberg, "What every
// computer scientist should know about floating-point arithmetic", 1991, theorem 4: relative
// error within a few ulps from a plain log). exp and log are rlft's own vectorisable float
// versions (<rlft/core/elementary_functions.hpp>), which a CUDA kernel can call too; every other
// step is an IEEE operation a GPU rounds identically. E_c is an Exp(1) variate,
// and the smallest of independent E_c / p_c wins with probability p_c / Σp: this is the
// exponential race, the ratio form of the Gumbel-max trick (key z_c − log E_c has the same
// argmax; Gumbel 1954, Maddison, Tarlow and Minka, "A* sampling", NeurIPS 2014). So the draw
// samples the renormalised truncated distribution exactly, up to the 2^−33 resolution of w.
//
// Why this rule and not an inverse CDF (one uniform against a prefix sum of probabilities):
//   - the noise of a token depends only on (seed, sequence, step, token id), so candidates may
//     be visited in any order, split across GPU threads and reduced in any tree: the argmax
//     is the same, whereas a prefix sum changes with the summation order and a token near a
//     boundary can flip;
//   - a CUDA kernel evaluates the same formula per vocabulary entry and reduces with an
//     argmax; no sort, no scan.
// What can still differ between the CPU and a GPU: a compiler may fuse multiply-adds inside
// exp and log (FMA contraction) differently, changing a key in its last bits. Only when the
// two largest keys lie within a few ulps of each other can the winner change: a chance of the
// order of 1e−6 per draw. The kept set is computed from the same float formulas (see the
// truncation headers for their boundary rules).
//
// Precision choice: w is one minus a uniform, built from all 32 bits so that the small E_c
// that decide the race (E ≈ w for small w) keep full relative precision; a 24-bit uniform
// would make ties among the largest keys of a 150k-token row common (a few per cent of draws
// for flat distributions) and bias them towards small token ids. w is capped below 1 so E is
// at most 16.6 and finite.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/float_bits.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/row_errors.hpp"

namespace rlft {

// The Exp(1) variate E of one 32-bit Philox word (see the rule above). Selections are made on
// bit patterns so that loops over many words vectorise.
RLFT_HOST_DEVICE inline float exponential_variate(std::uint32_t bits) {
  constexpr std::uint32_t one = 0x3f800000u;  // 1.0f
  // float(2·bits + 1)·2^−33 through 16-bit halves (int32 conversions vectorise, uint64 ones
  // do not): both halves and their sum's addends are exact, so the one rounding is the same.
  const float high = static_cast<float>(static_cast<std::int32_t>(bits >> 16)) * 65536.0f;
  const float low = static_cast<float>(static_cast<std::int32_t>(bits & 0xffffu)) + 0.5f;
  const float w = (high + low) * 0x1.0p-32f;
  // w ≤ 1, and only w = 1 needs capping: one step down is 1 − 2^−24.
  const std::uint32_t w_bits = detail::bits_of(w);
  const float capped = detail::float_of(w_bits - static_cast<std::uint32_t>(w_bits == one));
  const float u = 1.0f - capped;
  const float general = detail::log_positive(u) * capped / (u - 1.0f);
  const std::uint32_t tiny = 0u - static_cast<std::uint32_t>(detail::bits_of(u) == one);  // u = 1: E = w
  return detail::float_of((detail::bits_of(capped) & tiny) | (detail::bits_of(general) & ~tiny));
}

// E_c of vocabulary entry `token` for the stream of this draw.
RLFT_HOST_DEVICE inline float race_variate(const philox_stream& rng, std::uint32_t token) {
  return exponential_variate(rng.block(token / 4).words[token % 4]);
}

namespace detail {

// Σ exp(values[i] − shift) for shift ≥ every value, in double over eight interleaved partial
// sums added in a fixed order: the result depends on the data only, not on the vector width.
inline double sum_exp(std::span<const float> values, float shift) {
  constexpr std::size_t lanes = 8;
  double partial[lanes] = {};
  const std::size_t full = values.size() / lanes * lanes;
  for (std::size_t i = 0; i < full; i += lanes)
    for (std::size_t lane = 0; lane < lanes; ++lane)
      partial[lane] += static_cast<double>(exp_nonpositive(values[i + lane] - shift));
  for (std::size_t i = full; i < values.size(); ++i)
    partial[i - full] += static_cast<double>(exp_nonpositive(values[i] - shift));
  double total = 0.0;
  for (const double p : partial) total += p;
  return total;
}

struct race_winner {
  token_id token = -1;
  float logprob = 0.0f;  // log of its probability among the candidates
};

// The race runs in `race_lanes` independent lanes (vector registers), each keeping its own
// best key, token and partial normaliser; lanes are merged at the end by the same rule, so
// the winner does not depend on the lane count. Keys are non-negative floats, whose bit
// patterns order like the values, so comparisons are integer operations that vectorise.
inline constexpr std::size_t race_lanes = 16;

struct race_lanes_state {
  double total[race_lanes] = {};
  std::uint32_t best_key[race_lanes] = {};
  std::uint32_t best_token[race_lanes] = {};
  std::uint32_t best_index[race_lanes] = {};

  race_lanes_state() {
    for (auto& token : best_token) token = 0xffffffffu;
  }

  // Candidate `index` (token, value − shift, Exp(1) variate) enters lane `lane`.
  void enter(std::size_t lane, std::uint32_t index, std::uint32_t token, float shifted, float variate) {
    const float weight = exp_nonpositive(shifted);
    total[lane] += static_cast<double>(weight);
    const std::uint32_t key = bits_of(weight / variate);
    const bool better = key > best_key[lane] || (key == best_key[lane] && token < best_token[lane]);
    best_key[lane] = better ? key : best_key[lane];
    best_token[lane] = better ? token : best_token[lane];
    best_index[lane] = better ? index : best_index[lane];
  }
};

// Races every entry of `values` (entry i is token i; −inf entries have weight 0).
inline race_lanes_state race_dense(std::span<const float> values, float shift, const philox_stream& rng) {
  race_lanes_state lanes;
  const std::size_t n = values.size();
  // Philox words for 64 consecutive entries at a time, generated side by side.
  constexpr std::size_t chunk = 4 * philox_stream::philox_batch_blocks;
  std::uint32_t words[chunk];
  std::size_t first = 0;
  for (; first + chunk <= n; first += chunk) {
    rng.fill_blocks(static_cast<std::uint32_t>(first / 4), words);
    for (std::size_t part = 0; part < chunk; part += race_lanes) {
      for (std::size_t lane = 0; lane < race_lanes; ++lane) {
        const auto index = static_cast<std::uint32_t>(first + part + lane);
        lanes.enter(lane, index, index, values[index] - shift, exponential_variate(words[part + lane]));
      }
    }
  }
  for (std::size_t i = first; i < n; ++i) {
    const auto token = static_cast<std::uint32_t>(i);
    lanes.enter(i % race_lanes, token, token, values[i] - shift, race_variate(rng, token));
  }
  return lanes;
}

// Races candidates given by id, one Philox block per candidate.
inline race_lanes_state race_sparse(std::span<const float> values, std::span<const token_id> tokens, float shift,
                                    const philox_stream& rng) {
  race_lanes_state lanes;
  const std::size_t n = values.size();
  std::uint32_t words[race_lanes];
  std::size_t first = 0;
  for (; first + race_lanes <= n; first += race_lanes) {
    for (std::size_t lane = 0; lane < race_lanes; ++lane) {
      const auto token = static_cast<std::uint32_t>(tokens[first + lane]);
      words[lane] = rng.block(token / 4).words[token % 4];
    }
    for (std::size_t lane = 0; lane < race_lanes; ++lane) {
      const auto index = static_cast<std::uint32_t>(first + lane);
      lanes.enter(lane, index, static_cast<std::uint32_t>(tokens[index]), values[index] - shift,
                  exponential_variate(words[lane]));
    }
  }
  for (std::size_t i = first; i < n; ++i) {
    const auto token = static_cast<std::uint32_t>(tokens[i]);
    lanes.enter(i % race_lanes, static_cast<std::uint32_t>(i), token, values[i] - shift, race_variate(rng, token));
  }
  return lanes;
}

// The token the rule above draws from `candidates`, and its log-probability under softmax over
// the candidates. Throws rlft::data_error when no candidate has a finite value or processing
// overflowed to +inf.
inline race_winner run_exponential_race(candidate_logits& candidates, const philox_stream& rng) {
  const float shift = candidates.max_value();
  if (shift == -std::numeric_limits<float>::infinity())
    throw data_error(no_finite_candidate_message());
  if (!std::isfinite(shift))
    throw data_error(processed_overflow_message());

  const auto values = candidates.values();
  std::span<const float> raced = values;  // the array the lanes' indices refer to
  race_lanes_state lanes;
  if (candidates.dense()) {
    lanes = race_dense(values, shift, rng);
  } else if (8 * candidates.size() >= candidates.vocabulary_size()) {
    // Many survivors: spreading them back over the vocabulary (−inf elsewhere) lets the
    // batched Philox path run, cheaper than one block per candidate.
    auto& spread = candidates.scratch();
    spread.assign(candidates.vocabulary_size(), -std::numeric_limits<float>::infinity());
    const auto tokens = candidates.tokens();
    for (std::size_t i = 0; i < values.size(); ++i) spread[static_cast<std::size_t>(tokens[i])] = values[i];
    raced = spread;
    lanes = race_dense(spread, shift, rng);
  } else {
    lanes = race_sparse(values, candidates.tokens(), shift, rng);
  }

  std::size_t winner_lane = 0;
  double total = 0.0;
  for (std::size_t lane = 0; lane < race_lanes; ++lane) {
    total += lanes.total[lane];
    const bool better = lanes.best_key[lane] > lanes.best_key[winner_lane] ||
                        (lanes.best_key[lane] == lanes.best_key[winner_lane] &&
                         lanes.best_token[lane] < lanes.best_token[winner_lane]);
    winner_lane = better ? lane : winner_lane;
  }
  const std::size_t best = lanes.best_index[winner_lane];
  return {.token = static_cast<token_id>(lanes.best_token[winner_lane]),
          .logprob = static_cast<float>(static_cast<double>(raced[best] - shift) - std::log(total))};
}

}  // namespace detail
}  // namespace rlft
