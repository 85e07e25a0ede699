// Sampling a batch of logit rows on the device with the CPU's samplers: the same pipeline types
// (temperature{0.6f} | top_p{0.95f}, repetition_penalty{1.1f} | greedy{}, ...), the same
// sampling keys and seed, and for every row the token the CPU's rlft::sample_rows draws
// (kernels/rlft/sampling.cuh explains how, and the rare near-ties where they can differ):
//   auto pending = rlft::cuda::launch_sample_rows(temperature{0.6f} | top_p{0.95f}, logits,
//                                                 vocabulary, {}, keys, seed, tokens, stream);
//   pending.wait();  // throws the CPU's error for the first bad row
// Rows are float or __nv_bfloat16 (another type is a compile-time error), row-major, in device
// memory, as are the keys, the histories and the output tokens. Supported stages: temperature,
// top_k, top_p, min_p, greedy, repetition_penalty, presence_penalty, frequency_penalty and
// categorical, at most eight per pipeline; another logit processor is a compile-time error.
// Penalties read each row's history from device_histories, counted in shared memory: its
// max_length bounds the table (a longer history is reported as that row's error).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/concepts/sampler.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/detail/dependent_false.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/sampling.cuh"
#include "rlft/sampling/categorical.hpp"
#include "rlft/sampling/greedy.hpp"
#include "rlft/sampling/min_p.hpp"
#include "rlft/sampling/penalties.hpp"
#include "rlft/sampling/pipeline.hpp"
#include "rlft/sampling/row_errors.hpp"
#include "rlft/sampling/sample_rows.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/sampling/top_k.hpp"
#include "rlft/sampling/top_p.hpp"

namespace rlft::cuda {

// One history per row, as CSR in device memory (empty spans: no histories).
struct device_histories {
  std::span<const std::int64_t> offsets = {};  // rows + 1 entries
  std::span<const token_id> tokens = {};
  std::size_t max_length = 0;  // an upper bound of every row's history length
};

namespace detail {

using kernels::sampling_program;
using kernels::sampling_stage;
using kernels::stage_kind;

inline void append_stage(sampling_program& program, const sampling_stage& stage) {
  if (program.count == kernels::max_sampling_stages)
    throw error(rlft::detail::make_message("sample_rows: the CUDA samplers run at most ",
                                           kernels::max_sampling_stages, " stages (after dropping neutral ones)"));
  program.stages[program.count++] = stage;
}

// Each specialisation checks the stage's parameters (with the CPU's messages) and appends it,
// unless it leaves every row unchanged.
template <class Stage>
struct device_stage {
  static_assert(dependent_false<Stage>,
                "no CUDA specialisation of this logit processor: the CUDA samplers support temperature, top_k, "
                "top_p, min_p, greedy, repetition_penalty, presence_penalty, frequency_penalty and categorical");
};

template <>
struct device_stage<temperature> {
  static void append(const temperature& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.value != 1.0f) append_stage(program, {.kind = stage_kind::temperature, .parameter = stage.value});
  }
};

template <>
struct device_stage<repetition_penalty> {
  static void append(const repetition_penalty& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.penalty != 1.0f)
      append_stage(program, {.kind = stage_kind::repetition_penalty, .parameter = stage.penalty});
  }
};

template <>
struct device_stage<presence_penalty> {
  static void append(const presence_penalty& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.penalty != 0.0f) append_stage(program, {.kind = stage_kind::presence_penalty, .parameter = stage.penalty});
  }
};

template <>
struct device_stage<frequency_penalty> {
  static void append(const frequency_penalty& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.penalty != 0.0f)
      append_stage(program, {.kind = stage_kind::frequency_penalty, .parameter = stage.penalty});
  }
};

template <>
struct device_stage<top_k> {
  static void append(const top_k& stage, sampling_program& program, std::size_t vocabulary) {
    stage.check();
    if (static_cast<std::size_t>(stage.k) < vocabulary)
      append_stage(program, {.kind = stage_kind::top_k, .k = stage.k});
  }
};

template <>
struct device_stage<top_p> {
  static void append(const top_p& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.p != 1.0f) append_stage(program, {.kind = stage_kind::top_p, .parameter = stage.p});
  }
};

template <>
struct device_stage<min_p> {
  static void append(const min_p& stage, sampling_program& program, std::size_t) {
    stage.check();
    if (stage.p != 0.0f)
      append_stage(program, {.kind = stage_kind::min_p, .parameter = stage.p, .log_parameter = std::log(stage.p)});
  }
};

template <>
struct device_stage<greedy> {
  static void append(const greedy&, sampling_program& program, std::size_t) {
    append_stage(program, {.kind = stage_kind::greedy});
  }
};

template <>
struct device_stage<categorical> {
  static void append(const categorical&, sampling_program&, std::size_t) {}
};

// The device program of a sampler (one stage or a pipeline of them).
template <class Sampler>
sampling_program program_of(const Sampler& sampler, std::size_t vocabulary) {
  static_assert(logit_processor<Sampler>,
                "the CUDA samplers take rlft's logit processors and their pipelines (stage | stage | ...)");
  sampling_program program;
  std::apply([&](const auto&... stage) {
    (device_stage<std::decay_t<decltype(stage)>>::append(stage, program, vocabulary), ...);
  }, rlft::detail::stages_of(sampler));
  program.first_penalty = program.count;
  for (int s = program.count - 1; s >= 0; --s) {
    const auto kind = program.stages[s].kind;
    if (kind == stage_kind::repetition_penalty || kind == stage_kind::presence_penalty ||
        kind == stage_kind::frequency_penalty)
      program.first_penalty = s;
  }
  return program;
}

