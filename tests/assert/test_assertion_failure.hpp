// A user-defined RLFT_ASSERT that throws. Included before any rlft header by the only rlft
// translation unit of its test executable, so every rlft function there sees this definition.
#pragma once

#include <stdexcept>

struct test_assertion_failure : std::logic_error {
  using std::logic_error::logic_error;
};

#define RLFT_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : throw test_assertion_failure(#condition))
