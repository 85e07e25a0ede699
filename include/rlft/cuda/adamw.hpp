// AdamW on the device, fused over all parameters: rlft::adamw's update (options, bias
// correction, decoupled decay, the same float arithmetic per element) applied to every tensor in
// one launch (kernels/rlft/adamw.cuh), writing a bf16 copy of each updated weight for the
// forward pass where the parameter has one. Master weights, gradients and moments are float.
//
//   rlft::cuda::fused_adamw optimizer({.weight_decay = 0.1f});
//   optimizer.step(parameters, learning_rate, stream);   // parameters: device_parameter spans
//
// The moments are allocated (zeroed) at the first step, one pair per parameter, in the order
// given; every later step must pass the same parameters, sizes and order, as with rlft::adamw
// (same errors, found before anything is updated). Against rlft::adamw on the same values the weights agree to a few ulps (fused
// multiply-adds may round differently) and the bf16 copies are the weights rounded to nearest
// even.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/adamw.cuh"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/optim/adamw.hpp"

namespace rlft::cuda {

struct device_parameter {
  std::string_view name = {};
  std::span<float> values = {};               // float master weights (device)
  std::span<const float> gradients = {};      // (device)
  std::span<__nv_bfloat16> bf16_copy = {};    // the weights for the forward pass (device), or empty
};

class fused_adamw {
 public:
  // Throws rlft::error for options rlft::adamw rejects.
  explicit fused_adamw(adamw_options options = {}) : options_(options) { rlft::detail::check_adamw_options(options); }

  // One update of every parameter with learning rate η, enqueued on `stream`. Throws
  // rlft::error (before enqueueing anything) for η negative or not finite, parameters that
  // differ in number or size from the first step's, and a bf16 copy of another size.
  void step(std::span<const device_parameter> parameters, float learning_rate, cudaStream_t stream) {
    rlft::detail::check_learning_rate(learning_rate);
    std::vector<kernels::adamw_tensor> tensors;
    std::size_t chunks = 0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const auto& parameter = parameters[i];
      if (steps_ > 0 && i == moments_.size()) rlft::detail::throw_late_parameter(parameter.name);
      const std::size_t size = parameter.values.size();
      const std::size_t moments = i < moments_.size() ? moments_[i].first.size() : size;
      rlft::detail::check_parameter_sizes(parameter.name, size, parameter.gradients.size(), moments);
      if (!parameter.bf16_copy.empty() && parameter.bf16_copy.size() != size)
        throw error(rlft::detail::make_message("adamw: parameter '", parameter.name, "' has ", size,
                                               " values but a bf16 copy of ", parameter.bf16_copy.size()));
      tensors.push_back({.values = parameter.values.data(),
                         .gradients = parameter.gradients.data(),
                         .copy = parameter.bf16_copy.empty() ? nullptr : parameter.bf16_copy.data(),
                         .size = size,
                         .first_chunk = chunks});
      chunks += (size + default_adamw_tuning.chunk - 1) / default_adamw_tuning.chunk;
    }
    if (steps_ > 0) rlft::detail::check_parameter_count(parameters.size(), moments_.size());
    for (std::size_t i = moments_.size(); i < parameters.size(); ++i) {
      moment_buffers buffers{device_buffer<float>(parameters[i].values.size(), stream),
                             device_buffer<float>(parameters[i].values.size(), stream)};
      buffers.first.clear();
      buffers.second.clear();
      moments_.push_back(std::move(buffers));
    }
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      tensors[i].first = moments_[i].first.data();
      tensors[i].second = moments_[i].second.data();
    }
    // A training loop passes the same tensors on the same stream every step: their table is
    // uploaded once (and again on another stream, which then owns it and frees it in order).
    if (tensors != table_on_host_ || stream != table_.stream()) {
      table_ = device_buffer<kernels::adamw_tensor>(tensors, stream);
      table_on_host_ = std::move(tensors);
    }
    ++steps_;
    launch_adamw_step(table_.data(), table_on_host_.size(), chunks,
                      rlft::detail::adamw_scalars(options_, steps_, learning_rate), stream);
  }

  std::size_t steps() const noexcept { return steps_; }
  const adamw_options& options() const noexcept { return options_; }

 private:
  struct moment_buffers {
    device_buffer<float> first;
    device_buffer<float> second;
  };
  adamw_options options_;
  std::size_t steps_ = 0;
  std::vector<moment_buffers> moments_;
  std::vector<kernels::adamw_tensor> table_on_host_;  // what table_ holds
  device_buffer<kernels::adamw_tensor> table_;
};

}  // namespace rlft::cuda
