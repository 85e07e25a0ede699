// Runner of the CUDA tests. Test cases that need a GPU live in the doctest suite "gpu".
//   rlft_cuda_tests              runs everything but the "gpu" suite (no device needed);
//   rlft_cuda_tests --gpu-only   runs the "gpu" suite, or exits with 77 (CTest: skipped)
//                                when no CUDA device is usable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "rlft/cuda/check.hpp"

int main(int argc, char** argv) {
  bool gpu_only = false;
  for (int i = 1; i < argc; ++i) gpu_only = gpu_only || std::strcmp(argv[i], "--gpu-only") == 0;
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  if (gpu_only) {
    if (!rlft::cuda_device_available()) {
      std::printf("no CUDA device: GPU tests skipped\n");
      return 77;
    }
    context.addFilter("test-suite", "gpu");
  } else {
    context.addFilter("test-suite-exclude", "gpu");
  }
  return context.run();
}
