// Marks functions that run on both the CPU and a CUDA device. Plain C++ compilers see
// nothing; nvcc sees __host__ __device__, so the same source (Philox, per-token formulas)
// serves the CPU path and the kernels in kernels/rlft/.
#pragma once

#if defined(__CUDACC__)
#define RLFT_HOST_DEVICE __host__ __device__
#else
#define RLFT_HOST_DEVICE
#endif
