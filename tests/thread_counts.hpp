// For tests of results that must not depend on the thread count: runs `run()` with 1, 2 and 3
// OpenMP threads and returns the three results in that order, restoring the caller's thread
// count afterwards (also when `run` throws). Without OpenMP the three runs are alike.
#pragma once

#include <array>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rlft::testing {

template <class Run>
auto results_for_thread_counts(Run&& run) {
#if defined(_OPENMP)
  struct restore {
    int threads = omp_get_max_threads();
    ~restore() { omp_set_num_threads(threads); }
  } guard;
  const auto with = [&](int threads) {
    omp_set_num_threads(threads);
    return run();
  };
  return std::array{with(1), with(2), with(3)};
#else
  return std::array{run(), run(), run()};
#endif
}

}  // namespace rlft::testing
