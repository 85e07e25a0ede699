// rlft::parallel_for and rlft::for_each_chunk: every index visited once under both schedules
// and any thread count, chunk boundaries that depend on the count only, and the exception of
// the lowest failing index rethrown after the loop.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "rlft/core/parallel.hpp"

namespace {

// Runs `check` with 1, 2 and 3 threads (once where there is no OpenMP).
template <class Check>
void with_thread_counts(const Check& check) {
#if defined(_OPENMP)
  const int before = omp_get_max_threads();
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    check();
  }
  omp_set_num_threads(before);
#else
  check();
#endif
}

}  // namespace

TEST_CASE("parallel_for visits every index exactly once, for every tuning") {
  with_thread_counts([] {
    for (const rlft::parallel_tuning tuning : {rlft::cheap_iterations, rlft::costly_iterations}) {
      for (const std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{1000}}) {
        std::vector<int> visits(count, 0);
        rlft::parallel_for(count, [&](std::size_t i) { ++visits[i]; }, tuning);
        CHECK(std::count(visits.begin(), visits.end(), 1) == static_cast<std::ptrdiff_t>(count));
      }
    }
  });
}

TEST_CASE("parallel_for rethrows the exception of the lowest failing index") {
  with_thread_counts([] {
    for (const rlft::parallel_tuning tuning : {rlft::cheap_iterations, rlft::costly_iterations}) {
      std::vector<int> visits(500, 0);
      const auto body = [&](std::size_t i) {
        ++visits[i];
        if (i % 97 == 41) throw std::runtime_error("index " + std::to_string(i));
      };
      CHECK_THROWS_WITH_AS(rlft::parallel_for(visits.size(), body, tuning), "index 41", std::runtime_error);
      // The loop still ran every iteration: a failure does not depend on which thread saw it first.
      CHECK(std::count(visits.begin(), visits.end(), 1) == 500);
    }
  });
}

TEST_CASE("for_each_chunk cuts the same chunks for every thread count") {
  with_thread_counts([] {
    std::vector<std::size_t> first_of(4, 99), last_of(4, 99);
    const std::size_t chunks = rlft::for_each_chunk(10, 3, [&](std::size_t c, std::size_t first, std::size_t last) {
      first_of[c] = first;
      last_of[c] = last;
    });
    CHECK(chunks == 4);
    CHECK(first_of == std::vector<std::size_t>{0, 3, 6, 9});
    CHECK(last_of == std::vector<std::size_t>{3, 6, 9, 10});
    CHECK(rlft::for_each_chunk(0, 3, [](std::size_t, std::size_t, std::size_t) { FAIL("no chunk expected"); }) == 0);
    CHECK_THROWS_WITH_AS(rlft::for_each_chunk(10, 3,
                                              [](std::size_t c, std::size_t, std::size_t) {
                                                if (c >= 2) throw std::runtime_error("chunk " + std::to_string(c));
                                              }),
                         "chunk 2", std::runtime_error);
  });
}
