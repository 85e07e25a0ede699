// AdamW over many parameter tensors in one launch (rlft/cuda/adamw.hpp): each block updates a
// fixed-size chunk of one tensor, found from the chunk's index by a binary search over the
// tensors' first chunks. Per element the update is the CPU's (detail::adamw_scalars::update:
// float master weight, first and second moments in float), followed by the bf16 copy of the
// new weight, rounded to nearest even, when the tensor has one.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/cuda/check.hpp"
#include "rlft/optim/adamw.hpp"

namespace rlft::cuda {

// Launch shape of fused AdamW, in one place. Not yet timed against other shapes; what chose
// each default:
struct adamw_tuning {
  int threads = 256;
  // Elements per block: 64 per thread, enough to hide the binary search for the block's tensor,
  // small enough that a 0.5B-parameter model still makes tens of thousands of blocks.
  std::size_t chunk = 16384;
};
inline constexpr adamw_tuning default_adamw_tuning{};

}  // namespace rlft::cuda

namespace rlft::kernels {

struct adamw_tensor {
  float* values = nullptr;
  const float* gradients = nullptr;
  float* first = nullptr;
  float* second = nullptr;
  __nv_bfloat16* copy = nullptr;  // nullable
  std::size_t size = 0;
  std::size_t first_chunk = 0;  // Σ of the chunks of the tensors before it
  friend bool operator==(const adamw_tensor&, const adamw_tensor&) = default;
};

// ---------------------------------------------------------------------------------------------
// kernels

__global__ void __launch_bounds__(cuda::default_adamw_tuning.threads)
    adamw_step(const adamw_tensor* tensors, std::size_t count, detail::adamw_scalars scalars) {
  // The tensor whose chunks include this block's (the last one starting at or before it).
  std::size_t low = 0, high = count;
  while (high - low > 1) {
    const std::size_t middle = (low + high) / 2;
    if (tensors[middle].first_chunk <= blockIdx.x) low = middle;
    else high = middle;
  }
  const adamw_tensor tensor = tensors[low];
  constexpr auto tuning = cuda::default_adamw_tuning;
  const std::size_t begin = (blockIdx.x - tensor.first_chunk) * tuning.chunk;
  const std::size_t end = begin + tuning.chunk < tensor.size ? begin + tuning.chunk : tensor.size;
  for (std::size_t i = begin + threadIdx.x; i < end; i += tuning.threads) {
    float value = tensor.values[i], m = tensor.first[i], v = tensor.second[i];
    scalars.update(value, m, v, tensor.gradients[i]);
    tensor.values[i] = value;
    tensor.first[i] = m;
    tensor.second[i] = v;
    if (tensor.copy) tensor.copy[i] = __float2bfloat16_rn(value);
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// tensors: `count` descriptors in device memory, whose first_chunk fields count `chunks` in all.
inline void launch_adamw_step(const kernels::adamw_tensor* tensors, std::size_t count, std::size_t chunks,
                              const rlft::detail::adamw_scalars& scalars, cudaStream_t stream) {
  if (chunks == 0) return;
  if (chunks > 0x7fffffffu) throw error("cuda adamw: more than 2^31 chunks of parameters in one step");
  kernels::adamw_step<<<static_cast<unsigned>(chunks), default_adamw_tuning.threads, 0, stream>>>(tensors, count,
                                                                                                    scalars);
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
