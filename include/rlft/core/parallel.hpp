// CPU batch parallelism that never changes a result. Loops over sequences or groups run as
// OpenMP loops (serially where the compiler has no OpenMP); reductions are split into chunks
// whose boundaries depend only on the data, each chunk is reduced by one thread in a fixed
// order and the chunk results are combined in chunk order, so sums come out bit-identical
// for every thread count.
#pragma once

#include <cstddef>
#include <vector>

#define RLFT_DETAIL_PRAGMA(text) _Pragma(#text)
#if defined(_OPENMP)
// RLFT_OMP(parallel for schedule(static)) → #pragma omp parallel for schedule(static)
#define RLFT_OMP(...) RLFT_DETAIL_PRAGMA(omp __VA_ARGS__)
#else
#define RLFT_OMP(...)
#endif

namespace rlft::detail {

// Calls body(chunk, first, last) for the consecutive ranges of at most `chunk_size` that
// split [0, count), in parallel; returns the number of chunks. Chunk c covers [c · chunk_size, ...), whatever the
// thread count. The body must not throw (an exception cannot leave an OpenMP region): record
// what went wrong and throw after the loop.
template <class Body>
std::size_t for_each_chunk(std::size_t count, std::size_t chunk_size, Body&& body) {
  const std::size_t chunks = (count + chunk_size - 1) / chunk_size;
  const auto signed_chunks = static_cast<std::ptrdiff_t>(chunks);
  RLFT_OMP(parallel for schedule(static) if (chunks > 1))
  for (std::ptrdiff_t c = 0; c < signed_chunks; ++c) {
    const std::size_t first = static_cast<std::size_t>(c) * chunk_size;
    const std::size_t last = first + chunk_size < count ? first + chunk_size : count;
    body(static_cast<std::size_t>(c), first, last);
  }
  return chunks;
}

// Below this many items a loop runs on the calling thread: waking a team costs more.
inline constexpr std::size_t min_parallel_items = 64;

// Calls body(i) for every i in [0, count), in parallel when count is large enough, for loops
// without reductions.
template <class Body>
void parallel_for(std::size_t count, Body&& body) {
  const auto signed_count = static_cast<std::ptrdiff_t>(count);
  RLFT_OMP(parallel for schedule(static) if (count >= min_parallel_items))
  for (std::ptrdiff_t i = 0; i < signed_count; ++i) body(static_cast<std::size_t>(i));
}

}  // namespace rlft::detail
