// Sampling a batch: one token per row of a [rows × vocabulary] logits matrix, rows spread over
// OpenMP threads. Row r draws from the Philox stream (seed, keys[r].sequence, keys[r].step),
// so its token depends only on its own logits, history and key — not on which other rows
// share the batch, their order, or the thread count. A generator keys a completion by its
// sequence id (unique within a run) and the number of tokens it has generated so far.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/sampling/row_errors.hpp"

namespace rlft {

struct sampling_key {
  std::uint64_t sequence = 0;  // Philox stream: the completion being generated
  std::uint32_t step = 0;      // Philox counter: how many tokens it has generated so far
};

// Draws tokens[r] from row r of `logits` (row-major, vocabulary_size entries per row).
// `histories` holds one sequence per row (the tokens penalties look at), or none at all.
// Throws rlft::error on mismatched sizes, and the error of the lowest failing row prefixed
// with its row number, of the row's own kind (rlft::data_error for NaN logits, rlft::error for
// invalid parameters).
template <sampler Sampler>
void sample_rows(const Sampler& sampler, std::span<const float> logits, std::size_t vocabulary_size,
                 token_sequences_view histories, std::span<const sampling_key> keys,
                 std::uint64_t seed, std::span<sampled_token> tokens) {
  const std::size_t rows = keys.size();
  detail::check_sample_rows_sizes(rows, vocabulary_size, logits.size(), histories.size(), tokens.size());

  parallel_for(rows, [&](std::size_t row) {
    philox_stream rng(seed, keys[row].sequence, keys[row].step);
    const auto history = histories.empty() ? std::span<const token_id>{} : histories[row];
    try {
      tokens[row] = sampler(logits.subspan(row * vocabulary_size, vocabulary_size), history, rng);
    } catch (const data_error& failure) {
      throw data_error(detail::row_error_message(row, failure.what()));
    } catch (const error& failure) {
      throw error(detail::row_error_message(row, failure.what()));
    }
  }, costly_iterations);
}

}  // namespace rlft
