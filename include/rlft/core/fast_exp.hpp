// exp for the per-token formulas of the estimators and objectives. The standard library's
// expf is a function call that keeps a loop scalar (vector variants exist only under
// -ffast-math, which a library cannot impose), and a policy-gradient loss spends its time in
// exactly such loops: one or two exponentials per token. fast_exp on floats and float packs
// (rlft/core/simd.hpp) is a Cody–Waite range reduction with a degree-7 Taylor polynomial and
// an exponent built from bits, branch-free; it is accurate to about one ulp for |x| <= 87
// and saturates outside (the callers clamp their log-ratios to at most 80 anyway); a
// non-finite x gives NaN. fast_exp(double) is std::exp: the double path exists to check gradients,
// not to be fast. On a CUDA device the float version is the device expf.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"

namespace rlft::detail {

// Σ_i coefficients[i]·x^i by Estrin's scheme: pairs, then pairs of pairs, with x², x⁴, ...
// A dependency chain of about log2(N) multiply-adds instead of Horner's N, so that the
// exponentials of a token loop do not wait on each other's latency.
template <class Real, std::size_t N>
RLFT_HOST_DEVICE RLFT_INLINE Real evaluate_polynomial(Real x, const scalar_of<Real> (&coefficients)[N]) noexcept {
  Real level[(N + 1) / 2];
  std::size_t count = (N + 1) / 2;
  for (std::size_t i = 0; i < count; ++i)
    level[i] = 2 * i + 1 < N ? splat<Real>(coefficients[2 * i]) + x * coefficients[2 * i + 1]
                             : splat<Real>(coefficients[2 * i]);
  Real power = x * x;
  while (count > 1) {
    const std::size_t next = (count + 1) / 2;
    for (std::size_t i = 0; i < next; ++i) level[i] = 2 * i + 1 < count ? level[2 * i] + power * level[2 * i + 1] : level[2 * i];
    power = power * power;
    count = next;
  }
  return level[0];
}

template <class Real>
  requires std::is_same_v<scalar_of<Real>, float>
RLFT_HOST_DEVICE RLFT_INLINE Real fast_exp(Real x) noexcept {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  // Keep the exponent in range (and NaN out of the integer conversion, where it would be
  // undefined); NaN comes back through the last line, as x − x.
  Real bounded = select<Real>(x > -87.0f, x, splat<Real>(-87.0f));  // NaN → −87
  bounded = select<Real>(bounded < 87.0f, bounded, splat<Real>(87.0f));
  const Real scaled = bounded * 1.44269504088896341f;  // in (−126, 126)
  // Round to nearest by truncating a positive number: no sign test, so no select.
  const auto power = truncate_to_int(scaled + 127.5f) - 127;
  const Real n = int_to_real(power);
  // r = x − n ln 2 with ln 2 = 0.693359375 − 2.12194440e-4: the first part has 9 significant
  // bits, so n times it is exact and r keeps full precision; |r| <= ln 2 / 2.
  const Real r = (bounded - n * 0.693359375f) + n * 2.12194440e-4f;
  constexpr float taylor[] = {1.0f, 1.0f, 1.0f / 2, 1.0f / 6, 1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
  const Real p = evaluate_polynomial(r, taylor);
  return p * bits_to_real((power + 127) << 23) + (x - x);
#endif
}

RLFT_HOST_DEVICE RLFT_INLINE double fast_exp(double x) noexcept {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}

}  // namespace rlft::detail
