// Reference answers out of worked solutions: GSM8K's "#### <answer>" (commas, signs,
// fractions, where the marker is) and MATH's last \boxed{…} (nesting, \fbox, "\boxed 5",
// several boxes), then scored by rlft::accuracy_reward against completions written otherwise.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "rlft/data/reference_answer.hpp"
#include "rlft/rewards/accuracy.hpp"

using namespace rlft::data;

namespace {

struct example {
  const char* name;
  std::string solution;
  std::optional<std::string> expected;
};

}  // namespace

TEST_CASE("GSM8K final answers") {
  const std::vector<example> table{
      {"plain", "She sold 48/2 = <<48/2=24>>24 clips.\n#### 72", "72"},
      {"spaces around", "Total.\n####    42  \n", "42"},
      {"no space after the marker", "x\n####7", "7"},
      {"grouping commas dropped", "The factory makes 1,234 in all.\n#### 1,234", "1234"},
      {"several groups", "#### 1,234,567", "1234567"},
      {"grouping commas with a fraction part", "#### 12,345.50", "12345.50"},
      {"a comma that groups nothing is kept", "#### 1,5", "1,5"},
      {"negative", "It fell to -3 - 5 = <<-3-5=-8>>-8 degrees.\n#### -8", "-8"},
      {"fraction as text", "Each gets 3/4 of a pie.\n#### 3/4", "3/4"},
      {"decimal", "#### 0.5", "0.5"},
      {"the last marker wins", "#### 3\nno wait\n#### 4", "4"},
      {"only the marker's line", "#### 5\nA remark after the answer.", "5"},
      {"no marker", "The answer is 72.", std::nullopt},
      {"empty after the marker", "Work.\n####   \n", std::nullopt},
      {"empty text", "", std::nullopt},
  };
  for (const auto& [name, solution, expected] : table) {
    CAPTURE(name);
    CHECK(gsm8k_final_answer(solution) == expected);
  }
}

TEST_CASE("MATH boxed answers") {
  const std::vector<example> table{
      {"plain", "So the answer is $\\boxed{5}$.", "5"},
      {"nested braces", "$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"},
      {"deeper nesting", "\\boxed{x^{2^{n}}+\\sqrt{\\frac{a}{b}}}", "x^{2^{n}}+\\sqrt{\\frac{a}{b}}"},
      {"the last box", "First \\boxed{3}, then \\boxed{4}.", "4"},
      {"fbox", "\\fbox{7}", "7"},
      {"unbraced argument", "The answer is $\\boxed 5$.", "5"},
      {"unbraced at the end", "so \\boxed 12", "12"},
      {"unbraced after a braced box", "\\boxed{3} and finally \\boxed -2$", "-2"},
      {"braced after an unbraced box", "\\boxed 3$ and finally \\boxed{4}", "4"},
      {"negative", "$\\boxed{-3}$", "-3"},
      {"spaces trimmed", "\\boxed{ 2, 3 }", "2, 3"},
      {"text answer", "\\boxed{\\text{(B)}}", "\\text{(B)}"},
      {"escaped braces inside", "\\boxed{\\{1,2\\}}", "\\{1,2\\}"},
      {"unbalanced", "\\boxed{\\frac{1}{2}", std::nullopt},
      {"empty box", "\\boxed{}", std::nullopt},
      {"no box", "The answer is 5.", std::nullopt},
  };
  for (const auto& [name, solution, expected] : table) {
    CAPTURE(name);
    CHECK(math_boxed_answer(solution) == expected);
  }
}

TEST_CASE("extract_reference dispatches on the style, and verbatim only trims") {
  CHECK(extract_reference("  42 \n", reference_style::verbatim) == "42");
  CHECK(extract_reference("", reference_style::verbatim) == "");
  CHECK(extract_reference("#### 1,000", reference_style::gsm8k) == "1000");
  CHECK(extract_reference("\\boxed{9}", reference_style::math_boxed) == "9");
  CHECK(extract_reference("9", reference_style::math_boxed) == std::nullopt);
}

TEST_CASE("extracted references score completions by value") {
  const rlft::accuracy_reward<> accuracy{};
  const auto score = [&](const std::string& completion, const std::string& reference) {
    return accuracy({.completion = completion, .reference = reference});
  };
  const std::string thousands = *gsm8k_final_answer("#### 1,234");
  CHECK(score("<answer>1234</answer>", thousands) == 1.0f);
  CHECK(score("<answer>1,234</answer>", thousands) == 1.0f);
  CHECK(score("<answer>1243</answer>", thousands) == 0.0f);
  const std::string half = *math_boxed_answer("$\\boxed{\\frac{3}{4}}$");
  CHECK(score("<answer>0.75</answer>", half) == 1.0f);
  CHECK(score("\\boxed{\\dfrac{3}{4}}", half) == 1.0f);
  CHECK(score("<answer>3/4</answer>", *gsm8k_final_answer("#### 3/4")) == 1.0f);
  CHECK(score("<answer>−8</answer>", *gsm8k_final_answer("#### -8")) == 1.0f);  // U+2212
  CHECK(score("<answer>8</answer>", *gsm8k_final_answer("#### -8")) == 0.0f);
  CHECK(score("<answer>5</answer>", *math_boxed_answer("\\boxed 5$")) == 1.0f);
}
