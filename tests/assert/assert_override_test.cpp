// RLFT_ASSERT is overridable: defined here (before any rlft header) to throw, it must receive
// rlft's precondition failures.
#include "test_assertion_failure.hpp"

#include <doctest/doctest.h>

#include "rlft/core/token_sequences.hpp"

TEST_CASE("a user-defined RLFT_ASSERT receives rlft's precondition failures") {
  const rlft::token_sequences sequences({1, 2, 3}, {0, 1, 3});
  CHECK(sequences.view().length(1) == 2);
  CHECK_THROWS_AS(static_cast<void>(sequences.view().begin(2)), test_assertion_failure);
  CHECK_THROWS_WITH_AS(static_cast<void>(sequences.view().subview(1, 5)), "first + count <= size()",
                       test_assertion_failure);
}
