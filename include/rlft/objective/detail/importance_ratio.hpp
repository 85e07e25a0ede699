// The importance ratio r = exp(log π_θ − log π_old) with its log clamped to ±bound, and the
// clamp's derivative (torch.clamp: 1 inside the closed interval, 0 outside). The objectives'
// policy terms and the importance-weighted KL term (rlft/objective/kl_estimator.hpp) share it.
#pragma once

#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"

namespace rlft::detail {

// An infinite log-ratio (an infinite log-prob) is not clamped but becomes NaN, as x − x does,
// so the loss is not finite and the objective names the input.
template <class Value>
struct bounded_ratio {
  Value ratio{};
  Value passes{};
};

template <class Value>
RLFT_HOST_DEVICE RLFT_INLINE bounded_ratio<Value> importance_ratio(Value log_ratio, Value bound) noexcept {
  Value clamped = select<Value>(log_ratio < -bound, -bound, log_ratio);
  clamped = select<Value>(clamped > bound, bound, clamped) + (log_ratio - log_ratio);
  return {fast_exp(clamped), to_real<Value>(mask_and<Value>(log_ratio >= -bound, log_ratio <= bound))};
}

}  // namespace rlft::detail
