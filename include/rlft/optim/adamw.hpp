// AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019, Algorithm 2; Adam's bias correction from Kingma and Ba, ICLR 2015,
// Algorithm 1). For each parameter θ with gradient g at step t (counting from 1):
//   θ ← θ − η·λ·θ                                   (decay, not part of the gradient)
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   θ ← θ − η · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
// the order and arithmetic of torch.optim.AdamW, so a step matches PyTorch to rounding. It works
// on any range of rlft::parameter_ref; the moment buffers follow the range's order and sizes,
// which must stay the same from step to step.
#pragma once

#include <cmath>
#include <cstddef>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {

struct adamw_options {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.01f;
};

namespace detail {

inline void check_adamw_options(const adamw_options& options) {
  check_option(options.beta1 >= 0.0f && options.beta1 < 1.0f, "adamw", "beta1", options.beta1, "in [0, 1)");
  check_option(options.beta2 >= 0.0f && options.beta2 < 1.0f, "adamw", "beta2", options.beta2, "in [0, 1)");
  check_option(options.epsilon > 0.0f && std::isfinite(options.epsilon), "adamw", "epsilon", options.epsilon,
               "finite and > 0");
  check_option(options.weight_decay >= 0.0f && std::isfinite(options.weight_decay), "adamw", "weight_decay",
               options.weight_decay, "finite and >= 0");
}

inline void check_learning_rate(float learning_rate) {
  check_option(learning_rate >= 0.0f && std::isfinite(learning_rate), "adamw", "learning rate", learning_rate,
               "finite and >= 0");
}

[[noreturn]] inline void throw_late_parameter(std::string_view name) {
  throw error(make_message("adamw: parameter '", name, "' appeared after the first step"));
}

inline void check_parameter_sizes(std::string_view name, std::size_t values, std::size_t gradients,
                                  std::size_t moments) {
  if (moments != values || gradients != values)
    throw error(make_message("adamw: parameter '", name, "' has ", values, " values and ", gradients,
                             " gradients; its moments hold ", moments));
}

inline void check_parameter_count(std::size_t given, std::size_t tracked) {
  if (given != tracked)
    throw error(make_message("adamw: ", given, " parameters given, but the optimizer tracks ", tracked));
}

// The per-step constants of update t (from 1), in double and rounded to float, as PyTorch does,
// and the per-element update in float (shared with the CUDA AdamW).
struct adamw_scalars {
  float step_size = 0.0f;
  float bias_correction2_sqrt = 0.0f;
  float decay = 0.0f;
  float first_weight = 0.0f;
  float beta2 = 0.0f;
  float second_weight = 0.0f;
  float epsilon = 0.0f;

  adamw_scalars(const adamw_options& options, std::size_t steps, float learning_rate)
      : step_size(static_cast<float>(learning_rate /
                                     (1.0 - std::pow(double{options.beta1}, static_cast<double>(steps))))),
        bias_correction2_sqrt(
            static_cast<float>(std::sqrt(1.0 - std::pow(double{options.beta2}, static_cast<double>(steps))))),
        decay(static_cast<float>(1.0 - double{learning_rate} * options.weight_decay)),
        first_weight(1.0f - options.beta1),
        beta2(options.beta2),
        second_weight(1.0f - options.beta2),
        epsilon(options.epsilon) {}

  RLFT_HOST_DEVICE void update(float& value, float& m, float& v, float g) const {
    value *= decay;
    m += first_weight * (g - m);  // torch's lerp form of β1·m + (1 − β1)·g
    v = beta2 * v + second_weight * (g * g);
    const float denominator = std::sqrt(v) / bias_correction2_sqrt + epsilon;
    value -= step_size * m / denominator;
  }
};

}  // namespace detail

class adamw {
 public:
  // Throws rlft::error unless 0 ≤ β1, β2 < 1, ε > 0 and the weight decay is ≥ 0.
  explicit adamw(adamw_options options = {}) : options_(options) { detail::check_adamw_options(options); }

  // One update of every parameter with learning rate η. Throws rlft::error if the parameters
  // differ in number or size from the first step's, or η is negative or not finite.
  template <std::ranges::input_range Parameters>
    requires std::convertible_to<std::ranges::range_value_t<Parameters>, parameter_ref>
  void step(Parameters&& parameters, float learning_rate) {
    detail::check_learning_rate(learning_rate);
    ++steps_;
    const detail::adamw_scalars scalars(options_, steps_, learning_rate);

    std::size_t index = 0;
    for (const parameter_ref parameter : parameters) {
      if (index == moments_.size()) {
        if (steps_ > 1) detail::throw_late_parameter(parameter.name);
        moments_.push_back({std::vector<float>(parameter.values.size(), 0.0f), std::vector<float>(parameter.values.size(), 0.0f)});
      }
      auto& [first_moment, second_moment] = moments_[index];
      detail::check_parameter_sizes(parameter.name, parameter.values.size(), parameter.gradients.size(),
                                    first_moment.size());
      float* first = first_moment.data();  // plain pointers: the parallel region cannot capture bindings
      float* second = second_moment.data();
      float* values = parameter.values.data();
      const float* gradients = parameter.gradients.data();
      const auto count = static_cast<std::ptrdiff_t>(parameter.values.size());
      RLFT_OMP(parallel for schedule(static) if (count > 32768))
      for (std::ptrdiff_t i = 0; i < count; ++i)
        scalars.update(values[i], first[i], second[i], gradients[i]);
      ++index;
    }
    detail::check_parameter_count(index, moments_.size());
  }

  std::size_t steps() const noexcept { return steps_; }
  const adamw_options& options() const noexcept { return options_; }

  // Everything a checkpoint needs to continue exactly: the step count (bias correction) and
  // both moments of every parameter, in the order of the parameter range.
  struct state {
    std::size_t steps = 0;
    std::vector<std::vector<float>> first_moments = {};
    std::vector<std::vector<float>> second_moments = {};
  };

  state save_state() const {
    state saved{.steps = steps_};
    for (const auto& [first, second] : moments_) {
      saved.first_moments.push_back(first);
      saved.second_moments.push_back(second);
    }
    return saved;
  }

  // Throws rlft::error when the two moment lists differ in length or shape; the sizes are
  // checked against the parameters at the next step.
  void load_state(state saved) {
    if (saved.first_moments.size() != saved.second_moments.size())
      throw error(detail::make_message("adamw: state has ", saved.first_moments.size(), " first and ",
                                       saved.second_moments.size(), " second moments"));
    std::vector<moment_buffers> moments;
    for (std::size_t i = 0; i < saved.first_moments.size(); ++i) {
      if (saved.first_moments[i].size() != saved.second_moments[i].size())
        throw error(detail::make_message("adamw: moments of parameter ", i, " differ in size"));
      moments.push_back({std::move(saved.first_moments[i]), std::move(saved.second_moments[i])});
    }
    moments_ = std::move(moments);
    steps_ = saved.steps;
  }

 private:
  struct moment_buffers {
    std::vector<float> first;
    std::vector<float> second;
  };
  adamw_options options_;
  std::size_t steps_ = 0;
  std::vector<moment_buffers> moments_;
};

}  // namespace rlft
