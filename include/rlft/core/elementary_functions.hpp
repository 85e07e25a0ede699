// exp and log in single precision without libm: the standard library's expf and logf are
// function calls that keep a loop scalar (vector variants exist only under -ffast-math, which a
// library cannot impose). Two exponentials, for callers with different needs; they differ in
// the last bit for about one input in twenty, so neither replaces the other without changing
// the samplers' draws or the objectives' values:
//   fast_exp: throughput in the per-token formulas of the estimators and objectives, on floats
//     and float packs (rlft/core/simd.hpp). Cody–Waite range reduction, degree-7 Taylor
//     polynomial by Estrin's scheme, exponent built from bits, branch-free; about one ulp for
//     |x| <= 87, saturating outside (the callers clamp their log-ratios to at most 80 anyway);
//     a non-finite x gives NaN. On a CUDA device it is the device's expf, so the CUDA
//     objectives agree with the CPU's to a tolerance, not bit for bit. fast_exp(double) is
//     std::exp: the double path exists to check gradients, not to be fast.
//   exp_nonpositive and log_positive: the samplers' weights and race keys, one source for the
//     host and the CUDA sampler so that both draw the same token (exponential_race.hpp).
//     exp_nonpositive: x ≤ 0 (−inf included), Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2,
//     degree-7 Taylor polynomial by Horner's scheme, scaled by 2^n; 0 below −87.3 (no
//     subnormals); at most 2 ulp from the correctly rounded result. log_positive: x positive,
//     normal and finite; x = 2^e·m with m in [√½, √2), log m = 2·atanh(s), s = (m − 1)/(m + 1),
//     odd series to s^9; at most 4 ulp. Both select on integer bit patterns instead of
//     branching on floats, so the loops that call them vectorise.
// Compilers may fuse a·b + c into one FMA, so results can differ in the last bit between
// builds (and from a GPU): callers must not depend on bit equality (see exponential_race.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rlft/core/error.hpp"
#include "rlft/core/float_bits.hpp"
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

RLFT_HOST_DEVICE inline float exp_nonpositive(float x) {
  RLFT_ASSERT(!(x > 0.0f));
  constexpr std::uint32_t sign_mask = 0x7fffffffu;
  constexpr std::uint32_t bits_88 = 0x42b00000u;    // 88.0f
  constexpr std::uint32_t bits_87_3 = 0x42ae999au;  // 87.3f: below −87.3, e^x is subnormal
  const std::uint32_t magnitude = bits_of(x) & sign_mask;
  // All ones when magnitude ≤ 87.3, else 0 (the subtraction wraps and sets the top bit).
  const std::uint32_t keep = ((bits_87_3 - magnitude) >> 31) - 1u;
  const float clamped = -float_of(magnitude < bits_88 ? magnitude : bits_88);  // −inf → −88

  constexpr float shifter = 0x1.8p23f;  // adding it rounds to an integer in the low mantissa bits
  const float shifted = clamped * 1.44269504088896341f + shifter;
  const float n = shifted - shifter;
  const float r = (clamped - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f;  // ln 2 = hi + lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const auto exponent = static_cast<std::int32_t>(bits_of(shifted) - bits_of(shifter));
  const float scale = float_of(static_cast<std::uint32_t>(exponent + 127) << 23);
  return float_of(bits_of(p * scale) & keep);
}

RLFT_HOST_DEVICE inline float log_positive(float x) {
  RLFT_ASSERT(x > 0.0f);
  const std::uint32_t bits = bits_of(x);
  constexpr std::uint32_t mantissa_mask = 0x7fffffu;
  constexpr std::uint32_t sqrt2_mantissa = 0x3504f3u;  // √2 = 0x3fb504f3
  const std::uint32_t mantissa_bits = bits & mantissa_mask;
  const std::uint32_t high = mantissa_bits > sqrt2_mantissa ? 1u : 0u;
  // m in [1, √2] keeps exponent 0 (0x3f800000); m in (√2, 2) is halved to exponent −1.
  const float m = float_of(mantissa_bits | (0x3f800000u - (high << 23)));
  const auto exponent = static_cast<std::int32_t>(bits >> 23) - 127 + static_cast<std::int32_t>(high);
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float s2 = s * s;
  float p = 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  return static_cast<float>(exponent) * 0x1.62e430p-1f + 2.0f * s * p;
}

}  // namespace rlft::detail
