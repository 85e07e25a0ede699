// The CUDA side of the find_package consumer: rlft::cuda brings kernels/, CCCL and the CUDA
// runtime. Without a GPU it only proves that everything compiles and links.
#include <rlft/cuda/check.hpp>
#include <rlft/philox.cuh>

#include <cstdio>
#include <vector>

#include <thrust/device_vector.h>

int main() {
  if (!rlft::cuda_device_available()) {
    std::printf("rlft::cuda consumer: built; no CUDA device to run on\n");
    return 0;
  }
  thrust::device_vector<float> device(10);
  rlft::cuda::fill_uniform(thrust::raw_pointer_cast(device.data()), device.size(), 1, 2, 3, nullptr);
  std::vector<float> expected(device.size());
  rlft::fill_uniform(expected, 1, 2, 3);
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (device[i] != expected[i]) return 1;
  std::printf("rlft::cuda consumer: ok\n");
  return 0;
}
