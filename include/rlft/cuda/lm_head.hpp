// The fused LM head: per-token log-probs of given targets (and the entropy of the next-token
// distribution) straight from the final hidden states and the LM-head weight, and the backward
// pass to both, without ever holding the [tokens × vocabulary] logits. The vocabulary (and, for
// many tokens, the tokens) is cut into chunks; per chunk cuBLASLt computes the logits in float
// from 16-bit inputs, and a kernel folds them into each token's online log-sum-exp
// (kernels/rlft/lm_head.cuh). Temporary memory is bounded by lm_head_tuning::max_chunk_elements
// (see lm_head_temporary_bytes), independent of the vocabulary size.
//
//   forward:  logits z = H·Wᵀ (H: tokens × hidden, W: vocabulary × hidden, row-major),
//             logprobs[i] = z_{i,y_i} − L_i,  L_i = log Σ_v exp z_{i,v},  entropy[i] = L_i − E_p[z_i];
//   backward: with g = dℓ/d logprobs and h = dℓ/d entropy, the logits' gradient
//             G = g·(onehot(y) − p) − h·p·(z − E_p[z]) per chunk (recomputing the chunk's
//             logits), rounded to 16 bits, then dℓ/dH = G·W and dℓ/dW = Gᵀ·H in float.
// The forward's log-normalisers (and entropies, when h is used) are the backward's inputs.
//
// The forward overlaps the reduction of chunk k with the GEMM of chunk k + 1 on a second
// stream (lm_head_tuning::overlap); the GEMMs are 16-bit tensor-core products with float
// accumulation and float output, so the log-probs carry float rounding of the logits, not the
// 16-bit rounding of a bf16 logits tensor.
//
// Elements: __nv_bfloat16 (another type is a compile-time error). hidden_size must be a
// multiple of 8 and every device pointer 16-byte aligned (cuBLASLt's tensor-core layouts).
// Targets must lie in [0, vocabulary); an out-of-range target gets a NaN log-prob. One
// fused_lm_head runs one call at a time (its cuBLASLt workspace and second stream are shared).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/core/error.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/detail/dependent_false.hpp"
#include "rlft/cuda/detail/matmul.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/lm_head.cuh"

