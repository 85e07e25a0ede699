// The element-wise halves of the fused LM head (rlft/cuda/lm_head.hpp): the GEMMs that produce a
// chunk of logits run in cuBLASLt, these kernels consume the chunk. Forward: per token, an
// online log-sum-exp over the vocabulary chunk by chunk (Milakov and Gimelshein, "Online
// normalizer calculation for softmax", arXiv 1805.02867), carrying
//   max m, Σ exp(z − m) and Σ exp(z − m)·z,
// so the log-normaliser L = m + log Σ exp(z − m), the target's log-prob z_y − L and the entropy
// H = L − E_p[z] need no second pass. Backward: the logits' gradient of
//   ℓ = g·log p_y + h·H,   dℓ/dz_v = g·(1[v = y] − p_v) − h·p_v·(z_v − E_p[z]),
// written in 16 bits as the input of the two gradient GEMMs.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/cuda/check.hpp"
#include "rlft/cuda/grid.hpp"

namespace rlft::kernels {

// One token's running statistics: `sum` = Σ exp(z − max), `weighted` = Σ exp(z − max)·z over the
// vocabulary seen so far (sum = 0: nothing seen), `target` = the target's logit (NaN until seen).
struct softmax_state {
  float max;
  float sum;
  float weighted;
  float target;
};

// Adds the statistics (max2, sum2, weighted2) of more logits to (max, sum, weighted).
__device__ inline void merge_softmax(float& max, float& sum, float& weighted, float max2, float sum2,
                                     float weighted2) {
  if (sum2 == 0.0f) return;
  if (sum == 0.0f) {
    max = max2;
    sum = sum2;
    weighted = weighted2;
    return;
  }
  const float top = fmaxf(max, max2);
  const float scale = expf(max - top), scale2 = expf(max2 - top);
  sum = sum * scale + sum2 * scale2;
  weighted = weighted * scale + weighted2 * scale2;
  max = top;
}

template <class Element>
__device__ inline Element from_float(float value);
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float value) {
  return __float2bfloat16_rn(value);
}

inline constexpr int lm_head_threads = 256;

// ---------------------------------------------------------------------------------------------
// kernels

__global__ void reset_softmax_states(softmax_state* states, std::size_t tokens) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < tokens;
       i += std::size_t{gridDim.x} * blockDim.x)
    states[i] = {-INFINITY, 0.0f, 0.0f, NAN};
}

// One block per row (token) of a chunk: logits[row · stride + c] is the logit of vocabulary
// entry first_column + c, c < columns; stride is a multiple of 4 and rows are 16-byte aligned.
template <int Threads>
__global__ void __launch_bounds__(Threads) merge_logits_chunk(const float* logits, std::size_t stride, int columns,
                                                              int first_column, const std::int32_t* targets,
                                                              softmax_state* states) {
  const std::size_t row = blockIdx.x;
  const float* z = logits + row * stride;
  float max = -INFINITY, sum = 0.0f, weighted = 0.0f;
  const auto add = [&](const float* values, int count) {
    float top = values[0];
    for (int k = 1; k < count; ++k) top = fmaxf(top, values[k]);
    if (top > max) {
      const float scale = sum == 0.0f ? 0.0f : expf(max - top);
      sum *= scale;
      weighted *= scale;
      max = top;
    }
    for (int k = 0; k < count; ++k) {
      const float e = expf(values[k] - max);
      sum += e;
      weighted += e * values[k];
    }
  };
  // A thread's quads are c, c + 4·Threads, ...: quads_in_flight of them are loaded before any
  // is added (enough loads in flight to cover the memory latency), then added in that order.
  constexpr int quads_in_flight = 4;
  for (int first = 4 * threadIdx.x; first < columns; first += 4 * Threads * quads_in_flight) {
    float4 quads[quads_in_flight];
#pragma unroll
    for (int u = 0; u < quads_in_flight; ++u) {
      const int c = first + 4 * Threads * u;
      if (c + 4 <= columns) quads[u] = *reinterpret_cast<const float4*>(z + c);
    }
#pragma unroll
    for (int u = 0; u < quads_in_flight; ++u) {
      const int c = first + 4 * Threads * u;
      if (c >= columns) break;
      if (c + 4 <= columns) {
        const float values[4] = {quads[u].x, quads[u].y, quads[u].z, quads[u].w};
        add(values, 4);
      } else {
        float values[4];
        for (int k = 0; c + k < columns; ++k) values[k] = z[c + k];
        add(values, columns - c);
      }
    }
  }
  // Warps, then the block's warps through shared memory.
  for (int offset = 16; offset > 0; offset /= 2)
    merge_softmax(max, sum, weighted, __shfl_xor_sync(0xffffffffu, max, offset),
                  __shfl_xor_sync(0xffffffffu, sum, offset), __shfl_xor_sync(0xffffffffu, weighted, offset));
  __shared__ float warp_max[Threads / 32], warp_sum[Threads / 32], warp_weighted[Threads / 32];
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) {
    warp_max[warp] = max;
    warp_sum[warp] = sum;
    warp_weighted[warp] = weighted;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < Threads / 32; ++w) merge_softmax(max, sum, weighted, warp_max[w], warp_sum[w], warp_weighted[w]);
  softmax_state state = states[row];
  merge_softmax(state.max, state.sum, state.weighted, max, sum, weighted);
  const std::int32_t target = targets[row] - first_column;
  if (target >= 0 && target < columns) state.target = z[target];
  states[row] = state;
}

