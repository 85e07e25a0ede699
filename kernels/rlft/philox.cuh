// Uniform random floats on the device from rlft's Philox streams. Element i is the i-th draw
// of philox_stream(seed, stream, counter) — word i % 4 of block i / 4 — exactly the value
// rlft::fill_uniform computes on the CPU, so host and device runs of one seed agree bitwise.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "rlft/core/philox.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/grid.hpp"

// ---------------------------------------------------------------------------------------------
// kernels

namespace rlft::kernels {

// One thread per Philox block (four outputs), grid-stride over the blocks.
template <int ThreadsPerBlock>
__global__ void __launch_bounds__(ThreadsPerBlock) fill_uniform(float* out, std::size_t count, philox_stream generator) {
  const std::size_t blocks = (count + 3) / 4;
  for (std::size_t b = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; b < blocks;
       b += std::size_t{gridDim.x} * blockDim.x) {
    const philox_block block = generator.block(static_cast<std::uint32_t>(b));
    const std::size_t first = 4 * b;
    if (first + 4 <= count) {
      // 16-byte aligned when `out` is (cudaMalloc guarantees 256 bytes): one vector store.
      reinterpret_cast<float4*>(out)[b] =
          make_float4(to_uniform_float(block.words[0]), to_uniform_float(block.words[1]),
                      to_uniform_float(block.words[2]), to_uniform_float(block.words[3]));
    } else {
      for (std::size_t i = first; i < count; ++i) out[i] = to_uniform_float(block.words[i - first]);
    }
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// out: device memory for `count` floats, 16-byte aligned. Throws rlft::error on a misaligned
// pointer or more than 2^34 elements, rlft::cuda_error on a failed launch.
inline void fill_uniform(float* out, std::size_t count, std::uint64_t seed, std::uint64_t stream,
                         std::uint32_t counter, cudaStream_t cuda_stream) {
  if (count == 0) return;
  if (reinterpret_cast<std::uintptr_t>(out) % 16 != 0)
    throw error("cuda::fill_uniform: output must be 16-byte aligned");
  if ((count + 3) / 4 > 0xFFFFFFFFull)
    throw error("cuda::fill_uniform: at most 2^34 values per (seed, stream, counter)");
  constexpr int threads = 256;
  kernels::fill_uniform<threads><<<grid_blocks((count + 3) / 4, threads, 65536), threads, 0, cuda_stream>>>(
      out, count, philox_stream(seed, stream, counter));
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