namespace rlft::cuda {

// Chunking of the fused LM head. The defaults are the shape measured on an H200 (16384 tokens ×
// 151936, bench/RESULTS.md), where overlapping the reduction with the next GEMM gained nothing
// (12.28 against 12.31 ms) but costs nothing either; the lm_head_forward_chunks benchmark times
// smaller chunks, which may stay in L2.
struct lm_head_tuning {
  std::size_t max_chunk_elements = std::size_t{64} << 20;  // float logits per chunk buffer (256 MiB)
  std::size_t vocabulary_alignment = 128;                   // vocabulary chunks are multiples of this
  std::size_t min_vocabulary_chunk = 2048;                  // below this, tokens are chunked instead
  bool overlap = true;          // forward: reduce chunk k on a second stream during the GEMM of k + 1
  int gemm_sm_count = 0;        // SMs the GEMMs may use (0: all), leaving the rest to the reductions
  std::size_t cublas_workspace_bytes = std::size_t{32} << 20;
};
inline constexpr lm_head_tuning default_lm_head_tuning{};

// How a call is cut: chunks of `tokens` × `vocabulary`, logits rows `row_stride` floats apart.
struct lm_head_chunks {
  std::size_t tokens = 0;
  std::size_t vocabulary = 0;
  std::size_t row_stride = 0;
};

// Throws rlft::error when the tuning cannot produce a chunk (zero sizes, a vocabulary alignment
// that is not a multiple of 8, a minimum vocabulary chunk above max_chunk_elements).
inline lm_head_chunks plan_lm_head_chunks(std::size_t tokens, std::size_t vocabulary,
                                          const lm_head_tuning& tuning = default_lm_head_tuning) {
  if (tuning.vocabulary_alignment == 0 || tuning.vocabulary_alignment % 8 != 0 ||
      tuning.min_vocabulary_chunk < tuning.vocabulary_alignment ||
      tuning.max_chunk_elements < tuning.min_vocabulary_chunk)
    throw error(rlft::detail::make_message(
        "fused LM head: tuning needs a vocabulary alignment that is a positive multiple of 8 (got ",
        tuning.vocabulary_alignment, "), min_vocabulary_chunk >= it (got ", tuning.min_vocabulary_chunk,
        ") and max_chunk_elements >= min_vocabulary_chunk (got ", tuning.max_chunk_elements, ")"));
  if (tokens == 0 || vocabulary == 0) return {};
  const auto round_up = [&](std::size_t n) {
    return (n + tuning.vocabulary_alignment - 1) / tuning.vocabulary_alignment * tuning.vocabulary_alignment;
  };
  const std::size_t padded_vocabulary = round_up(vocabulary);
  const std::size_t smallest_chunk = std::min(padded_vocabulary, tuning.min_vocabulary_chunk);
  lm_head_chunks chunks;
  chunks.tokens = std::min(tokens, tuning.max_chunk_elements / smallest_chunk);
  const std::size_t widest = tuning.max_chunk_elements / chunks.tokens / tuning.vocabulary_alignment *
                             tuning.vocabulary_alignment;
  chunks.vocabulary = std::min(vocabulary, std::max(widest, tuning.vocabulary_alignment));
  chunks.row_stride = round_up(chunks.vocabulary);
  return chunks;
}

// The device memory a call allocates for its duration (besides the object's cuBLASLt
// workspace): logits buffers, per-token statistics, and in the backward pass the 16-bit logits
// gradient.
inline std::size_t lm_head_temporary_bytes(std::size_t tokens, std::size_t vocabulary, bool backward,
                                           const lm_head_tuning& tuning = default_lm_head_tuning) {
  const lm_head_chunks chunks = plan_lm_head_chunks(tokens, vocabulary, tuning);
  const std::size_t chunk = chunks.tokens * chunks.row_stride;
  if (backward) return chunk * sizeof(float) + chunk * 2;
  return (tuning.overlap ? 2 : 1) * chunk * sizeof(float) + tokens * sizeof(kernels::softmax_state);
}

template <class Element>
struct lm_head_input {
  std::span<const Element> hidden = {};           // tokens × hidden_size, row-major (device)
  std::span<const Element> weight = {};           // vocabulary × hidden_size, row-major (device)
  std::span<const std::int32_t> targets = {};     // tokens (device)
  std::size_t hidden_size = 0;
};

struct lm_head_forward_output {
  std::span<float> logprobs = {};         // tokens (device)
  std::span<float> entropy = {};          // tokens, or empty
  std::span<float> log_normalizers = {};  // tokens, or empty: L_i, the backward pass's input
};

struct lm_head_backward_input {
  std::span<const float> log_normalizers = {};    // the forward's
  std::span<const float> entropy = {};            // the forward's; needed with entropy_gradients
  std::span<const float> logprob_gradients = {};  // dℓ/d logprobs, tokens
  std::span<const float> entropy_gradients = {};  // dℓ/d entropy, tokens, or empty
};

struct lm_head_backward_output {
  std::span<float> hidden_gradients = {};  // tokens × hidden_size (device)
  std::span<float> weight_gradients = {};  // vocabulary × hidden_size (device)
  bool accumulate = false;                 // add to the gradients instead of overwriting them
};

namespace detail {

template <class Element>
struct lm_head_element {
  static_assert(dependent_false<Element>,
                "no CUDA specialisation of the fused LM head for this element type: hidden states and "
                "weight must be __nv_bfloat16");
};
template <>
struct lm_head_element<__nv_bfloat16> {
  static constexpr cudaDataType_t type = CUDA_R_16BF;
};

struct lm_head_dimensions {
  std::size_t tokens = 0;
  std::size_t vocabulary = 0;
  std::size_t hidden = 0;
};

inline void check_aligned(const void* pointer, const char* what) {
  if (reinterpret_cast<std::uintptr_t>(pointer) % 16 != 0)
    throw error(rlft::detail::make_message("fused LM head: ", what, " must be 16-byte aligned"));
}

inline void check_length(std::size_t size, std::size_t expected, const char* what, bool may_be_empty = false) {
  if (size != expected && !(may_be_empty && size == 0))
    throw error(rlft::detail::make_message("fused LM head: ", what, " has ", size, " entries, expected ", expected,
                                           may_be_empty ? " (or none)" : ""));
}

// The shape of a call, from its spans; throws rlft::error naming what does not fit.
template <class Element>
lm_head_dimensions check_lm_head_input(const lm_head_input<Element>& in) {
  const std::size_t hidden = in.hidden_size;
  if (hidden == 0 || hidden % 8 != 0)
    throw error(rlft::detail::make_message("fused LM head: hidden_size = ", hidden,
                                           " must be a positive multiple of 8 (16-byte rows for the tensor cores)"));
  if (in.hidden.empty() || in.hidden.size() % hidden != 0)
    throw error(rlft::detail::make_message("fused LM head: ", in.hidden.size(),
                                           " hidden-state values are not a whole, non-zero number of rows of ",
                                           hidden));
  if (in.weight.empty() || in.weight.size() % hidden != 0)
    throw error(rlft::detail::make_message("fused LM head: ", in.weight.size(),
                                           " weight values are not a whole, non-zero number of rows of ", hidden));
  const lm_head_dimensions dimensions{in.hidden.size() / hidden, in.weight.size() / hidden, hidden};
  constexpr std::size_t limit = std::size_t{1} << 31;
  if (dimensions.tokens >= limit || dimensions.vocabulary >= limit)
    throw error(rlft::detail::make_message("fused LM head: ", dimensions.tokens, " tokens and a vocabulary of ",
                                           dimensions.vocabulary, " must both stay below 2^31"));
  check_length(in.targets.size(), dimensions.tokens, "targets");
  check_aligned(in.hidden.data(), "hidden");
  check_aligned(in.weight.data(), "weight");
  return dimensions;
}

inline void check_forward_output(const lm_head_forward_output& out, const lm_head_dimensions& d) {
  check_length(out.logprobs.size(), d.tokens, "logprobs");
  check_length(out.entropy.size(), d.tokens, "entropy", true);
  check_length(out.log_normalizers.size(), d.tokens, "log_normalizers", true);
}

inline void check_backward(const lm_head_backward_input& in, const lm_head_backward_output& out,
                           const lm_head_dimensions& d) {
  check_length(in.log_normalizers.size(), d.tokens, "log_normalizers");
  check_length(in.logprob_gradients.size(), d.tokens, "logprob_gradients");
  check_length(in.entropy_gradients.size(), d.tokens, "entropy_gradients", true);
  if (!in.entropy_gradients.empty()) check_length(in.entropy.size(), d.tokens, "entropy (needed by entropy_gradients)");
  check_length(out.hidden_gradients.size(), d.tokens * d.hidden, "hidden_gradients");
  check_length(out.weight_gradients.size(), d.vocabulary * d.hidden, "weight_gradients");
  check_aligned(out.hidden_gradients.data(), "hidden_gradients");
  check_aligned(out.weight_gradients.data(), "weight_gradients");
}

}  // namespace detail

template <class Element = __nv_bfloat16>
class fused_lm_head {
 public:
  static constexpr cudaDataType_t element_type = detail::lm_head_element<Element>::type;

