// exp for the per-token formulas of the estimators and objectives. The standard library's
// expf is a function call that keeps a loop scalar (vector variants exist only under
// -ffast-math, which a library cannot impose), and a policy-gradient loss spends its time in
// exactly such loops: one or two exponentials per token. fast_exp(float) is a branch-free
// Cody–Waite range reduction with a degree-7 Taylor polynomial and an exponent built from
// bits, which compilers vectorise; it is accurate to a few ulp on the range the callers use
// (log-ratios clamped to far inside [−87, 88]). fast_exp(double) is std::exp: the double path
// exists to check gradients, not to be fast. On a CUDA device both map to the device exp.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "rlft/core/host_device.hpp"

namespace rlft::detail {

RLFT_HOST_DEVICE inline float fast_exp(float x) noexcept {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  // Arguments outside [−87, 88] saturate (no denormals, no overflow): callers stay well inside.
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float scaled = x * 1.44269504088896341f;  // x / ln 2
  const int power = static_cast<int>(scaled + (scaled >= 0.0f ? 0.5f : -0.5f));
  const auto n = static_cast<float>(power);
  // r = x − n ln 2 with ln 2 = 0.693359375 − 2.12194440e-4: the first part has 9 significant
  // bits, so n times it is exact and r keeps full precision; |r| <= ln 2 / 2.
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>(static_cast<std::uint32_t>(power + 127) << 23);
#endif
}

RLFT_HOST_DEVICE inline double fast_exp(double x) noexcept {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}

}  // namespace rlft::detail
