// Per-token estimators of KL(π_θ ‖ π_ref) from one sample (Schulman, "Approximating KL
// Divergence", 2020), with δ = log π_ref(o_t) − log π_θ(o_t):
//   k1 = −δ                (unbiased, high variance, can be negative; verl's "kl"),
//   k2 = δ² / 2            (biased, low variance; verl's "mse"),
//   k3 = exp(δ) − δ − 1    (unbiased, low variance, never negative; DeepSeekMath,
//                           arXiv 2402.03300, eq. 4, as R1 uses it in the loss; with the
//                           default value bound, verl's "low_var_kl"),
//   abs = |δ|              (verl's "abs"; its derivative is 0 at δ = 0),
//   k3_plus                (k3's value with k2's gradient, −δ: verl's "k3+", the straight-through
//                           form whose gradient is an unbiased estimate of the KL's gradient).
// With importance_weighted, the term in the loss is r_t·k, r_t = π_θ(o_t)/π_old(o_t) (its
// log clamped like δ), differentiated through both factors: TRL's use_bias_correction_kl,
// which makes the estimate unbiased for samples drawn from π_old.
// Each comes with its derivative with respect to log π_θ, so the same functions serve a KL
// term in the loss (the objectives in rlft/objective/) and a KL penalty folded into the
// rewards (REINFORCE++, GAE), where log π_θ is the old policy's log-prob.
// The log-ratio δ is clamped to [−bound, bound] (default 20, as verl; at most 80) before use:
// one token whose log-probs disagree by hundreds of nats would otherwise make exp(δ) overflow
// and the whole loss infinite. Even within it k3 grows like exp(δ) — e^20 ≈ 5e8 at the default
// — so one token could swamp the loss: every estimator's value is clamped to
// [−value_bound, value_bound] too (default 10, as OpenRLHF clamps every estimator and verl its
// low_var_kl; 0 for none, as verl's k1, abs and mse). Outside either bound the term is
// constant, and its gradient is 0, the convention of torch.clamp (which passes the gradient at
// the bound itself); k3_plus's gradient, k2's of the unclamped δ, ignores both bounds as verl's
// straight-through form does. An infinite δ (an infinite log-prob) is not clamped but gives
// NaN, so the caller reports the input.
// k3 is evaluated without cancellation: for |δ| < 1/2 exp(δ) − δ − 1 would lose all digits
// of a float to rounding (δ ~ 1e-3 is typical), so there δ²·Σ_{k>=2} δ^(k−2)/k! is summed to
// the type's precision, and the derivative is that polynomial's derivative.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/detail/importance_ratio.hpp"

