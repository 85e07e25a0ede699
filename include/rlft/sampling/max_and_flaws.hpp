// The first check of a row of logits: its largest entry and whether any entry is NaN or +inf
// (the logits a sampler rejects; −inf is a masked token). One branch-free pass on integer keys
// that order like the floats (GCC does not vectorise float max reductions without
// -ffast-math); the CUDA sampler applies the same test per entry.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rlft/core/float_bits.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft::detail {

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
