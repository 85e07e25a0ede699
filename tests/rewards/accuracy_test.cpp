// Accuracy: answer extraction (answer tags, \boxed{}, several answers, nesting, unclosed
// tags), exact numbers (every accepted spelling, huge values, malformed text) and a task's
// own checker plugged in.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "rlft/rlft.hpp"

using namespace rlft;

TEST_CASE("answer extraction from tags and \\boxed{}") {
  struct row {
    const char* name;
    std::string completion;
    std::optional<std::string> expected;
  };
  const std::vector<row> table{
      {"answer block", "<think>x</think><answer> 19 </answer>", "19"},
      {"boxed inside the answer", "<answer>so \\boxed{19}</answer>", "19"},
      {"boxed without tags", "The sum is \\boxed{19}.", "19"},
      {"last boxed wins", "first \\boxed{3}, finally \\boxed{4}", "4"},
      {"braces inside boxed", "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"},
      {"escaped brace inside boxed", "\\boxed{\\{1\\}}", "\\{1\\}"},
      {"fbox", "\\fbox{7}", "7"},
      {"unbalanced boxed", "\\boxed{19", std::nullopt},
      {"nested boxed: the innermost comes last", "\\boxed{\\boxed{3}}", "3"},
      {"two answer blocks: the last", "<answer>3</answer> no wait <answer>4</answer>", "4"},
      {"nested answer tags: the innermost", "<answer><answer>5</answer></answer>", "5"},
      {"unclosed answer", "<think>x</think><answer>19", std::nullopt},
      {"unclosed answer, boxed elsewhere", "\\boxed{2} <answer>19", "2"},
      {"answer block beats boxed outside it", "\\boxed{2} <answer>3</answer>", "3"},
      {"empty answer", "<answer>   </answer>", std::nullopt},
      {"no answer", "I do not know", std::nullopt},
      {"empty completion", "", std::nullopt},
  };
  const answer_extraction extract{};
  for (const auto& [name, completion, expected] : table) {
    CAPTURE(name);
    const auto answer = extract(completion);
    CHECK(answer.has_value() == expected.has_value());
    if (answer && expected) CHECK(std::string(*answer) == *expected);
  }

  // Adversarial output: tens of thousands of unclosed groups and tags, scanned in linear time.
  std::string unclosed;
  for (int i = 0; i < 20000; ++i) unclosed += "\\boxed{<answer>";
  CHECK_FALSE(extract(unclosed).has_value());
  std::string closes = "<answer>7";
  for (int i = 0; i < 20000; ++i) closes += "</answer>";
  CHECK(std::string(*extract(closes)) == "7");

  const answer_extraction strict{.several = several_answers::reject};
  CHECK_FALSE(strict("<answer>3</answer><answer>4</answer>").has_value());
  CHECK_FALSE(strict("\\boxed{3} \\boxed{4}").has_value());
  CHECK(strict("<answer>4</answer>").has_value());
  const answer_extraction tags_only{.location = answer_location::tag};
  CHECK_FALSE(tags_only("\\boxed{4}").has_value());
  const answer_extraction boxed_only{.location = answer_location::boxed};
  CHECK(std::string(*boxed_only("<answer>3</answer> \\boxed{4}")) == "4");
}