namespace rlft {

enum class kl_estimator { k1, k2, k3, abs, k3_plus };

// A KL term: coefficient β, estimator, and the clamps on the log-ratio and on k3's value.
struct kl_penalty {
  double coefficient = 0.0;  // β; 0 switches the term off
  kl_estimator estimator = kl_estimator::k3;
  double log_ratio_bound = 20.0;
  double value_bound = 10.0;  // |estimate| <= value_bound; 0: unbounded
  bool importance_weighted = false;  // a KL term in the loss only: r_t·KL_t (TRL's use_bias_correction_kl)
};

// Real is a scalar or a float pack (rlft/core/simd.hpp): the same code runs per token or per
// pack of tokens.
template <class Real>
struct kl_estimate {
  Real value{};
  Real derivative{};  // d value / d log π_θ
};

namespace detail {

// The last Taylor term k of exp_minus_one_minus_x's series: below 1/2 the relative truncation
// error is < 1e-8 for float at 9 and < 1e-17 for double at 15.
template <class Scalar>
inline constexpr int exp_series_last = sizeof(Scalar) == 4 ? 9 : 15;

// exp(δ) − δ − 1 and its derivative exp(δ) − 1, both accurate for small |δ|.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE kl_estimate<Real> exp_minus_one_minus_x(Real delta) noexcept {
  using Scalar = scalar_of<Real>;
  constexpr auto coefficients = [] {
    constexpr int last = exp_series_last<Scalar>;  // not captured from outside: clang 14 refuses that
    struct {
      Scalar value[last - 1];       // 1/k!, k = 2..last: Σ value[j]·δ^j = (exp(δ) − 1 − δ)/δ²
      Scalar derivative[last - 1];  // k/k!: Σ derivative[j]·δ^j = (exp(δ) − 1)/δ, to order last − 1
    } series{};
    Scalar factorial = 1;
    for (int k = 2; k <= last; ++k) {
      factorial *= static_cast<Scalar>(k);
      series.value[k - 2] = Scalar(1) / factorial;
      series.derivative[k - 2] = static_cast<Scalar>(k) / factorial;
    }
    return series;
  }();
  const Real series = evaluate_polynomial(delta, coefficients.value);
  const Real derivative_series = evaluate_polynomial(delta, coefficients.derivative);
  // Polynomial derivative: Σ_{k=2..last} δ^(k−1)/(k−1)! = δ · Σ k δ^(k−2)/k!.
  const Real small_value = delta * delta * series, small_derivative = delta * derivative_series;
  const Real exponential = fast_exp(delta);
  const mask_of<Real> small = mask_and<Real>(delta > splat<Real>(Scalar(-0.5)), delta < splat<Real>(Scalar(0.5)));
  return {select<Real>(small, small_value, exponential - delta - Scalar(1)),
          select<Real>(small, small_derivative, exponential - Scalar(1))};
}

}  // namespace detail

// The estimate for one token (or a pack of tokens) and its derivative with respect to logprob;
// value_bound clamps k3 (pass infinity for none: kl_value_bound() does).
template <kl_estimator Estimator, class Real>
RLFT_HOST_DEVICE RLFT_INLINE kl_estimate<Real> estimate_kl(Real logprob, Real ref_logprob, Real log_ratio_bound,
                                                          Real value_bound) noexcept {
  using detail::select;
  const Real raw = ref_logprob - logprob;
  Real delta = select<Real>(raw < -log_ratio_bound, -log_ratio_bound, raw);
  delta = select<Real>(delta > log_ratio_bound, log_ratio_bound, delta) + (raw - raw);
  const Real passes = detail::to_real<Real>(detail::mask_and<Real>(raw >= -log_ratio_bound, raw <= log_ratio_bound));  // torch.clamp
  // Clamps k1's, k2's or abs's value to [−value_bound, value_bound] (NaN fails both tests and
  // stays NaN), and its derivative with it.
  const auto bounded = [&](Real value, Real derivative) {
    Real clamped = select<Real>(value > value_bound, value_bound, value);
    clamped = select<Real>(clamped < -value_bound, -value_bound, clamped);
    const Real within = detail::to_real<Real>(detail::mask_and<Real>(value <= value_bound, value >= -value_bound));
    return kl_estimate<Real>{clamped, derivative * within};
  };
  if constexpr (Estimator == kl_estimator::k1) {
    return bounded(-delta, passes);
  } else if constexpr (Estimator == kl_estimator::k2) {
    return bounded(delta * delta * detail::scalar_of<Real>(0.5), -delta * passes);
  } else if constexpr (Estimator == kl_estimator::abs) {
    const Real zero = detail::splat<Real>(0);
    // d|δ|/d log π_θ = −sign(δ), 0 at δ = 0 (torch.abs).
    const Real sign = detail::to_real<Real>(delta > zero) - detail::to_real<Real>(delta < zero);
    return bounded(select<Real>(delta < zero, -delta, delta), -sign * passes);
  } else {
    // k3 >= 0: only the upper bound can hold; NaN fails both tests and stays NaN.
    const auto k3 = detail::exp_minus_one_minus_x(delta);
    const Real value = select<Real>(k3.value > value_bound, value_bound, k3.value);
    if constexpr (Estimator == kl_estimator::k3_plus) return {value, -raw};
    const Real within = detail::to_real<Real>(k3.value <= value_bound);
    return {value, -k3.derivative * passes * within};
  }
}

