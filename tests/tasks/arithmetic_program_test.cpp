// The program task: arithmetic problems whose answer is a one-line Python program.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "tasks/arithmetic.hpp"
#include "tasks/arithmetic_program.hpp"

using rlft::tasks::arithmetic_options;
using rlft::tasks::arithmetic_program_task;
using rlft::tasks::arithmetic_task;
using rlft::tasks::split;

TEST_CASE("program task: the arithmetic problems, answered by a program in one of two forms") {
  const arithmetic_options options{.min_digits = 1, .max_digits = 3, .operands = 3, .operators = "+-*"};
  const arithmetic_task arithmetic(options, 7);
  const arithmetic_program_task programs(options, 7);
  int computed_by_interpreter = 0;
  constexpr int count = 400;
  for (const split which : {split::train, split::held_out}) {
    for (int i = 0; i < count / 2; ++i) {
      const auto plain = arithmetic.make(which, static_cast<std::uint64_t>(i));
      const auto p = programs.make(which, static_cast<std::uint64_t>(i));
      CHECK(p.question == plain.question);
      CHECK(p.reasoning == plain.reasoning);
      CHECK(p.answer == programs.make(which, static_cast<std::uint64_t>(i)).answer);  // a pure function of the index
      const bool prints_value = p.answer == "print(" + plain.answer + ")";
      const bool prints_expression = p.answer == "print(" + plain.question + ")";
      CHECK_MESSAGE((prints_value || prints_expression), p.answer);
      computed_by_interpreter += prints_expression;
      // The expected output comes from an independent parser and agrees with the solver.
      CHECK(arithmetic_program_task::expected_output(p) == plain.answer);
      const auto data = nlohmann::json::parse(arithmetic_program_task::task_data(p));
      REQUIRE(data["tests"].size() == 1);
      CHECK(data["tests"][0]["input"] == "");
      CHECK(data["tests"][0]["output"] == plain.answer);
    }
  }
  CHECK(computed_by_interpreter > count * 4 / 10);
  CHECK(computed_by_interpreter < count * 6 / 10);
}
