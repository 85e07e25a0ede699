// Top-p (nucleus) truncation (Holtzman et al., "The curious case of neural text degeneration",
// ICLR 2020): keep the smallest set of most likely candidates whose probability mass reaches
// p, i.e. every candidate whose strictly more likely candidates hold less than p of the mass
// (the same rule as HF transformers' TopPLogitsWarper). Candidates tied with the last one
// kept are kept too. The set is renormalised by the draw.
//
// No full sort. With C current candidates, shift m = max z and weights e = exp(z − m):
//   1. one pass sums the weights, S = Σ e (double, fixed order);
//   2. one pass drops every candidate with e < (1 − p)·S / (2C). Together they hold less than
//      (1 − p)·S / 2 of the mass, so none of them can belong to the nucleus (its complement
//      is the largest low-probability set with mass ≤ (1 − p)·S). For peaked distributions
//      this leaves a few hundred survivors out of 150k; for flat ones it still cuts the tail;
//   3. quickselect by mass on the survivors: partition around a median-of-three pivot into
//      (> pivot | = pivot | < pivot) with branch-free passes, and continue in the part where
//      the running mass crosses p·S. O(C') expected over C' survivors; after 2·log2(C') + 4
//      rounds (adversarial pivots) the remaining range is sorted instead, so O(C' log C') in
//      the worst case.
// Total: O(C) expected with two exp passes over the row, against O(C log C) for sorting it.
//
// Boundary rule for other back-ends: the masses are float exp values accumulated in double;
// a GPU summing in another order can disagree about a candidate only when the mass above it
// is within rounding of p·S (relative 1e−7), and then the candidate's probability is below
// the rounding of the total.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/error.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/exponential_race.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {
namespace detail {

// Sorts candidates [first, last) by decreasing value, moving token ids along.
inline void sort_candidates_descending(std::span<float> values, std::span<token_id> tokens,
                                       std::size_t first, std::size_t last) {
  if (last - first <= 32) {
    for (std::size_t i = first + 1; i < last; ++i) {
      const float value = values[i];
      const token_id token = tokens[i];
      std::size_t j = i;
      for (; j > first && values[j - 1] < value; --j) {
        values[j] = values[j - 1];
        tokens[j] = tokens[j - 1];
      }
      values[j] = value;
      tokens[j] = token;
    }
    return;
  }
  std::vector<std::pair<float, token_id>> pairs;
  pairs.reserve(last - first);
  for (std::size_t i = first; i < last; ++i) pairs.emplace_back(values[i], tokens[i]);
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = first; i < last; ++i) std::tie(values[i], tokens[i]) = pairs[i - first];
}

// Moves the candidates of [first, last) whose value satisfies `front` before the others and
// returns where the others start. Branch-free (Lomuto with an unconditional swap); not stable.
template <class Front>
std::size_t partition_candidates(std::span<float> values, std::span<token_id> tokens, std::size_t first,
                                 std::size_t last, Front front) {
  std::size_t boundary = first;
  for (std::size_t i = first; i < last; ++i) {
    const float value = values[i];
    const token_id token = tokens[i];
    values[i] = values[boundary];
    tokens[i] = tokens[boundary];
    values[boundary] = value;
    tokens[boundary] = token;
    boundary += front(value) ? 1 : 0;
  }
  return boundary;
}

}  // namespace detail

struct top_p {
  float p = 1.0f;  // in (0, 1]; 1 keeps everything

  void check() const {
    if (!(p > 0.0f && p <= 1.0f)) throw error(detail::make_message("top_p: p must be in (0, 1], got ", p));
  }

  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    check();
    if (p == 1.0f || candidates.size() <= 1) return;

    const float shift = candidates.max_value();
    const double total = detail::sum_exp(candidates.values(), shift);
    const auto weight = [shift](float z) { return static_cast<double>(detail::exp_nonpositive(z - shift)); };

    // 2. Drop the tail that cannot reach the nucleus.
    const double tail_weight = 0.5 * (1.0 - static_cast<double>(p)) * total /
                               static_cast<double>(candidates.size());
    const auto log_tail_weight = static_cast<float>(std::log(tail_weight));
    candidates.keep_if([=](float z) { return z - shift >= log_tail_weight; });

    // 3. Quickselect by mass: [0, low) is kept, [high, size) dropped, the boundary is in between.
    const auto values = candidates.values();
    const auto tokens = candidates.tokens();
    std::size_t low = 0;
    std::size_t high = values.size();
    double needed = static_cast<double>(p) * total;  // mass still to cover from `low` on
    int rounds_left = 2 * static_cast<int>(std::bit_width(high)) + 4;
    while (high - low > 32 && rounds_left-- > 0) {
      const float a = values[low], b = values[low + (high - low) / 2], c = values[high - 1];
      const float pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
      // Branch-free passes (a mispredicted branch per candidate would dominate on flat rows):
      // values > pivot to the front, then, if needed, values == pivot right after them.
      const std::size_t greater_end =
          detail::partition_candidates(values, tokens, low, high, [pivot](float z) { return z > pivot; });
      const double greater_mass = detail::sum_exp(values.subspan(low, greater_end - low), shift);
      if (greater_mass >= needed) {
        high = greater_end;
        continue;
      }
      const std::size_t less_begin =
          detail::partition_candidates(values, tokens, greater_end, high, [pivot](float z) { return z >= pivot; });
      const double equal_mass = static_cast<double>(less_begin - greater_end) * weight(pivot);
      if (greater_mass + equal_mass >= needed) {
        candidates.keep_first(less_begin);
        return;
      }
      needed -= greater_mass + equal_mass;
      low = less_begin;
    }
    // Few candidates left (or adversarial pivots): sort them and walk down.
    detail::sort_candidates_descending(values, tokens, low, high);
    std::size_t end = low;
    double covered = 0.0;
    while (end < high && covered < needed) covered += weight(values[end++]);
    while (end > 0 && end < high && values[end] == values[end - 1]) ++end;
    candidates.keep_first(std::max<std::size_t>(end, 1));
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
