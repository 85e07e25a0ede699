// Owning device arrays for the CUDA specialisations. Allocation and release are stream-ordered
// (cudaMallocAsync / cudaFreeAsync from the device's default memory pool): a temporary buffer
// of a launcher may go out of scope while its kernels are still queued, the pool hands the
// memory back only after them, and repeated calls reuse pooled memory instead of paying for
// cudaMalloc. Host-side interfaces pass device memory as std::span: the span carries the
// element count that the argument checks compare, and is never dereferenced on the host.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "rlft/cuda/check.hpp"

namespace rlft::cuda {

template <class T>
class device_buffer {
 public:
  device_buffer() = default;

  // `count` uninitialised elements, allocated in stream order on `stream`.
  device_buffer(std::size_t count, cudaStream_t stream) : size_(count), stream_(stream) {
    if (count != 0) RLFT_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&data_), count * sizeof(T), stream));
  }

  // A copy of `values` (host memory), enqueued on `stream`. The copy is pageable-memory
  // cudaMemcpyAsync, which returns once the source has been read: `values` may change after.
  device_buffer(std::span<const T> values, cudaStream_t stream) : device_buffer(values.size(), stream) {
    upload(values);
  }

  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), stream_(other.stream_) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      stream_ = other.stream_;
    }
    return *this;
  }
  ~device_buffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  cudaStream_t stream() const noexcept { return stream_; }
  std::span<T> span() noexcept { return {data_, size_}; }
  std::span<const T> span() const noexcept { return {data_, size_}; }

  void upload(std::span<const T> values) {
    if (values.size() != size_)
      throw error(rlft::detail::make_message("device_buffer: uploading ", values.size(), " values into ", size_));
    if (size_ != 0)
      RLFT_CUDA_CHECK(cudaMemcpyAsync(data_, values.data(), size_ * sizeof(T), cudaMemcpyHostToDevice, stream_));
  }

  // Enqueues zero bytes over the whole buffer.
  void clear() {
    if (size_ != 0) RLFT_CUDA_CHECK(cudaMemsetAsync(data_, 0, size_ * sizeof(T), stream_));
  }

  // A host copy; waits for the stream.
  std::vector<T> download() const { return download_span(span(), stream_); }

  // Device memory to host, waiting for `stream`.
  static std::vector<T> download_span(std::span<const T> values, cudaStream_t stream) {
    std::vector<T> host(values.size());
    if (!values.empty())
      RLFT_CUDA_CHECK(
          cudaMemcpyAsync(host.data(), values.data(), values.size() * sizeof(T), cudaMemcpyDeviceToHost, stream));
    RLFT_CUDA_CHECK(cudaStreamSynchronize(stream));
    return host;
  }

 private:
  void release() noexcept {
    // A failure here has no caller to report to; the pool reclaims the memory at exit.
    if (data_ != nullptr) static_cast<void>(cudaFreeAsync(data_, stream_));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  cudaStream_t stream_ = nullptr;
};

// Host copy of device memory (waits for `stream`).
template <class T>
std::vector<std::remove_const_t<T>> download(std::span<T> values, cudaStream_t stream) {
  return device_buffer<std::remove_const_t<T>>::download_span(values, stream);
}

}  // namespace rlft::cuda
