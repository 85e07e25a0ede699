// The errors of sampling a row, worded once for the CPU samplers and the CUDA samplers
// (rlft/cuda/sampling.hpp), which find the same faults on the device and report them on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "rlft/core/error.hpp"

namespace rlft::detail {

inline std::string bad_logit_message(std::size_t token, float value) {
  return make_message("sampler: logit of token ", token, " is ", value, "; logits must be finite or -inf");
}

inline std::string all_negative_infinity_message(std::size_t count) {
  return make_message("sampler: all ", count, " logits are -inf; nothing to sample");
}

inline std::string no_finite_candidate_message() {
  return "sampler: the sampling stages left no candidate with a finite logit";
}

inline std::string processed_overflow_message() {
  return "sampler: a processed logit overflowed to +inf (temperature or penalty too extreme)";
}

inline std::string history_out_of_range_message(const char* stage, std::int64_t token, std::size_t vocabulary) {
  return make_message(stage, ": history token ", token, " is outside the vocabulary [0, ", vocabulary, ")");
}

// The error of row `row` of a batch, from the row's own message.
inline std::string row_error_message(std::size_t row, const std::string& what) {
  return make_message("sample_rows: row ", row, ": ", what);
}

// The size checks of sample_rows: `histories` is the number of histories given (0 for none).
inline void check_sample_rows_sizes(std::size_t rows, std::size_t vocabulary_size, std::size_t logits,
                                    std::size_t histories, std::size_t tokens) {
  if (vocabulary_size == 0) throw error("sample_rows: vocabulary size is 0");
  if (logits != rows * vocabulary_size)
    throw error(make_message("sample_rows: ", logits, " logits for ", rows, " rows of ", vocabulary_size));
  if (histories != 0 && histories != rows)
    throw error(make_message("sample_rows: ", histories, " histories for ", rows, " rows"));
  if (tokens != rows) throw error(make_message("sample_rows: output has ", tokens, " entries for ", rows, " rows"));
}

}  // namespace rlft::detail
