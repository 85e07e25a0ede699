// The example programs' --gradient-shards flag: each gradient summed over that many shards in
// a fixed tree (rlft's gradient_shards option), so that runs with the same shards give the same
// numbers on any number of MPI ranks (examples/launch/launched_ranks.hpp).
#pragma once

#include <bit>
#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace rlft::examples {

// --gradient-shards N; 0, the default, takes the fewest.
inline void add_gradient_shards_flag(CLI::App& app, std::size_t& shards) {
  app.add_option("--gradient-shards", shards,
                 "shards of each gradient, summed in a fixed tree (a power of two, at least the MPI ranks); runs "
                 "with the same shards give the same numbers on any number of ranks (0: the fewest)")
      ->check([](const std::string& text) {
        const auto value = std::stoull(text);
        return value == 0 || std::has_single_bit(value) ? std::string{} : "must be 0 or a power of two";
      });
}

// The shards a trainer gets: as asked, or the fewest, a power of two covering the ranks.
inline std::size_t gradient_shards(std::size_t asked, std::size_t ranks) {
  return asked != 0 ? asked : std::bit_ceil(ranks);
}

}  // namespace rlft::examples
