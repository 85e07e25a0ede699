// Independent references for the sampler tests: the exact distributions each sampler must
// draw from, computed in double precision with a full sort (the simple way the library avoids),
// and a draw counter over many Philox streams.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/philox.hpp"

namespace rlft::testing {

inline std::vector<double> softmax(std::span<const double> z) {
  const double top = *std::max_element(z.begin(), z.end());
  std::vector<double> p(z.size());
  double total = 0.0;
  for (std::size_t i = 0; i < z.size(); ++i) total += p[i] = std::exp(z[i] - top);
  for (double& x : p) x /= total;
  return p;
}

inline std::vector<double> to_double(std::span<const float> logits, double temperature = 1.0) {
  std::vector<double> z(logits.size());
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = static_cast<double>(logits[i]) / temperature;
  return z;
}

// Token ids by decreasing probability (ties by id).
inline std::vector<std::size_t> by_decreasing(std::span<const double> p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
  return order;
}

inline std::vector<double> renormalised(std::vector<double> p, const std::vector<bool>& keep) {
  double total = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) total += keep[i] ? p[i] : 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = keep[i] ? p[i] / total : 0.0;
  return p;
}

// The k most likely tokens, ties with the k-th included.
inline std::vector<bool> top_k_set(std::span<const double> p, std::size_t k) {
  const auto order = by_decreasing(p);
  std::vector<bool> keep(p.size(), false);
  if (k >= p.size()) return std::vector<bool>(p.size(), true);
  const double kth = p[order[k - 1]];
  for (std::size_t i = 0; i < p.size(); ++i) keep[i] = p[i] >= kth;
  return keep;
}

// Tokens whose strictly more likely tokens hold less than `top` of the mass (HF's rule).
inline std::vector<bool> top_p_set(std::span<const double> p, double top) {
  const auto order = by_decreasing(p);
  std::vector<bool> keep(p.size(), false);
  double above = 0.0;  // mass of the tokens strictly more likely than the current group
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first;
    double group = 0.0;
    for (; last < order.size() && p[order[last]] == p[order[first]]; ++last) group += p[order[last]];
    for (std::size_t i = first; i < last; ++i) keep[order[i]] = above < top;
    above += group;
    first = last;
  }
  return keep;
}

inline std::vector<bool> min_p_set(std::span<const double> p, double minimum) {
  const double top = *std::max_element(p.begin(), p.end());
  std::vector<bool> keep(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) keep[i] = p[i] >= minimum * top;
  return keep;
}

// Counts of `draws` tokens, draw d using the Philox stream (seed, d, step).
template <class Sampler>
std::vector<std::int64_t> count_draws(const Sampler& sampler, std::span<const float> logits,
                                      std::span<const token_id> history, std::size_t draws,
                                      std::uint64_t seed, std::uint32_t step = 0) {
  std::vector<std::int64_t> counts(logits.size(), 0);
  for (std::size_t d = 0; d < draws; ++d) {
    philox_stream rng(seed, d, step);
    ++counts[static_cast<std::size_t>(sampler(logits, history, rng).token)];
  }
  return counts;
}

}  // namespace rlft::testing
