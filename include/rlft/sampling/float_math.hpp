// exp and log in single precision for the sampling hot loops, written so that the compiler
// vectorises them (no libm calls, no floating-point branches: selections are done on integer
// bit patterns) and so that the same source runs on the host and in CUDA kernels.
//   exp_nonpositive: x ≤ 0 (−inf included), Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2,
//     degree-7 Taylor polynomial for e^r, scaled by 2^n; 0 below −87.3 (no subnormals);
//     at most 2 ulp from the correctly rounded result;
//   log_positive: x positive, normal and finite; x = 2^e·m with m in [√½, √2),
//     log m = 2·atanh(s), s = (m − 1)/(m + 1), odd series to s^9; at most 4 ulp;
//   max_and_flaws: the largest of many floats and whether any is NaN or +inf, on integer keys
//     that order like the floats (GCC does not vectorise float max reductions without
//     -ffast-math).
// Compilers may fuse a·b + c into one FMA, so results can differ in the last bit between
// builds (and from a GPU): callers must not depend on bit equality (see exponential_race.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft::detail {

RLFT_HOST_DEVICE inline std::uint32_t bits_of(float x) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

RLFT_HOST_DEVICE inline float float_of(std::uint32_t bits) noexcept {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
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

// An int32 that orders like the float (−0 just below +0): negative floats have their magnitude
// bits flipped so that larger magnitudes become smaller integers. Self-inverse.
RLFT_HOST_DEVICE inline std::int32_t ordered_key(std::uint32_t bits) noexcept {
  const auto key = static_cast<std::int32_t>(bits);
  return key ^ ((key >> 31) & 0x7fffffff);
}

// A NaN (any payload) or +inf: the logits a sampler rejects (−inf is a masked token).
RLFT_HOST_DEVICE inline bool is_nan_or_positive_infinity(std::uint32_t bits) noexcept {
  constexpr std::uint32_t positive_infinity = 0x7f800000u;
  return ((bits & 0x7fffffffu) > positive_infinity) | (bits == positive_infinity);  // branch-free
}

struct float_scan {
  float max = 0.0f;       // −inf for an empty span
  bool has_nan_or_positive_infinity = false;
};

inline float_scan max_and_flaws(const float* values, std::size_t count) noexcept {
  std::int32_t best = ordered_key(0xff800000u);  // −inf
  std::uint32_t flaws = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t bits = bits_of(values[i]);
    flaws |= static_cast<std::uint32_t>(is_nan_or_positive_infinity(bits));
    const std::int32_t key = ordered_key(bits);
    best = key > best ? key : best;
  }
  return {.max = float_of(static_cast<std::uint32_t>(ordered_key(static_cast<std::uint32_t>(best)))),
          .has_nan_or_positive_infinity = flaws != 0};
}

}  // namespace rlft::detail
