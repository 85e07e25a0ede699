// Errors in three tiers (as in Eigen and CUTLASS):
//   1. compile time: concepts and static_assert;
//   2. preconditions a caller must uphold: RLFT_ASSERT, active unless NDEBUG is defined (or
//      RLFT_ENABLE_ASSERTS forces it on); define RLFT_ASSERT yourself before including rlft to
//      route failures elsewhere (it may throw: functions that assert are not noexcept);
//   3. run time, thrown with a message that names the problem:
//      - rlft::error: misuse by the caller — an option out of range, spans of the wrong
//        shape, a token outside the vocabulary — and failures of the machine (rlft::io_error
//        for files, rlft::cuda_error from <rlft/cuda/check.hpp>). A trainer stops at once;
//      - rlft::data_error: bad values in the data a run trains on — a NaN or infinite reward,
//        logit, log-prob, loss or gradient, a malformed record of a data set. A trainer skips
//        the step that met it, reports why, and goes on.
// CUDA calls are checked with RLFT_CUDA_CHECK from <rlft/cuda/check.hpp>.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "rlft/core/host_device.hpp"

namespace rlft {

// Misuse (out-of-range options, wrong shapes, malformed batches) and failures of the machine.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad value in the data: the only error a trainer turns into a skipped step.
class data_error : public error {
 public:
  using error::error;
};

// A file that cannot be read or written, or a checkpoint, tensor or config file whose content is
// malformed (a malformed record of a data set is a data_error).
class io_error : public error {
 public:
  using error::error;
};

namespace detail {

// Concatenates streamable values into one message: make_message("row ", i, " has ", n).
template <class... Parts>
std::string make_message(Parts&&... parts) {
  std::ostringstream stream;
  (stream << ... << std::forward<Parts>(parts));
  return stream.str();
}

// An option check: "<owner>: option <option> = <value> is out of range (<requirement>)".
inline void check_option(bool holds, std::string_view owner, std::string_view option, double value,
                         std::string_view requirement) {
  if (!holds)
    throw error(make_message(owner, ": option ", option, " = ", value, " is out of range (", requirement, ")"));
}

// The same for an option without a printable value (an enumeration):
// "<owner>: option <option> is out of range (<requirement>)".
inline void check_option(bool holds, std::string_view owner, std::string_view option, std::string_view requirement) {
  if (!holds) throw error(make_message(owner, ": option ", option, " is out of range (", requirement, ")"));
}

RLFT_HOST_DEVICE inline void assertion_failed(const char* expression, const char* file, int line,
                                              const char* function) {
#if defined(__CUDA_ARCH__)
  printf("%s:%d: %s: RLFT_ASSERT(%s) failed\n", file, line, function, expression);
  __trap();
#else
  std::fprintf(stderr, "%s:%d: %s: RLFT_ASSERT(%s) failed\n", file, line, function, expression);
  std::abort();
#endif
}

}  // namespace detail
}  // namespace rlft

#ifndef RLFT_ASSERT
#if defined(NDEBUG) && !defined(RLFT_ENABLE_ASSERTS)
#define RLFT_ASSERT(condition) static_cast<void>(0)
#else
#define RLFT_ASSERT(condition)                                                            \
  ((condition) ? static_cast<void>(0)                                                     \
               : ::rlft::detail::assertion_failed(#condition, __FILE__, __LINE__, __func__))
#endif
#endif