template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE kl_estimate<Real> estimate_kl(kl_estimator estimator, Real logprob, Real ref_logprob,
                                                          Real log_ratio_bound, Real value_bound) noexcept {
  switch (estimator) {
    case kl_estimator::k1: return estimate_kl<kl_estimator::k1>(logprob, ref_logprob, log_ratio_bound, value_bound);
    case kl_estimator::k2: return estimate_kl<kl_estimator::k2>(logprob, ref_logprob, log_ratio_bound, value_bound);
    case kl_estimator::abs: return estimate_kl<kl_estimator::abs>(logprob, ref_logprob, log_ratio_bound, value_bound);
    case kl_estimator::k3_plus:
      return estimate_kl<kl_estimator::k3_plus>(logprob, ref_logprob, log_ratio_bound, value_bound);
    default: return estimate_kl<kl_estimator::k3>(logprob, ref_logprob, log_ratio_bound, value_bound);
  }
}

// A KL estimate times the token's importance ratio r = exp(log π_θ − log π_old), the log-ratio
// clamped to ±log_ratio_bound (torch.clamp's gradient): d(r·k)/d log π_θ = r·(k' + k·passes).
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE kl_estimate<Real> importance_weighted_kl(const kl_estimate<Real>& kl, Real log_ratio,
                                                                     Real log_ratio_bound) noexcept {
  const auto r = detail::importance_ratio(log_ratio, log_ratio_bound);
  return {r.ratio * kl.value, r.ratio * (kl.derivative + r.passes * kl.value)};
}

// The value bound to pass to estimate_kl: infinity for "none".
inline double kl_value_bound(const kl_penalty& kl) noexcept {
  return kl.value_bound > 0.0 ? kl.value_bound : std::numeric_limits<double>::infinity();
}

// Calls f(std::integral_constant<kl_estimator, e>{}) for the runtime value e, so hot loops are
// compiled once per estimator instead of branching per token.
template <class F>
decltype(auto) with_kl_estimator(kl_estimator estimator, F&& f) {
  switch (estimator) {
    case kl_estimator::k1: return f(std::integral_constant<kl_estimator, kl_estimator::k1>{});
    case kl_estimator::k2: return f(std::integral_constant<kl_estimator, kl_estimator::k2>{});
    case kl_estimator::abs: return f(std::integral_constant<kl_estimator, kl_estimator::abs>{});
    case kl_estimator::k3_plus: return f(std::integral_constant<kl_estimator, kl_estimator::k3_plus>{});
    default: return f(std::integral_constant<kl_estimator, kl_estimator::k3>{});
  }
}

namespace detail {

// Log-ratio clamps stay within the range where exp is finite in float and fast_exp is exact.
inline constexpr double max_log_ratio_bound = 80.0;

// Throws rlft::error unless β >= 0 is finite, the log-ratio bound is in (0, 80] and the value
// bound is finite and >= 0. `owner` names the caller.
inline void check_kl_penalty(const kl_penalty& kl, const char* owner) {
  check_option(std::isfinite(kl.coefficient) && kl.coefficient >= 0.0, owner, "kl.coefficient", kl.coefficient,
               "finite and >= 0");
  check_option(kl.log_ratio_bound > 0.0 && kl.log_ratio_bound <= max_log_ratio_bound, owner, "kl.log_ratio_bound",
               kl.log_ratio_bound, "in (0, 80]: exp(80) is near the largest float");
  check_option(std::isfinite(kl.value_bound) && kl.value_bound >= 0.0, owner, "kl.value_bound", kl.value_bound,
               "0 for none, or finite and > 0");
  check_option(kl.estimator == kl_estimator::k1 || kl.estimator == kl_estimator::k2 || kl.estimator == kl_estimator::k3 ||
                   kl.estimator == kl_estimator::abs || kl.estimator == kl_estimator::k3_plus,
               owner, "kl.estimator", "k1, k2, k3, abs or k3_plus");
}

}  // namespace detail
}  // namespace rlft