  // Creates the cuBLASLt handle, its workspace (allocated on `stream`) and the second stream.
  explicit fused_lm_head(cudaStream_t stream, const lm_head_tuning& tuning = default_lm_head_tuning)
      : tuning_(tuning), matmul_(element_type, tuning.cublas_workspace_bytes, tuning.gemm_sm_count, stream) {
    plan_lm_head_chunks(1, 1, tuning_);  // rejects an unusable tuning now
    RLFT_CUDA_CHECK(cudaStreamCreateWithFlags(&side_stream_, cudaStreamNonBlocking));
    for (auto* event : {&computed_[0], &computed_[1], &merged_[0], &merged_[1], &done_})
      RLFT_CUDA_CHECK(cudaEventCreateWithFlags(event, cudaEventDisableTiming));
  }
  fused_lm_head(const fused_lm_head&) = delete;
  fused_lm_head& operator=(const fused_lm_head&) = delete;
  ~fused_lm_head() {
    for (auto event : {computed_[0], computed_[1], merged_[0], merged_[1], done_})
      if (event) static_cast<void>(cudaEventDestroy(event));
    if (side_stream_) static_cast<void>(cudaStreamDestroy(side_stream_));
  }

  const lm_head_tuning& tuning() const noexcept { return tuning_; }

