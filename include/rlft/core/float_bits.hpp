// A float's bit pattern and back, and an integer key that orders like the float: selections
// and reductions on floats done with integer operations, which compilers vectorise without
// -ffast-math and which a GPU executes identically (the samplers' race keys, radix selection
// and row maxima on both back-ends).
#pragma once

#include <cstdint>
#include <cstring>

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

// An int32 that orders like the float (−0 just below +0): negative floats have their magnitude
// bits flipped so that larger magnitudes become smaller integers. Self-inverse.
RLFT_HOST_DEVICE inline std::int32_t ordered_key(std::uint32_t bits) noexcept {
  const auto key = static_cast<std::int32_t>(bits);
  return key ^ ((key >> 31) & 0x7fffffff);
}

}  // namespace rlft::detail
