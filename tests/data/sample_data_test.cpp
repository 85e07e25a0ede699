// The committed GSM8K-shaped sample (examples/data): it reads as GSM8K, its splits share no
// question, every calculator annotation <<a op b = c>> is right, and each final answer is the
// result of the last one. (CTest also checks that the generator still writes these files.)
#include <doctest/doctest.h>

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "rlft/data/read_data_file.hpp"
#include "rlft/rewards/exact_number.hpp"

using namespace rlft::data;

namespace {

const std::filesystem::path sample_directory = RLFT_SAMPLE_DATA_DIRECTORY;
const data_file_options gsm8k_fields{.fields = {.prompt = "question", .reference = "answer"},
                                     .reference = reference_style::gsm8k};

// Evaluates "a op b op c ..." left to right (the annotations chain * and / only), integers
// with an optional leading minus.
long long evaluate_left_to_right(std::string_view expression) {
  std::size_t at = 0;
  const auto number = [&] {
    const bool negative = at < expression.size() && expression[at] == '-';
    if (negative) ++at;
    long long value = 0;
    REQUIRE((at < expression.size() && expression[at] >= '0' && expression[at] <= '9'));
    while (at < expression.size() && expression[at] >= '0' && expression[at] <= '9')
      value = value * 10 + (expression[at++] - '0');
    return negative ? -value : value;
  };
  long long value = number();
  while (at < expression.size()) {
    const char op = expression[at++];
    const long long operand = number();
    if (op == '+') value += operand;
    if (op == '-') value -= operand;
    if (op == '*') value *= operand;
    if (op == '/') {
      CHECK(value % operand == 0);
      value /= operand;
    }
  }
  return value;
}

// Checks every annotation of a solution and returns the result of the last one.
std::string check_annotations(std::string_view solution) {
  std::string last;
  for (std::size_t open = solution.find("<<"); open != std::string_view::npos; open = solution.find("<<", open + 2)) {
    const std::size_t close = solution.find(">>", open);
    REQUIRE(close != std::string_view::npos);
    const std::string_view annotation = solution.substr(open + 2, close - open - 2);
    const std::size_t equals = annotation.find('=');
    REQUIRE(equals != std::string_view::npos);
    CAPTURE(annotation);
    CHECK(evaluate_left_to_right(annotation.substr(0, equals)) ==
          std::stoll(std::string(annotation.substr(equals + 1))));
    last = annotation.substr(equals + 1);
  }
  return last;
}

}  // namespace

TEST_CASE("the GSM8K-shaped sample reads as GSM8K and its arithmetic is right") {
  const auto train = read_data_file(sample_directory / "gsm8k_sample_train.jsonl", gsm8k_fields);
  const auto test = read_data_file(sample_directory / "gsm8k_sample_test.jsonl", gsm8k_fields);
  CHECK(train.size() == 36);
  CHECK(test.size() == 12);
  std::set<std::string> train_questions;
  for (const auto& record : train) train_questions.insert(record.prompt);
  CHECK(train_questions.size() == train.size());
  bool negative = false, grouped = false;
  for (const auto* split : {&train, &test}) {
    for (const auto& record : *split) {
      CAPTURE(record.location());
      if (split == &test) CHECK(train_questions.count(record.prompt) == 0);
      const auto solution = record.fields.at("answer").get<std::string>();
      CHECK(check_annotations(solution) == record.reference);
      CHECK(rlft::parse_exact_number(record.reference));
      negative = negative || record.reference.starts_with('-');
      grouped = grouped || solution.substr(solution.rfind("####")).find(',') != std::string::npos;
    }
  }
  CHECK(negative);  // the sample exercises signs
  CHECK(grouped);   // and grouping commas
}
