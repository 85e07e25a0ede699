// Comparing an extracted answer with the reference: the pluggable part of the accuracy reward.
// An answer checker is any const callable (std::string_view answer, std::string_view
// reference) → arithmetic score (1 right, 0 wrong, or partial credit). The reference is
// whatever the task stores per prompt: the expected answer, or task data a checker parses (a
// Countdown checker would read the numbers and the target from it and evaluate the answer's
// expression). Checkers must not throw on any answer.
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>

#include "rlft/rewards/exact_number.hpp"
#include "rlft/rewards/tagged_text.hpp"

namespace rlft {

template <class C>
concept answer_checker =
    std::copy_constructible<C> && std::invocable<const C&, std::string_view, std::string_view> &&
    std::is_arithmetic_v<std::remove_cvref_t<std::invoke_result_t<const C&, std::string_view, std::string_view>>>;

// Equal after trimming surrounding whitespace.
struct exact_match {
  bool operator()(std::string_view answer, std::string_view reference) const {
    return trim_whitespace(answer) == trim_whitespace(reference);
  }
};

// Both are numbers (see exact_number.hpp) and they are equal.
struct numeric_match {
  bool operator()(std::string_view answer, std::string_view reference) const {
    const auto expected = parse_exact_number(reference);
    if (!expected) return false;
    const auto given = parse_exact_number(answer);
    return given && *given == *expected;
  }
};

// The default: exact string equality, or numeric equivalence when both are numbers.
struct exact_or_numeric_match {
  bool operator()(std::string_view answer, std::string_view reference) const {
    return exact_match{}(answer, reference) || numeric_match{}(answer, reference);
  }
};

}  // namespace rlft
