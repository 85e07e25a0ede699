// The error measure of the golden tests against PyTorch: max |a − b| / max |b| over a tensor or
// a row, i.e. the error relative to the expected values' scale (an elementwise relative error
// would blow up at the entries near zero that every logit row and gradient has).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

namespace rlft_test {

inline double relative_error(std::span<const float> actual, std::span<const float> expected) {
  double difference = 0.0;
  double scale = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    difference = std::max(difference, std::abs(static_cast<double>(actual[i]) - expected[i]));
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  return scale == 0.0 ? difference : difference / scale;
}

}  // namespace rlft_test
