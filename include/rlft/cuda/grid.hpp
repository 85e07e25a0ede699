// The grid size of a grid-stride kernel: one block per `per_block` items, at least one block
// and at most `max_blocks` (the blocks then loop over the remaining items).
#pragma once

#include <algorithm>
#include <cstddef>

namespace rlft::cuda {

inline unsigned grid_blocks(std::size_t items, std::size_t per_block, std::size_t max_blocks = 65535) {
  const std::size_t needed = (items + per_block - 1) / per_block;
  return static_cast<unsigned>(std::clamp<std::size_t>(needed, 1, max_blocks));
}

}  // namespace rlft::cuda
