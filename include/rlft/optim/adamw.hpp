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
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"

namespace rlft {

struct adamw_options {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.01f;
};

class adamw {
 public:
  // Throws rlft::error unless 0 ≤ β1, β2 < 1, ε > 0 and the weight decay is ≥ 0.
  explicit adamw(adamw_options options = {}) : options_(options) {
    if (!(options.beta1 >= 0.0f && options.beta1 < 1.0f) || !(options.beta2 >= 0.0f && options.beta2 < 1.0f))
      throw error(detail::make_message("adamw: betas must lie in [0, 1), got ", options.beta1, " and ", options.beta2));
    if (!(options.epsilon > 0.0f)) throw error(detail::make_message("adamw: epsilon must be positive, got ", options.epsilon));
    if (!(options.weight_decay >= 0.0f))
      throw error(detail::make_message("adamw: weight decay must be non-negative, got ", options.weight_decay));
  }

  // One update of every parameter with learning rate η. Throws rlft::error if the parameters
  // differ in number or size from the first step's, or η is negative or not finite.
  template <std::ranges::input_range Parameters>
    requires std::convertible_to<std::ranges::range_value_t<Parameters>, parameter_ref>
  void step(Parameters&& parameters, float learning_rate) {
    if (!(learning_rate >= 0.0f) || !std::isfinite(learning_rate))
      throw error(detail::make_message("adamw: learning rate must be finite and non-negative, got ", learning_rate));
    ++steps_;
    // Scalars in double, per-element arithmetic in float, as PyTorch does.
    const double step = static_cast<double>(steps_);
    const auto step_size = static_cast<float>(learning_rate / (1.0 - std::pow(double{options_.beta1}, step)));
    const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(double{options_.beta2}, step)));
    const auto decay = static_cast<float>(1.0 - double{learning_rate} * options_.weight_decay);
    const float first_weight = 1.0f - options_.beta1;
    const float second_weight = 1.0f - options_.beta2;

    std::size_t index = 0;
    for (const parameter_ref parameter : parameters) {
      if (index == moments_.size()) {
        if (steps_ > 1) throw error(detail::make_message("adamw: parameter '", parameter.name, "' appeared after the first step"));
        moments_.push_back({std::vector<float>(parameter.values.size(), 0.0f), std::vector<float>(parameter.values.size(), 0.0f)});
      }
      auto& [first, second] = moments_[index];
      if (first.size() != parameter.values.size() || parameter.gradients.size() != parameter.values.size())
        throw error(detail::make_message("adamw: parameter '", parameter.name, "' has ", parameter.values.size(),
                                         " values and ", parameter.gradients.size(), " gradients; its moments hold ",
                                         first.size()));
      float* values = parameter.values.data();
      const float* gradients = parameter.gradients.data();
      const auto count = static_cast<std::ptrdiff_t>(parameter.values.size());
#pragma omp parallel for schedule(static) if (count > 32768)
      for (std::ptrdiff_t i = 0; i < count; ++i) {
        const float g = gradients[i];
        float& m = first[static_cast<std::size_t>(i)];
        float& v = second[static_cast<std::size_t>(i)];
        values[i] *= decay;
        m += first_weight * (g - m);  // torch's lerp form of β1·m + (1 − β1)·g
        v = options_.beta2 * v + second_weight * (g * g);
        const float denominator = std::sqrt(v) / bias_correction2_sqrt + options_.epsilon;
        values[i] -= step_size * m / denominator;
      }
      ++index;
    }
    if (index != moments_.size())
      throw error(detail::make_message("adamw: ", index, " parameters given, but the optimizer tracks ", moments_.size()));
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