__global__ void finish_logprobs(const softmax_state* states, std::size_t tokens, float* logprobs, float* entropy,
                                float* log_normalizers) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < tokens;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const softmax_state state = states[i];
    const float normalizer = state.max + logf(state.sum);
    logprobs[i] = state.target - normalizer;  // NaN for a target outside the vocabulary
    if (entropy) entropy[i] = normalizer - state.weighted / state.sum;
    if (log_normalizers) log_normalizers[i] = normalizer;
  }
}

// One block per row: the gradient of the chunk's logits, in Element, at gradients[row · stride + c].
template <int Threads, class Element>
__global__ void __launch_bounds__(Threads) logits_gradient(const float* logits, std::size_t stride, int columns,
                                                           int first_column, const std::int32_t* targets,
                                                           const float* log_normalizers, const float* entropy,
                                                           const float* logprob_gradients,
                                                           const float* entropy_gradients, Element* gradients) {
  const std::size_t row = blockIdx.x;
  const float* z = logits + row * stride;
  Element* out = gradients + row * stride;
  const float g = logprob_gradients[row];
  const float h = entropy_gradients ? entropy_gradients[row] : 0.0f;
  const float normalizer = log_normalizers[row];
  const float mean = h != 0.0f ? normalizer - entropy[row] : 0.0f;  // E_p[z] = L − H
  const std::int32_t target = targets[row] - first_column;
  // A thread's columns are c, c + Threads, ...: loads_in_flight of them are loaded before any
  // is used.
  constexpr int loads_in_flight = 8;
  for (int first = threadIdx.x; first < columns; first += Threads * loads_in_flight) {
    float values[loads_in_flight];
#pragma unroll
    for (int u = 0; u < loads_in_flight; ++u) {
      const int c = first + Threads * u;
      values[u] = c < columns ? z[c] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < loads_in_flight; ++u) {
      const int c = first + Threads * u;
      if (c >= columns) break;
      const float p = expf(values[u] - normalizer);
      const float one_hot = c == target ? 1.0f : 0.0f;
      out[c] = from_float<Element>(g * (one_hot - p) - h * p * (values[u] - mean));
    }
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

inline unsigned lm_head_grid(std::size_t items) { return grid_blocks(items, kernels::lm_head_threads); }

inline void launch_reset_softmax_states(kernels::softmax_state* states, std::size_t tokens, cudaStream_t stream) {
  kernels::reset_softmax_states<<<lm_head_grid(tokens), kernels::lm_head_threads, 0, stream>>>(states, tokens);
  RLFT_CUDA_CHECK_LAUNCH();
}

// rows: tokens of the chunk; states and targets start at the chunk's first token.
inline void launch_merge_logits_chunk(const float* logits, std::size_t stride, std::size_t rows, std::size_t columns,
                                      std::size_t first_column, const std::int32_t* targets,
                                      kernels::softmax_state* states, cudaStream_t stream) {
  constexpr int threads = kernels::lm_head_threads;
  kernels::merge_logits_chunk<threads><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
      logits, stride, static_cast<int>(columns), static_cast<int>(first_column), targets, states);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_finish_logprobs(const kernels::softmax_state* states, std::size_t tokens, float* logprobs,
                                   float* entropy, float* log_normalizers, cudaStream_t stream) {
  kernels::finish_logprobs<<<lm_head_grid(tokens), kernels::lm_head_threads, 0, stream>>>(
      states, tokens, logprobs, entropy, log_normalizers);
  RLFT_CUDA_CHECK_LAUNCH();
}

template <class Element>
void launch_logits_gradient(const float* logits, std::size_t stride, std::size_t rows, std::size_t columns,
                            std::size_t first_column, const std::int32_t* targets, const float* log_normalizers,
                            const float* entropy, const float* logprob_gradients, const float* entropy_gradients,
                            Element* gradients, cudaStream_t stream) {
  constexpr int threads = kernels::lm_head_threads;
  kernels::logits_gradient<threads, Element><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
      logits, stride, static_cast<int>(columns), static_cast<int>(first_column), targets, log_normalizers, entropy,
      logprob_gradients, entropy_gradients, gradients);
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
