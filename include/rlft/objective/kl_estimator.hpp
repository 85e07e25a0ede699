// Per-token estimators of KL(π_θ ‖ π_ref) from one sample (Schulman, "Approximating KL
// Divergence", 2020), with δ = log π_ref(o_t) − log π_θ(o_t):
//   k1 = −δ                (unbiased, high variance, can be negative),
//   k2 = δ² / 2            (biased, low variance),
//   k3 = exp(δ) − δ − 1    (unbiased, low variance, never negative; DeepSeekMath,
//                           arXiv 2402.03300, eq. 4, as R1 uses it in the loss).
// Each comes with its derivative with respect to log π_θ, so the same functions serve a KL
// term in the loss (the objectives in rlft/objective/) and a KL penalty folded into the
// rewards (REINFORCE++, GAE), where log π_θ is the old policy's log-prob.
// The log-ratio δ is clamped to [−bound, bound] (default 20, as verl) before use: one token
// whose log-probs disagree by hundreds of nats would otherwise make exp(δ) overflow and the
// whole loss infinite. Outside the bound the term is constant, and its gradient is 0, the
// convention of torch.clamp (which passes the gradient at the bound itself).
// k3 is evaluated without cancellation: for |δ| < 1/2 exp(δ) − δ − 1 would lose all digits
// of a float to rounding (δ ~ 1e-3 is typical), so there δ²·Σ_{k>=2} δ^(k−2)/k! is summed to
// the type's precision, and the derivative is that polynomial's derivative.
#pragma once

#include <cmath>
#include <type_traits>

#include "rlft/core/error.hpp"
#include "rlft/core/fast_exp.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft {

enum class kl_estimator { k1, k2, k3 };

// A KL term: coefficient β, estimator, and the clamp on the log-ratio.
struct kl_penalty {
  double coefficient = 0.0;  // β; 0 switches the term off
  kl_estimator estimator = kl_estimator::k3;
  double log_ratio_bound = 20.0;
};

template <class Real>
struct kl_estimate {
  Real value = 0;
  Real derivative = 0;  // d value / d log π_θ
};

namespace detail {

// exp(δ) − δ − 1 and its derivative exp(δ) − 1, both accurate for small |δ|.
template <class Real>
RLFT_HOST_DEVICE inline kl_estimate<Real> exp_minus_one_minus_x(Real delta) noexcept {
  // Taylor terms k = 2..last: 1/k! below 1/2 has relative truncation error < 1e-8 for float at
  // last = 9 and < 1e-17 for double at last = 15.
  constexpr int last = sizeof(Real) == 4 ? 9 : 15;
  Real series = 0, derivative_series = 0;  // Σ δ^(k−2)/k!, Σ δ^(k−2)/(k−1)!
  Real factorial = 1;
  for (int k = 2; k <= last; ++k) factorial *= static_cast<Real>(k);
  for (int k = last; k >= 2; --k) {
    series = series * delta + Real(1) / factorial;
    derivative_series = derivative_series * delta + static_cast<Real>(k) / factorial;
    factorial /= static_cast<Real>(k);
  }
  // Polynomial derivative: Σ_{k=2..last} δ^(k−1)/(k−1)! = δ · Σ k δ^(k−2)/k!.
  const Real small_value = delta * delta * series, small_derivative = delta * derivative_series;
  const Real exponential = fast_exp(delta);
  const bool small = delta > Real(-0.5) && delta < Real(0.5);
  return {small ? small_value : exponential - delta - Real(1),
          small ? small_derivative : exponential - Real(1)};
}

}  // namespace detail

// The estimate for one token and its derivative with respect to logprob.
template <kl_estimator Estimator, class Real>
RLFT_HOST_DEVICE inline kl_estimate<Real> estimate_kl(Real logprob, Real ref_logprob, Real bound) noexcept {
  const Real raw = ref_logprob - logprob;
  const Real delta = raw < -bound ? -bound : (raw > bound ? bound : raw);
  const Real passes = raw >= -bound && raw <= bound ? Real(1) : Real(0);  // torch.clamp
  if constexpr (Estimator == kl_estimator::k1) {
    return {-delta, passes};
  } else if constexpr (Estimator == kl_estimator::k2) {
    return {delta * delta / Real(2), -delta * passes};
  } else {
    const auto k3 = detail::exp_minus_one_minus_x(delta);
    return {k3.value, -k3.derivative * passes};
  }
}

template <class Real>
RLFT_HOST_DEVICE inline kl_estimate<Real> estimate_kl(kl_estimator estimator, Real logprob, Real ref_logprob,
                                                      Real bound) noexcept {
  switch (estimator) {
    case kl_estimator::k1: return estimate_kl<kl_estimator::k1>(logprob, ref_logprob, bound);
    case kl_estimator::k2: return estimate_kl<kl_estimator::k2>(logprob, ref_logprob, bound);
    default: return estimate_kl<kl_estimator::k3>(logprob, ref_logprob, bound);
  }
}

// Calls f(std::integral_constant<kl_estimator, e>{}) for the runtime value e, so hot loops are
// compiled once per estimator instead of branching per token.
template <class F>
decltype(auto) with_kl_estimator(kl_estimator estimator, F&& f) {
  switch (estimator) {
    case kl_estimator::k1: return f(std::integral_constant<kl_estimator, kl_estimator::k1>{});
    case kl_estimator::k2: return f(std::integral_constant<kl_estimator, kl_estimator::k2>{});
    default: return f(std::integral_constant<kl_estimator, kl_estimator::k3>{});
  }
}

namespace detail {

// Throws rlft::error unless β >= 0 and the bound > 0, both finite. `owner` names the caller.
inline void check_kl_penalty(const kl_penalty& kl, const char* owner) {
  if (!(std::isfinite(kl.coefficient) && kl.coefficient >= 0.0))
    throw error(make_message(owner, ": option kl.coefficient = ", kl.coefficient,
                             " is out of range (finite and >= 0)"));
  if (!(std::isfinite(kl.log_ratio_bound) && kl.log_ratio_bound > 0.0))
    throw error(make_message(owner, ": option kl.log_ratio_bound = ", kl.log_ratio_bound,
                             " is out of range (finite and > 0)"));
  if (kl.estimator != kl_estimator::k1 && kl.estimator != kl_estimator::k2 && kl.estimator != kl_estimator::k3)
    throw error(make_message(owner, ": option kl.estimator is not k1, k2 or k3"));
}

}  // namespace detail
}  // namespace rlft
