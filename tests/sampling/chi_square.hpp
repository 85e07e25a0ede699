// Pearson's chi-square goodness-of-fit test for the sampler distribution tests: observed
// counts against exact probabilities, bins with an expected count below 5 pooled, and the
// upper tail turned into a normal deviate by the Wilson–Hilferty cube-root approximation
// (accurate to a few 1e−3 in the tail for 5 or more degrees of freedom, plenty for a
// threshold at z = 5, i.e. p ≈ 3e−7).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace rlft::testing {

struct chi_square_result {
  double statistic = 0.0;
  double degrees_of_freedom = 0.0;
  double z = 0.0;  // standard normal deviate of the upper tail
};

inline chi_square_result chi_square(std::span<const std::int64_t> observed, std::span<const double> probabilities) {
  double draws = 0.0;
  for (const auto count : observed) draws += static_cast<double>(count);
  chi_square_result result;
  double pooled_expected = 0.0, pooled_observed = 0.0;
  std::size_t bins = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double expected = draws * probabilities[i];
    if (expected < 5.0) {
      pooled_expected += expected;
      pooled_observed += static_cast<double>(observed[i]);
      continue;
    }
    const double difference = static_cast<double>(observed[i]) - expected;
    result.statistic += difference * difference / expected;
    ++bins;
  }
  if (pooled_expected > 0.0 || pooled_observed > 0.0) {
    // An impossible outcome that happened is an infinite deviation.
    const double difference = pooled_observed - pooled_expected;
    result.statistic += pooled_expected > 0.0 ? difference * difference / pooled_expected
                                              : (pooled_observed > 0.0 ? INFINITY : 0.0);
    ++bins;
  }
  result.degrees_of_freedom = static_cast<double>(bins) - 1.0;
  const double k = result.degrees_of_freedom;
  if (k <= 0.0) return result;
  const double scale = 2.0 / (9.0 * k);
  result.z = (std::cbrt(result.statistic / k) - (1.0 - scale)) / std::sqrt(scale);
  return result;
}

}  // namespace rlft::testing