  // Enqueues the forward pass on `stream`. Throws rlft::error for shapes that do not fit
  // (before enqueueing anything), rlft::cuda_error / cublas_error when CUDA fails.
  void forward(const lm_head_input<Element>& in, const lm_head_forward_output& out, cudaStream_t stream) {
    const auto d = detail::check_lm_head_input(in);
    detail::check_forward_output(out, d);
    const lm_head_chunks chunks = plan_lm_head_chunks(d.tokens, d.vocabulary, tuning_);
    device_buffer<kernels::softmax_state> states(d.tokens, stream);
    launch_reset_softmax_states(states.data(), d.tokens, stream);
    const std::size_t chunk = chunks.tokens * chunks.row_stride;
    const bool overlap = tuning_.overlap;
    device_buffer<float> buffers[2] = {device_buffer<float>(chunk, stream),
                                       device_buffer<float>(overlap ? chunk : 0, stream)};
    const cudaStream_t reduce_stream = overlap ? side_stream_ : stream;
    std::size_t k = 0;
    for (std::size_t first_token = 0; first_token < d.tokens; first_token += chunks.tokens) {
      const std::size_t tokens = std::min(chunks.tokens, d.tokens - first_token);
      for (std::size_t first_entry = 0; first_entry < d.vocabulary; first_entry += chunks.vocabulary, ++k) {
        const std::size_t entries = std::min(chunks.vocabulary, d.vocabulary - first_entry);
        const std::size_t b = overlap ? k % 2 : 0;
        if (overlap && k >= 2) RLFT_CUDA_CHECK(cudaStreamWaitEvent(stream, merged_[b]));
        chunk_logits(in, d, first_token, tokens, first_entry, entries, chunks.row_stride, buffers[b].data(), stream);
        if (overlap) {
          RLFT_CUDA_CHECK(cudaEventRecord(computed_[b], stream));
          RLFT_CUDA_CHECK(cudaStreamWaitEvent(side_stream_, computed_[b]));
        }
        launch_merge_logits_chunk(buffers[b].data(), chunks.row_stride, tokens, entries, first_entry,
                                  in.targets.data() + first_token, states.data() + first_token, reduce_stream);
        if (overlap) RLFT_CUDA_CHECK(cudaEventRecord(merged_[b], side_stream_));
      }
    }
    if (overlap) {
      RLFT_CUDA_CHECK(cudaEventRecord(done_, side_stream_));
      RLFT_CUDA_CHECK(cudaStreamWaitEvent(stream, done_));
    }
    launch_finish_logprobs(states.data(), d.tokens, out.logprobs.data(),
                           out.entropy.empty() ? nullptr : out.entropy.data(),
                           out.log_normalizers.empty() ? nullptr : out.log_normalizers.data(), stream);
  }

