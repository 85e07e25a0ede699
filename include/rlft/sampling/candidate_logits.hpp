// The working state of one row of logits inside a sampling pipeline: which vocabulary entries
// are still candidates and their processed logits (after temperature, penalties, ...). Every
// stage of a pipeline (rlft::logit_processor) transforms this state; the final draw samples
// from softmax over the surviving candidates.
//
// The state starts dense — candidate i is token i, no id array is stored — and becomes sparse
// (an explicit token id per candidate) the first time a truncation (top-k, top-p, min-p,
// greedy) removes candidates. Truncations shrink the candidate arrays, so later stages and
// the draw touch only the survivors. Candidates may be reordered freely: the draw is defined
// on token ids (noise keyed by id, ties broken by the smaller id), never on positions.
//
// A candidate whose value is -inf is still stored but has probability 0 and is never drawn.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/sampling/max_and_flaws.hpp"

namespace rlft {

class candidate_logits {
 public:
  candidate_logits() = default;

  // Every vocabulary entry becomes a candidate with its logit as value. The caller validated
  // the logits (finite or -inf).
  void assign(std::span<const float> logits) {
    values_.assign(logits.begin(), logits.end());
    dense_ = true;
    vocabulary_size_ = logits.size();
  }

  std::size_t vocabulary_size() const noexcept { return vocabulary_size_; }
  std::size_t size() const noexcept { return values_.size(); }
  bool dense() const noexcept { return dense_; }

  // The token id of candidate i.
  token_id token(std::size_t i) const {
    RLFT_ASSERT(i < size());
    return dense_ ? static_cast<token_id>(i) : tokens_[i];
  }

  std::span<float> values() noexcept { return values_; }
  std::span<const float> values() const noexcept { return values_; }

  // Token ids of the candidates, materialised on first use (a dense state becomes sparse).
  // Stages that reorder candidates permute values() and tokens() together.
  std::span<token_id> tokens() {
    make_sparse();
    return std::span(tokens_).first(size());
  }

  // The largest value (-inf when every candidate is -inf).
  float max_value() const noexcept { return detail::max_and_flaws(values_.data(), values_.size()).max; }

  // Keeps the candidates whose value satisfies keep(value), in their current order. Branch-free
  // (every candidate is written, the write position advances only for kept ones), so the cost
  // does not depend on how unpredictable the predicate is.
  template <class Predicate>
  void keep_if(Predicate keep) {
    const std::size_t n = values_.size();
    grow_tokens(n);
    std::size_t kept = 0;
    if (dense_) {
      for (std::size_t i = 0; i < n; ++i) {
        const float value = values_[i];
        values_[kept] = value;
        tokens_[kept] = static_cast<token_id>(i);
        kept += keep(value) ? 1 : 0;
      }
      dense_ = false;
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const float value = values_[i];
        const token_id token = tokens_[i];
        values_[kept] = value;
        tokens_[kept] = token;
        kept += keep(value) ? 1 : 0;
      }
    }
    values_.resize(kept);
  }

  // Keeps the candidates whose value is >= threshold.
  void keep_at_least(float threshold) {
    keep_if([threshold](float value) { return value >= threshold; });
  }

  // Keeps candidate `index` alone.
  void keep_only(std::size_t index) {
    RLFT_ASSERT(index < size());
    const float value = values_[index];
    const token_id id = token(index);
    values_.assign(1, value);
    grow_tokens(1);
    tokens_[0] = id;
    dense_ = false;
  }

  // Keeps the first `count` candidates (after a stage moved the ones to keep to the front).
  void keep_first(std::size_t count) {
    RLFT_ASSERT(count <= size());
    make_sparse();
    values_.resize(count);
  }

  // Scratch space a stage may use freely between calls (no allocation once warm).
  std::vector<float>& scratch() noexcept { return scratch_; }

 private:
  void make_sparse() {
    if (!dense_) return;
    grow_tokens(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) tokens_[i] = static_cast<token_id>(i);
    dense_ = false;
  }

  // The id array only grows, so it is zero-filled once per thread, not once per row.
  void grow_tokens(std::size_t count) {
    if (tokens_.size() < count) tokens_.resize(count);
  }

  std::vector<float> values_;
  std::vector<token_id> tokens_;  // the first size() entries are the ids when sparse
  std::vector<float> scratch_;
  std::size_t vocabulary_size_ = 0;
  bool dense_ = true;
};

// A stage of a sampling pipeline: temperature, a penalty, a truncation, or a user's own.
//
// A type P is a logit processor when
//   1. it is copy-constructible (it holds only its parameters);
//   2. a const P is callable as p.apply(candidates, history) with an rlft::candidate_logits&
//      it transforms in place and the std::span<const token_id> of tokens generated so far;
//      it throws rlft::error for invalid parameters and must leave at least one candidate
//      with a finite value when it received one. (It must not run a sampler itself: the
//      candidate set of a sampling call is a per-thread buffer.)
template <class P>
concept processor_parameters = std::copy_constructible<P>;

template <class P>
concept transforms_candidates =
    requires(const P& p, candidate_logits& candidates, std::span<const token_id> history) {
      p.apply(candidates, history);
    };

template <class P>
concept logit_processor = processor_parameters<P> && transforms_candidates<P>;

}  // namespace rlft
