// Matrix products through cuBLASLt for the CUDA back-end: 16-bit inputs, float accumulation
// and float output (D = op(A)·op(B) + β·D, column-major as cuBLAS sees memory). Descriptors and
// the heuristic's algorithm are made once per shape and kept (a chunked loop issues the same few
// shapes many times, and the heuristic query costs tens of microseconds of CPU time each).
// Failures throw rlft::cuda::cublas_error (an rlft::error) naming the call and the cuBLAS status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "rlft/core/error.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/device_buffer.hpp"

namespace rlft::cuda {

class cublas_error : public error {
 public:
  cublas_error(cublasStatus_t status, const std::string& message) : error(message), status_(status) {}
  cublasStatus_t status() const noexcept { return status_; }

 private:
  cublasStatus_t status_;
};

namespace detail {

inline void check_cublas(cublasStatus_t status, const char* expression, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw cublas_error(status, rlft::detail::make_message(file, ":", line, ": ", expression, " failed: ",
                                                        cublasLtGetStatusName(status)));
}

}  // namespace detail
}  // namespace rlft::cuda

#define RLFT_CUBLAS_CHECK(expression) \
  ::rlft::cuda::detail::check_cublas((expression), #expression, __FILE__, __LINE__)

namespace rlft::cuda::detail {

struct matmul_shape {
  cublasOperation_t transpose_a = CUBLAS_OP_N;
  cublasOperation_t transpose_b = CUBLAS_OP_N;
  std::int64_t m = 0;  // rows of op(A) and D
  std::int64_t n = 0;  // columns of op(B) and D
  std::int64_t k = 0;
  std::int64_t lda = 0;
  std::int64_t ldb = 0;
  std::int64_t ldd = 0;
  friend bool operator==(const matmul_shape&, const matmul_shape&) = default;
};

class matmul_runner {
 public:
  // input_type: CUDA_R_16BF or CUDA_R_16F. sm_count_target: SMs the kernels should use, 0 for
  // all (fewer leave room for kernels on another stream).
  matmul_runner(cudaDataType_t input_type, std::size_t workspace_bytes, int sm_count_target, cudaStream_t stream)
      : input_type_(input_type), sm_count_target_(sm_count_target), workspace_(workspace_bytes, stream) {
    RLFT_CUBLAS_CHECK(cublasLtCreate(&handle_));
  }
  matmul_runner(const matmul_runner&) = delete;
  matmul_runner& operator=(const matmul_runner&) = delete;
  ~matmul_runner() {
    for (auto& plan : plans_) plan.release();
    static_cast<void>(cublasLtDestroy(handle_));
  }

  // D = op(A)·op(B) + beta·D on `stream`.
  void run(const matmul_shape& shape, const void* a, const void* b, float* d, float beta, cudaStream_t stream) {
    const plan& p = plan_for(shape);
    const float alpha = 1.0f;
    RLFT_CUBLAS_CHECK(cublasLtMatmul(handle_, p.operation, &alpha, a, p.layout_a, b, p.layout_b, &beta, d, p.layout_d,
                                     d, p.layout_d, &p.algorithm, workspace_.data(), workspace_.size(), stream));
  }

 private:
  struct plan {
    matmul_shape shape;
    cublasLtMatmulDesc_t operation = nullptr;
    cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_d = nullptr;
    cublasLtMatmulAlgo_t algorithm = {};
    void release() noexcept {
      if (layout_d) static_cast<void>(cublasLtMatrixLayoutDestroy(layout_d));
      if (layout_b) static_cast<void>(cublasLtMatrixLayoutDestroy(layout_b));
      if (layout_a) static_cast<void>(cublasLtMatrixLayoutDestroy(layout_a));
      if (operation) static_cast<void>(cublasLtMatmulDescDestroy(operation));
    }
  };

  // The kept plan of `shape`, made on first use; a plan whose making fails is not kept.
  const plan& plan_for(const matmul_shape& shape) {
    for (const auto& p : plans_)
      if (p.shape == shape) return p;
    plans_.reserve(plans_.size() + 1);  // so that keeping the plan cannot throw
    plan p{.shape = shape};
    try {
      make(p);
    } catch (...) {
      p.release();
      throw;
    }
    plans_.push_back(p);
    return plans_.back();
  }

  void make(plan& p) {
    const matmul_shape& shape = p.shape;
    RLFT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.operation, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    RLFT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.operation, CUBLASLT_MATMUL_DESC_TRANSA, &shape.transpose_a,
                                                     sizeof shape.transpose_a));
    RLFT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.operation, CUBLASLT_MATMUL_DESC_TRANSB, &shape.transpose_b,
                                                     sizeof shape.transpose_b));
    if (sm_count_target_ > 0)
      RLFT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.operation, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET,
                                                       &sm_count_target_, sizeof sm_count_target_));
    const bool a_transposed = shape.transpose_a != CUBLAS_OP_N, b_transposed = shape.transpose_b != CUBLAS_OP_N;
    const auto rows = [](std::int64_t r) { return static_cast<std::uint64_t>(r); };
    RLFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.layout_a, input_type_, rows(a_transposed ? shape.k : shape.m),
                                                 rows(a_transposed ? shape.m : shape.k), shape.lda));
    RLFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.layout_b, input_type_, rows(b_transposed ? shape.n : shape.k),
                                                 rows(b_transposed ? shape.k : shape.n), shape.ldb));
    RLFT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.layout_d, CUDA_R_32F, rows(shape.m), rows(shape.n), shape.ldd));
    cublasLtMatmulPreference_t preference = nullptr;
    RLFT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const std::size_t workspace = workspace_.size();
    cublasLtMatmulHeuristicResult_t result = {};
    int found = 0;
    const cublasStatus_t status = [&] {
      const cublasStatus_t set = cublasLtMatmulPreferenceSetAttribute(
          preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
      if (set != CUBLAS_STATUS_SUCCESS) return set;
      return cublasLtMatmulAlgoGetHeuristic(handle_, p.operation, p.layout_a, p.layout_b, p.layout_d, p.layout_d,
                                            preference, 1, &result, &found);
    }();
    static_cast<void>(cublasLtMatmulPreferenceDestroy(preference));
    RLFT_CUBLAS_CHECK(status);
    if (found == 0)
      throw error(rlft::detail::make_message("cuBLASLt has no algorithm for a ", shape.m, " x ", shape.n, " x ",
                                             shape.k, " product of 16-bit matrices with float output"));
    p.algorithm = result.algo;
  }

  cudaDataType_t input_type_;
  int sm_count_target_;
  device_buffer<std::byte> workspace_;
  cublasLtHandle_t handle_ = nullptr;
  std::vector<plan> plans_;  // a chunked loop has a handful of shapes: a linear search suffices
};

}  // namespace rlft::cuda::detail
