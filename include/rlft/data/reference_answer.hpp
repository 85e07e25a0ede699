// The reference answer of a data set's worked solution: the string rlft::accuracy_reward
// compares a completion's final answer with.
//   GSM8K (Cobbe et al., arXiv 2110.14168, the released data's format): the solution ends
//     with a line "#### <answer>"; commas grouping the thousands ("#### 1,234") are dropped,
//     so an exact string comparison works too.
//   MATH (Hendrycks et al., arXiv 2103.03874): the answer is the last \boxed{…} or \fbox{…}
//     of the solution, braces nested to any depth (rlft::boxed_groups finds them, as it does
//     in completions), or a "\boxed 5" with its argument unbraced, up to the next space or $.
// Answers are otherwise kept as written ("-3", "3/4", "\frac{3}{4}"): rlft::numeric_match
// compares numbers by value, so "0.75" still matches "\frac{3}{4}".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "rlft/rewards/exact_number.hpp"
#include "rlft/rewards/tagged_text.hpp"

namespace rlft::data {

// How the reference field of a record holds the reference answer.
enum class reference_style {
  verbatim,    // the field is the answer (surrounding whitespace dropped)
  gsm8k,       // a worked solution ending in "#### <answer>"
  math_boxed,  // a worked solution whose last \boxed{…} is the answer
};

// The answer after the last "####", up to the end of its line; nullopt when there is none.
inline std::optional<std::string> gsm8k_final_answer(std::string_view solution) {
  const std::size_t marker = solution.rfind("####");
  if (marker == std::string_view::npos) return std::nullopt;
  std::string_view rest = solution.substr(marker + 4);
  rest = trim_whitespace(rest.substr(0, rest.find('\n')));
  if (rest.empty()) return std::nullopt;
  std::string answer(rest);
  // Only a number's grouping commas: "1,5" or "3, 4" are not numbers and stay as written.
  if (answer.find(',') != std::string::npos && parse_exact_number(answer)) std::erase(answer, ',');
  return answer;
}

// The content of the last box; nullopt when there is none or it is empty.
inline std::optional<std::string> math_boxed_answer(std::string_view solution) {
  std::optional<std::string_view> answer;
  std::size_t answer_at = 0;
  if (const auto groups = boxed_groups(solution); !groups.empty()) {
    answer = groups.back();
    answer_at = static_cast<std::size_t>(groups.back().data() - solution.data());
  }
  constexpr std::string_view unbraced = "\\boxed ";
  if (const std::size_t at = solution.rfind(unbraced); at != std::string_view::npos && (!answer || at > answer_at)) {
    std::string_view argument = trim_whitespace(solution.substr(at + unbraced.size()));
    answer = argument.substr(0, argument.find_first_of(" \t\r\n$"));
  }
  if (!answer) return std::nullopt;
  const std::string_view trimmed = trim_whitespace(*answer);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

// The reference answer `text` holds in `style`; nullopt when a solution has no final answer.
inline std::optional<std::string> extract_reference(std::string_view text, reference_style style) {
  switch (style) {
    case reference_style::gsm8k:
      return gsm8k_final_answer(text);
    case reference_style::math_boxed:
      return math_boxed_answer(text);
    case reference_style::verbatim:
      break;
  }
  return std::string(trim_whitespace(text));
}

}  // namespace rlft::data
