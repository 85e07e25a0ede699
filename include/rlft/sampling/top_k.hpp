// Top-k truncation (Fan, Lewis and Dauphin, "Hierarchical neural story generation", ACL 2018):
// keep the k candidates with the largest logits. Candidates tied with the k-th largest value
// are all kept (as HF transformers does), so more than k survive only on exact ties.
//
// No full sort. The k-th largest value is found by
//   - k ≤ 1024: one pass with a min-heap of the k largest values seen so far: O(C log k) in the
//     worst case, O(C + k log k · log(C/k)) expected for logits in no particular order (a
//     value enters the heap only when it beats the current k-th largest);
//   - larger k: std::nth_element on a scratch copy (introselect): O(C) expected,
//     O(C log C) worst case;
// then one compaction pass keeps the values ≥ that threshold. C is the number of current
// candidates (the vocabulary size when top-k comes first).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/pipeline.hpp"

namespace rlft {

struct top_k {
  std::int64_t k = 50;  // at least 1

  // Above this k, selecting on a copy beats the heap.
  static constexpr std::int64_t heap_limit = 1024;

  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    if (k < 1) throw error(detail::make_message("top_k: k must be at least 1, got ", k));
    const auto count = static_cast<std::size_t>(k);
    if (count >= candidates.size()) return;
    const auto values = candidates.values();
    auto& heap = candidates.scratch();
    if (k <= heap_limit) {
      heap.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(count));
      std::make_heap(heap.begin(), heap.end(), std::greater<>{});  // front = smallest kept
      for (std::size_t i = count; i < values.size(); ++i) {
        if (values[i] > heap.front()) {
          std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
          heap.back() = values[i];
          std::push_heap(heap.begin(), heap.end(), std::greater<>{});
        }
      }
      candidates.keep_at_least(heap.front());
    } else {
      heap.assign(values.begin(), values.end());
      const auto kth = heap.begin() + static_cast<std::ptrdiff_t>(count - 1);
      std::nth_element(heap.begin(), kth, heap.end(), std::greater<>{});
      candidates.keep_at_least(*kth);
    }
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return detail::sample_through(logits, history, rng, *this);
  }
};

}  // namespace rlft
