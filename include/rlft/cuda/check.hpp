// Checks the status of CUDA runtime calls and kernel launches. A failure throws
// rlft::cuda_error whose message holds the failing expression, the file and line, and the
// CUDA error name and description.
#pragma once

#include <cuda_runtime_api.h>

#include "rlft/core/error.hpp"

namespace rlft {

class cuda_error : public error {
 public:
  cuda_error(cudaError_t status, const std::string& message) : error(message), status_(status) {}
  cudaError_t status() const noexcept { return status_; }

 private:
  cudaError_t status_;
};

namespace detail {

inline void check_cuda(cudaError_t status, const char* expression, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw cuda_error(status, make_message(file, ":", line, ": ", expression, " failed: ",
                                        cudaGetErrorName(status), " (",
                                        cudaGetErrorString(status), ")"));
}

}  // namespace detail

// True when at least one CUDA device is usable (false without a driver or a GPU).
inline bool cuda_device_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // clear the error so later calls start clean
    return false;
  }
  return count > 0;
}

}  // namespace rlft

#define RLFT_CUDA_CHECK(expression) \
  ::rlft::detail::check_cuda((expression), #expression, __FILE__, __LINE__)

// After a kernel launch: reports bad launch configurations at the launch site.
#define RLFT_CUDA_CHECK_LAUNCH() RLFT_CUDA_CHECK(cudaGetLastError())