  // Enqueues the backward pass on `stream`; throws like forward().
  void backward(const lm_head_input<Element>& in, const lm_head_backward_input& gradients_in,
                const lm_head_backward_output& out, cudaStream_t stream) {
    const auto d = detail::check_lm_head_input(in);
    detail::check_backward(gradients_in, out, d);
    const lm_head_chunks chunks = plan_lm_head_chunks(d.tokens, d.vocabulary, tuning_);
    // The 16-bit gradient rows share the logits' stride (a multiple of 8 elements: 16 bytes).
    device_buffer<float> logits(chunks.tokens * chunks.row_stride, stream);
    device_buffer<Element> logit_gradients(chunks.tokens * chunks.row_stride, stream);
    const auto h = static_cast<std::int64_t>(d.hidden);
    for (std::size_t first_token = 0; first_token < d.tokens; first_token += chunks.tokens) {
      const std::size_t tokens = std::min(chunks.tokens, d.tokens - first_token);
      for (std::size_t first_entry = 0; first_entry < d.vocabulary; first_entry += chunks.vocabulary) {
        const std::size_t entries = std::min(chunks.vocabulary, d.vocabulary - first_entry);
        chunk_logits(in, d, first_token, tokens, first_entry, entries, chunks.row_stride, logits.data(), stream);
        launch_logits_gradient(logits.data(), chunks.row_stride, tokens, entries, first_entry,
                               in.targets.data() + first_token, gradients_in.log_normalizers.data() + first_token,
                               gradients_in.entropy.empty() ? nullptr : gradients_in.entropy.data() + first_token,
                               gradients_in.logprob_gradients.data() + first_token,
                               gradients_in.entropy_gradients.empty()
                                   ? nullptr
                                   : gradients_in.entropy_gradients.data() + first_token,
                               logit_gradients.data(), stream);
        const auto n_tokens = static_cast<std::int64_t>(tokens), n_entries = static_cast<std::int64_t>(entries);
        const auto stride = static_cast<std::int64_t>(chunks.row_stride);
        // dℓ/dH (tokens × hidden, row-major = hidden × tokens column-major) += W_chunkᵀ·Gᵀ.
        matmul_.run({.transpose_a = CUBLAS_OP_N, .transpose_b = CUBLAS_OP_N, .m = h, .n = n_tokens, .k = n_entries,
                     .lda = h, .ldb = stride, .ldd = h},
                    in.weight.data() + first_entry * d.hidden, logit_gradients.data(),
                    out.hidden_gradients.data() + first_token * d.hidden,
                    first_entry == 0 && !out.accumulate ? 0.0f : 1.0f, stream);
        // dℓ/dW_chunk (entries × hidden, row-major) += Hᵀ·G, column-major.
        matmul_.run({.transpose_a = CUBLAS_OP_N, .transpose_b = CUBLAS_OP_T, .m = h, .n = n_entries, .k = n_tokens,
                     .lda = h, .ldb = stride, .ldd = h},
                    in.hidden.data() + first_token * d.hidden, logit_gradients.data(),
                    out.weight_gradients.data() + first_entry * d.hidden,
                    first_token == 0 && !out.accumulate ? 0.0f : 1.0f, stream);
      }
    }
  }

 private:
  // logits[t · stride + v] = Σ_j hidden[first_token + t][j] · weight[first_entry + v][j]: the
  // column-major entries × tokens product W_chunk·Hᵀ (A = W transposed, B = H as stored).
  void chunk_logits(const lm_head_input<Element>& in, const detail::lm_head_dimensions& d, std::size_t first_token,
                    std::size_t tokens, std::size_t first_entry, std::size_t entries, std::size_t stride,
                    float* logits, cudaStream_t stream) {
    const auto h = static_cast<std::int64_t>(d.hidden);
    matmul_.run({.transpose_a = CUBLAS_OP_T, .transpose_b = CUBLAS_OP_N, .m = static_cast<std::int64_t>(entries),
                 .n = static_cast<std::int64_t>(tokens), .k = h, .lda = h, .ldb = h,
                 .ldd = static_cast<std::int64_t>(stride)},
                in.weight.data() + first_entry * d.hidden, in.hidden.data() + first_token * d.hidden, logits, 0.0f,
                stream);
  }

  lm_head_tuning tuning_;
  detail::matmul_runner matmul_;
  cudaStream_t side_stream_ = nullptr;
  cudaEvent_t computed_[2] = {}, merged_[2] = {}, done_ = nullptr;
};

}  // namespace rlft::cuda
