// The device Philox fill against the CPU reference: bitwise equal for every length, including
// partial last blocks, and for non-zero stream and counter.
#include <doctest/doctest.h>

#include <vector>

#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include "rlft/philox.cuh"

TEST_CASE("cuda::fill_uniform rejects misaligned output before launching") {
  CHECK_THROWS_WITH_AS(rlft::cuda::fill_uniform(reinterpret_cast<float*>(4), 8, 0, 0, 0, nullptr),
                       doctest::Contains("16-byte aligned"), rlft::error);
}

TEST_SUITE("gpu") {
  TEST_CASE("cuda::fill_uniform equals rlft::fill_uniform bitwise") {
    for (const std::size_t n : {1u, 3u, 4u, 7u, 1000u, 1u << 20}) {
      thrust::device_vector<float> device(n);
      rlft::cuda::fill_uniform(thrust::raw_pointer_cast(device.data()), n, 1234, 5, 6, nullptr);
      RLFT_CUDA_CHECK(cudaDeviceSynchronize());
      const thrust::host_vector<float> from_device = device;
      std::vector<float> expected(n);
      rlft::fill_uniform(expected, 1234, 5, 6);
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < n; ++i) mismatches += from_device[i] != expected[i];
      CHECK_MESSAGE(mismatches == 0, "n = ", n);
    }
  }
}