TEST_CASE("exact numbers: equal spellings are equal, nothing else is") {
  struct row {
    std::string answer;
    std::string reference;
    bool equal;
  };
  const std::string huge(600, '9');
  const std::vector<row> table{
      {"42", "42", true},
      {"+42", "42", true},
      {"42.0", "42", true},
      {"42.", "42", true},
      {"042", "42", true},
      {"1,234,567", "1234567", true},
      {"-1,234.50", "-1234.5", true},
      {"0.5", "1/2", true},
      {".5", "\\frac{1}{2}", true},
      {"\\dfrac{3}{6}", "0.5", true},
      {"-\\frac{1}{4}", "-0.25", true},
      {"\xE2\x88\x92" "3", "-3", true},
      {"2468/2", "1234", true},
      {"1.5/3", "0.5", true},
      {"-0", "0", true},
      {"-0.0", "+0", true},
      {huge, huge, true},
      {huge + "/" + huge, "1", true},
      {"42", "-42", false},
      {"42.01", "42", false},
      {"1/3", "0.333333", false},
      {huge, huge.substr(1) + "8", false},
      {"1,5", "15", false},
      {"12,34", "1234", false},
      {",123", "123", false},
      {"1e3", "1000", false},
      {"1/0", "0", false},
      {"--5", "5", false},
      {"5 apples", "5", false},
      {"", "0", false},
      {".", "0", false},
      {"\\frac{1}{0}", "0", false},
  };
  for (const auto& [answer, reference, equal] : table) {
    CAPTURE(answer);
    CAPTURE(reference);
    const auto a = parse_exact_number(answer);
    const auto b = parse_exact_number(reference);
    CHECK((a && b && *a == *b) == equal);
  }
  // Longer than max_digits is not a number (no unbounded work on adversarial output).
  CHECK_FALSE(parse_exact_number(std::string(5000, '1')).has_value());
  CHECK(parse_exact_number(std::string(5000, '1'), 6000).has_value());
}

TEST_CASE("accuracy reward: string or numeric match on the extracted answer") {
  struct row {
    const char* name;
    std::string completion;
    std::string reference;
    float expected;
  };
  const std::vector<row> table{
      {"right", "<think>12+7</think><answer>19</answer>", "19", 1},
      {"right, thousands separator", "<answer>1,000</answer>", "1000", 1},
      {"right, non-numeric", "<answer>Paris</answer>", "Paris", 1},
      {"right, boxed", "so \\boxed{0.5}", "1/2", 1},
      {"wrong", "<answer>20</answer>", "19", 0},
      {"wrong text", "<answer>paris</answer>", "Paris", 0},
      {"hedging inside one answer", "<answer>19 or 20</answer>", "19", 0},
      {"several answers: the last counts", "<answer>19</answer><answer>20</answer>", "19", 0},
      {"huge number", "<answer>" + std::string(1000, '7') + "</answer>", "7", 0},
      {"no answer", "19", "19", 0},
      {"unclosed", "<answer>19", "19", 0},
      {"empty", "", "19", 0},
      {"invalid UTF-8", "<answer>\xFF\xFE</answer>", "19", 0},
  };
  const accuracy_reward accuracy{};
  for (const auto& [name, completion, reference, expected] : table) {
    CAPTURE(name);
    CHECK(accuracy(reward_input{.completion = completion, .reference = reference}) == expected);
  }
}

namespace {

// A task's own checker: the answer is "a+b" and must use the reference's two numbers, given as
// "a b", and add up to... their sum. (Countdown would evaluate any expression the same way.)
struct sum_expression_checker {
  bool operator()(std::string_view answer, std::string_view reference) const {
    const auto plus = answer.find('+');
    const auto space = reference.find(' ');
    if (plus == std::string_view::npos || space == std::string_view::npos) return false;
    return trim_whitespace(answer.substr(0, plus)) == reference.substr(0, space) &&
           trim_whitespace(answer.substr(plus + 1)) == reference.substr(space + 1);
  }
};

}  // namespace

static_assert(answer_checker<sum_expression_checker> && answer_checker<exact_match>);
static_assert(reward_function<accuracy_reward<sum_expression_checker>>);

TEST_CASE("a task plugs its own answer checker into the accuracy reward") {
  const accuracy_reward task{.checker = sum_expression_checker{}};
  CHECK(task(reward_input{.completion = "<answer>3 + 4</answer>", .reference = "3 4"}) == 1.0f);
  CHECK(task(reward_input{.completion = "<answer>7</answer>", .reference = "3 4"}) == 0.0f);
  const accuracy_reward partial{.checker = [](std::string_view answer, std::string_view) {
    return static_cast<double>(answer.size()) * 0.25;
  }};
  CHECK(partial(reward_input{.completion = "<answer>ab</answer>"}) == 0.5f);
  const accuracy_reward exact_only{.checker = exact_match{}};
  CHECK(exact_only(reward_input{.completion = "<answer>19.0</answer>", .reference = "19"}) == 0.0f);
}
