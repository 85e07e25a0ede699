// The statistics of a set of values that every advantage estimator reads, on the CPU and in
// the CUDA kernels alike: count, sum, mean and sum of squared deviations, accumulated one value
// at a time (Welford) and merged across parts (Chan, Golub and LeVeque 1979), in double, and
// the lowest and highest value. The mean stays exact for all-equal values (zero deviation),
// and all_equal() — lowest == highest — is the one test of a group without learning signal,
// so degenerate groups get exactly zero advantages everywhere. Merging parts in a fixed order
// keeps batch statistics independent of the thread count (and, on the device, of the timing).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rlft/core/host_device.hpp"

namespace rlft::detail {

struct value_moments {
  double count = 0.0;
  double sum = 0.0;
  double mean = 0.0;
  double squared_deviations = 0.0;
  float lowest = INFINITY;  // > highest for the empty set
  float highest = -INFINITY;

  RLFT_HOST_DEVICE void add(float value) noexcept {
    count += 1.0;
    sum += value;
    const double deviation = value - mean;
    mean += deviation / count;
    squared_deviations += deviation * (value - mean);
    lowest = value < lowest ? value : lowest;
    highest = value > highest ? value : highest;
  }

  RLFT_HOST_DEVICE void merge(const value_moments& other) noexcept {
    lowest = other.lowest < lowest ? other.lowest : lowest;
    highest = other.highest > highest ? other.highest : highest;
    if (other.count == 0.0) return;
    if (count == 0.0) {
      count = other.count;
      sum = other.sum;
      mean = other.mean;
      squared_deviations = other.squared_deviations;
      return;
    }
    const double total = count + other.count;
    const double deviation = other.mean - mean;
    sum += other.sum;
    mean += deviation * (other.count / total);
    squared_deviations += other.squared_deviations + deviation * deviation * (count * other.count / total);
    count = total;
  }

  // Sample (n − 1, as torch.std) or population (n) standard deviation; 0 when it is undefined
  // (fewer than two values for the sample form): a single value carries no spread.
  RLFT_HOST_DEVICE double standard_deviation(bool unbiased) const noexcept {
    const double divisor = unbiased ? count - 1.0 : count;
    return divisor > 0.0 ? sqrt(squared_deviations / divisor) : 0.0;
  }

  RLFT_HOST_DEVICE bool all_equal() const noexcept { return lowest == highest; }
};

// The moments of the values[i] that selected(i) picks, in two passes (mean, then squared
// deviations): no division per value, unlike add(). lowest and highest are left out (the
// whitening and the metrics that use it need neither).
template <class Selected>
value_moments two_pass_moments(const float* values, std::size_t count, Selected&& selected) noexcept {
  double sum = 0.0, chosen = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    sum += selected(i) ? double{values[i]} : 0.0;
    chosen += selected(i) ? 1.0 : 0.0;
  }
  if (chosen == 0.0) return {};
  const double mean = sum / chosen;
  double squared_deviations = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double deviation = selected(i) ? double{values[i]} - mean : 0.0;
    squared_deviations += deviation * deviation;
  }
  return {.count = chosen, .sum = sum, .mean = mean, .squared_deviations = squared_deviations};
}

// Of values[i] where mask[i] != 0.
inline value_moments masked_moments(const float* values, const std::uint8_t* mask, std::size_t count) noexcept {
  return two_pass_moments(values, count, [mask](std::size_t i) { return mask[i] != 0; });
}

// Of every value.
inline value_moments moments_of(std::span<const float> values) noexcept {
  return two_pass_moments(values.data(), values.size(), [](std::size_t) { return true; });
}

}  // namespace rlft::detail
