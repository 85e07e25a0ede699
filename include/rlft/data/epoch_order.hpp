// The order in which a data set's records are drawn in one epoch: a Fisher–Yates shuffle
// (Knuth, TAOCP vol. 2, algorithm 3.4.2 P) whose indices come from Philox, so the order is a pure
// function of (size, seed, epoch). A resumed run re-derives the order of the epoch it stopped
// in instead of storing it, and gets the same order on every machine and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/philox.hpp"

namespace rlft::data {

// The Philox counter word of the shuffles: the last one, which no decoding step reaches, so the
// shuffle of epoch e never reuses the words that sample sequence e under the same seed.
inline constexpr std::uint32_t epoch_order_counter = 0xFFFFFFFFu;

}  // namespace rlft::data

namespace rlft::detail {

// Uniform in [0, bound) without modulo bias (Lemire, "Fast random integer generation in an
// interval", ACM TOMACS 2019): a multiply, and a rare redraw.
inline std::uint32_t uniform_below(philox_stream& random, std::uint32_t bound) noexcept {
  std::uint64_t product = std::uint64_t{random()} * bound;
  if (static_cast<std::uint32_t>(product) < bound) {
    const std::uint32_t threshold = static_cast<std::uint32_t>(-bound) % bound;
    while (static_cast<std::uint32_t>(product) < threshold) product = std::uint64_t{random()} * bound;
  }
  return static_cast<std::uint32_t>(product >> 32);
}

}  // namespace rlft::detail

namespace rlft::data {

// A permutation of 0 .. size-1. Throws rlft::error for more than 2^32 - 1 records.
inline std::vector<std::size_t> epoch_order(std::size_t size, std::uint64_t seed, std::uint64_t epoch) {
  if (size > 0xFFFFFFFFu)
    throw error(detail::make_message("epoch order: ", size, " records; at most 2^32 - 1 can be shuffled"));
  std::vector<std::size_t> order(size);
  std::iota(order.begin(), order.end(), std::size_t{0});
  philox_stream random(seed, epoch, epoch_order_counter);
  for (std::size_t i = size; i > 1; --i)
    std::swap(order[i - 1], order[detail::uniform_below(random, static_cast<std::uint32_t>(i))]);
  return order;
}

}  // namespace rlft::data
