// Small helpers shared by the sampler tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/philox.hpp"

namespace rlft::testing {

inline constexpr float infinity = std::numeric_limits<float>::infinity();

// Logits uniform in [low, high) from a Philox stream (portable across standard libraries).
inline std::vector<float> uniform_logits(std::size_t size, float low, float high, std::uint64_t seed) {
  std::vector<float> logits(size);
  fill_uniform(logits, seed, 0);
  for (float& x : logits) x = low + (high - low) * x;
  return logits;
}

}  // namespace rlft::testing

// Checks that `call` throws rlft::error whose message contains `fragment`.
#define RLFT_CHECK_ERROR_CONTAINS(call, fragment)                                             \
  do {                                                                                        \
    const std::string rlft_message = ::rlft::testing::error_message([&] { (void)(call); });   \
    CHECK_MESSAGE(rlft_message.find(fragment) != std::string::npos, "message: '", rlft_message, \
                  "' lacks '", fragment, "'");                                                \
  } while (false)
