// RLFT_CUDA_CHECK turns a failed CUDA call into rlft::cuda_error naming the call, the file and
// line, and the CUDA error. Needs no GPU: the failing status is produced directly.
#include <doctest/doctest.h>

#include <string>

#include "rlft/cuda/check.hpp"

TEST_CASE("RLFT_CUDA_CHECK passes success through and throws on failure with file and line") {
  CHECK_NOTHROW(RLFT_CUDA_CHECK(cudaSuccess));
  const int line = __LINE__ + 2;
  try {
    RLFT_CUDA_CHECK(cudaErrorInvalidValue);
    FAIL("RLFT_CUDA_CHECK did not throw");
  } catch (const rlft::cuda_error& e) {
    const std::string message = e.what();
    CHECK(e.status() == cudaErrorInvalidValue);
    CHECK(message.find("check_test.cu:" + std::to_string(line)) != std::string::npos);
    CHECK(message.find("cudaErrorInvalidValue") != std::string::npos);
    CHECK(message.find("RLFT_CUDA_CHECK") == std::string::npos);  // the expression, not the macro
    CHECK(message.find("cudaErrorInvalidValue failed") != std::string::npos);
  }
}

TEST_CASE("cuda_error is an rlft::error") {
  CHECK_THROWS_AS(RLFT_CUDA_CHECK(cudaErrorMemoryAllocation), rlft::error);
}
