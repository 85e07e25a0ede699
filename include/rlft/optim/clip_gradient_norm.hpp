// Global-norm gradient clipping (Pascanu, Mikolov and Bengio, "On the difficulty of training
// recurrent neural networks", ICML 2013, Algorithm 1), as torch.nn.utils.clip_grad_norm_: the
// L2 norm over all gradients of all parameters together; if it exceeds `max_norm`, every
// gradient is scaled by max_norm / (norm + 1e-6). The norm is accumulated in double, so it does
// not depend on how many parameters or threads there are.
#pragma once

#include <cmath>
#include <cstddef>
#include <ranges>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"

namespace rlft {

// The global L2 norm of the gradients. Throws rlft::data_error naming the first parameter whose
// gradient is not finite (clipping would hide a diverged step).
template <std::ranges::input_range Parameters>
  requires std::convertible_to<std::ranges::range_value_t<Parameters>, parameter_ref>
double gradient_norm(Parameters&& parameters) {
  double sum_of_squares = 0.0;
  for (const parameter_ref parameter : parameters) {
    double own = 0.0;
    for (const float g : parameter.gradients) own += static_cast<double>(g) * g;
    if (!std::isfinite(own))
      throw data_error(detail::make_message("gradient of parameter '", parameter.name, "' is not finite"));
    sum_of_squares += own;
  }
  return std::sqrt(sum_of_squares);
}

// Scales the gradients down to global norm `max_norm` when they exceed it; returns the norm
// before clipping. Throws rlft::error for max_norm ≤ 0, rlft::data_error for a non-finite gradient.
template <std::ranges::forward_range Parameters>
  requires std::convertible_to<std::ranges::range_value_t<Parameters>, parameter_ref>
double clip_gradient_norm(Parameters&& parameters, double max_norm) {
  detail::check_option(max_norm > 0.0, "clip_gradient_norm", "max_norm", max_norm, "> 0");
  const double norm = gradient_norm(parameters);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0)
    for (const parameter_ref parameter : parameters)
      for (float& g : parameter.gradients) g = static_cast<float>(g * scale);
  return norm;
}

}  // namespace rlft
