// Count, mean and sum of squared deviations of a set of values, accumulated one value at a
// time (Welford) and merged across parts (Chan, Golub and LeVeque 1979), in double. Group and
// batch statistics of the estimators use it: it stays exact for all-equal values (mean equal
// to the value, zero deviation), so degenerate groups get exactly zero advantages, and merging
// per-sequence parts in a fixed order keeps batch statistics independent of the thread count.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace rlft::detail {

struct moments {
  double count = 0.0;
  double mean = 0.0;
  double squared_deviations = 0.0;

  void add(double value) noexcept {
    count += 1.0;
    const double deviation = value - mean;
    mean += deviation / count;
    squared_deviations += deviation * (value - mean);
  }

  void merge(const moments& other) noexcept {
    if (other.count == 0.0) return;
    if (count == 0.0) {
      *this = other;
      return;
    }
    const double total = count + other.count;
    const double deviation = other.mean - mean;
    mean += deviation * (other.count / total);
    squared_deviations += other.squared_deviations + deviation * deviation * (count * other.count / total);
    count = total;
  }

  // Sample (n − 1, as torch.std) or population (n) standard deviation; 0 when it is undefined
  // (fewer than two values for the sample form): a single value carries no spread.
  double standard_deviation(bool unbiased) const noexcept {
    const double divisor = unbiased ? count - 1.0 : count;
    return divisor > 0.0 ? std::sqrt(squared_deviations / divisor) : 0.0;
  }
};

// The moments of values[i] where mask[i] != 0, in two passes (mean, then squared deviations):
// no division per value, unlike add().
inline moments masked_moments(const float* values, const std::uint8_t* mask, std::size_t count) noexcept {
  double sum = 0.0, selected = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    sum += mask[i] ? double{values[i]} : 0.0;
    selected += mask[i] ? 1.0 : 0.0;
  }
  if (selected == 0.0) return {};
  const double mean = sum / selected;
  double squared_deviations = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double deviation = mask[i] ? double{values[i]} - mean : 0.0;
    squared_deviations += deviation * deviation;
  }
  return {.count = selected, .mean = mean, .squared_deviations = squared_deviations};
}

}  // namespace rlft::detail