inline const char* stage_name(stage_kind kind) {
  switch (kind) {
    case stage_kind::repetition_penalty: return repetition_penalty::name;
    case stage_kind::presence_penalty: return presence_penalty::name;
    default: return frequency_penalty::name;
  }
}

template <class Logit>
struct sampling_logit {
  static_assert(dependent_false<Logit>,
                "no CUDA specialisation of the samplers for this logit type: rows must be float or __nv_bfloat16");
};
template <>
struct sampling_logit<float> {
  static float value(float logit) { return logit; }
};
template <>
struct sampling_logit<__nv_bfloat16> {
  static float value(__nv_bfloat16 logit) { return __bfloat162float(logit); }
};

}  // namespace detail

// A batch of draws in flight on its stream.
class pending_samples {
 public:
  pending_samples(device_buffer<kernels::row_status> statuses, kernels::sampling_program program,
                  std::size_t vocabulary, std::size_t max_history, std::function<float(std::size_t)> logit_at)
      : statuses_(std::move(statuses)),
        program_(program),
        vocabulary_(vocabulary),
        max_history_(max_history),
        logit_at_(std::move(logit_at)) {}

  // Waits for the stream; throws the CPU's error (with its row number) for the first row that
  // could not be sampled: rlft::data_error for its logits, rlft::error for its history.
  void wait() {
    const auto statuses = statuses_.download();
    for (std::size_t row = 0; row < statuses.size(); ++row) {
      const auto& status = statuses[row];
      const auto index = static_cast<std::size_t>(status.index);
      switch (status.fault) {
        case kernels::row_fault::none: continue;
        case kernels::row_fault::bad_logit:
          throw data_error(rlft::detail::row_error_message(
              row, rlft::detail::bad_logit_message(index, logit_at_(row * vocabulary_ + index))));
        case kernels::row_fault::all_negative_infinity:
          throw data_error(rlft::detail::row_error_message(row, rlft::detail::all_negative_infinity_message(vocabulary_)));
        case kernels::row_fault::processed_overflow:
          throw data_error(rlft::detail::row_error_message(row, rlft::detail::processed_overflow_message()));
        case kernels::row_fault::no_finite_candidate:
          throw data_error(rlft::detail::row_error_message(row, rlft::detail::no_finite_candidate_message()));
        case kernels::row_fault::history_out_of_range:
          throw error(rlft::detail::row_error_message(
              row, rlft::detail::history_out_of_range_message(
                       detail::stage_name(program_.stages[program_.first_penalty].kind), status.index, vocabulary_)));
        case kernels::row_fault::history_too_long:
          throw error(rlft::detail::row_error_message(
              row, rlft::detail::make_message("sampler: the history of ", status.index,
                                              " tokens exceeds device_histories::max_length = ", max_history_)));
      }
    }
  }

 private:
  device_buffer<kernels::row_status> statuses_;
  kernels::sampling_program program_;
  std::size_t vocabulary_;
  std::size_t max_history_;
  std::function<float(std::size_t)> logit_at_;  // downloads one logit, for the error message
};

// Enqueues one draw per row: tokens[r] from row r of `logits` (rows × vocabulary_size) with the
// Philox stream (seed, keys[r].sequence, keys[r].step), exactly as rlft::sample_rows. Throws
// rlft::error before launching for mismatched sizes and invalid stage parameters (the CPU's
// messages), and when the histories' table does not fit in shared memory. The logits must
// outlive the returned object (its error report reads them). `tuning` sets the launch shape
// (the benchmarks compare shapes).
template <sampling_tuning tuning = default_sampling_tuning, class Sampler, class Logit>
pending_samples launch_sample_rows(const Sampler& sampler, std::span<const Logit> logits, std::size_t vocabulary_size,
                                   const device_histories& histories, std::span<const sampling_key> keys,
                                   std::uint64_t seed, std::span<sampled_token> tokens, cudaStream_t stream) {
  static_cast<void>(detail::sampling_logit<Logit>{});
  const std::size_t rows = keys.size();
  rlft::detail::check_sample_rows_sizes(rows, vocabulary_size, logits.size(),
                                        histories.offsets.empty() ? 0 : histories.offsets.size() - 1, tokens.size());
  const auto program = detail::program_of(sampler, vocabulary_size);
  const bool penalties = program.first_penalty < program.count && !histories.offsets.empty();
  device_buffer<kernels::row_status> statuses(rows, stream);
  launch_sampling_kernel<tuning>({.logits = logits.data(),
                                 .bfloat16 = std::is_same_v<Logit, __nv_bfloat16>,
                                 .rows = rows,
                                 .vocabulary = vocabulary_size,
                                 .history_offsets = histories.offsets.empty() ? nullptr : histories.offsets.data(),
                                 .history_tokens = histories.tokens.data(),
                                 .max_history = histories.max_length,
                                 .hash_capacity = sampling_hash_capacity(histories.max_length, penalties),
                                 .keys = keys.data(),
                                 .seed = seed,
                                 .tokens = tokens.data(),
                                 .statuses = statuses.data(),
                                 .program = program},
                                stream);
  return pending_samples(std::move(statuses), program, vocabulary_size, histories.max_length,
                         [logits, stream](std::size_t i) {
                           return detail::sampling_logit<Logit>::value(download(logits.subspan(i, 1), stream).front());
                         });
}

// launch_sample_rows(...).wait().
template <class Sampler, class Logit>
void sample_rows(const Sampler& sampler, std::span<const Logit> logits, std::size_t vocabulary_size,
                 const device_histories& histories, std::span<const sampling_key> keys, std::uint64_t seed,
                 std::span<sampled_token> tokens, cudaStream_t stream) {
  launch_sample_rows(sampler, logits, vocabulary_size, histories, keys, seed, tokens, stream).wait();
}

}  // namespace rlft::cuda
