// CPU batch parallelism that never changes a result. Loops over rows, sequences or groups run
// as OpenMP loops (serially where the compiler has no OpenMP) whose iterations depend on their
// index only, so the schedule and the thread count cannot change what they compute.
// Reductions are split into chunks whose boundaries depend only on the data (for_each_chunk):
// each chunk is reduced by one thread in a fixed order and the caller combines the chunk
// results in chunk order, so sums come out bit-identical for every thread count. An exception
// cannot leave an OpenMP region (the program would terminate), so every iteration's exception
// is caught and, after the loop, the one of the lowest index is rethrown: the same error
// whatever the thread count.
#pragma once

#include <cstddef>
#include <exception>

#define RLFT_DETAIL_PRAGMA(text) _Pragma(#text)
#if defined(_OPENMP)
// RLFT_OMP(parallel for schedule(static)) → #pragma omp parallel for schedule(static)
#define RLFT_OMP(...) RLFT_DETAIL_PRAGMA(omp __VA_ARGS__)
#else
#define RLFT_OMP(...)
#endif

namespace rlft {

// How a loop is spread over threads. Only the speed depends on it, never a result.
struct parallel_tuning {
  // Fewer iterations run on the calling thread: waking a team of threads costs microseconds,
  // more than a short loop of cheap iterations takes.
  std::size_t min_parallel_count = 64;
  // Hand iterations out one at a time (OpenMP's dynamic schedule) when their costs differ
  // widely, such as rewards over completions of different lengths; otherwise every thread
  // takes one contiguous block.
  bool uneven_iterations = false;
};

// Per-group or per-sequence arithmetic: cheap iterations of similar cost.
inline constexpr parallel_tuning cheap_iterations{};
// Iterations that each take long (a row of 150k logits, a reward over a completion's text):
// worth a second thread from two iterations on, balanced as they finish.
inline constexpr parallel_tuning costly_iterations{.min_parallel_count = 2, .uneven_iterations = true};

namespace detail {

// Remembers the exception of the lowest failing iteration of a parallel loop.
class first_loop_error {
 public:
  explicit first_loop_error(std::size_t count) noexcept : index_(count) {}

  // Call inside a catch block.
  void record(std::size_t index) noexcept {
    RLFT_OMP(critical(rlft_parallel_for_error))
    if (index < index_) {
      index_ = index;
      error_ = std::current_exception();
    }
  }

  void rethrow_if_any() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::size_t index_;
  std::exception_ptr error_;
};

}  // namespace detail

// Calls body(i) for every i in [0, count), spread over threads as `tuning` says; rethrows the
// exception of the lowest failing i after every iteration has run.
template <class Body>
void parallel_for(std::size_t count, Body&& body, parallel_tuning tuning = cheap_iterations) {
  detail::first_loop_error failure(count);
  const auto run = [&](std::ptrdiff_t i) {
    try {
      body(static_cast<std::size_t>(i));
    } catch (...) {
      failure.record(static_cast<std::size_t>(i));
    }
  };
  const auto signed_count = static_cast<std::ptrdiff_t>(count);
  [[maybe_unused]] const bool threaded = count >= tuning.min_parallel_count;  // unused without OpenMP
  if (tuning.uneven_iterations) {
    RLFT_OMP(parallel for schedule(dynamic) if (threaded))
    for (std::ptrdiff_t i = 0; i < signed_count; ++i) run(i);
  } else {
    RLFT_OMP(parallel for schedule(static) if (threaded))
    for (std::ptrdiff_t i = 0; i < signed_count; ++i) run(i);
  }
  failure.rethrow_if_any();
}

// Calls body(chunk, first, last) for the consecutive ranges of at most `chunk_size` that split
// [0, count), in parallel; returns the number of chunks. Chunk c covers [c · chunk_size, ...)
// whatever the thread count; an exception is rethrown as by parallel_for (that of the lowest
// chunk).
template <class Body>
std::size_t for_each_chunk(std::size_t count, std::size_t chunk_size, Body&& body) {
  const std::size_t chunks = (count + chunk_size - 1) / chunk_size;
  parallel_for(
      chunks,
      [&](std::size_t c) {
        const std::size_t first = c * chunk_size;
        body(c, first, first + chunk_size < count ? first + chunk_size : count);
      },
      {.min_parallel_count = 2});
  return chunks;
}

}  // namespace rlft
