// CPU batch parallelism: runs body(i) for i in [0, count) across OpenMP threads (serially
// without OpenMP). Every iteration must depend on its index only, so results never depend on
// the thread count or the schedule. Exceptions cannot leave an OpenMP region, so each
// iteration's exception is caught and, after the loop, the one of the lowest index is rethrown:
// the same error whatever the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>

namespace rlft {

template <class Body>
void parallel_for(std::size_t count, const Body& body) {
  std::exception_ptr first_error;
  std::size_t first_error_index = count;
  const auto signed_count = static_cast<std::int64_t>(count);
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t i = 0; i < signed_count; ++i) {
    try {
      body(static_cast<std::size_t>(i));
    } catch (...) {
#if defined(_OPENMP)
#pragma omp critical(rlft_parallel_for_error)
#endif
      {
        if (static_cast<std::size_t>(i) < first_error_index) {
          first_error_index = static_cast<std::size_t>(i);
          first_error = std::current_exception();
        }
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace rlft
