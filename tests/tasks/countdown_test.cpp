#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "tasks/countdown.hpp"

using rlft::tasks::countdown_task;
using rlft::tasks::problem;
using rlft::tasks::split;

TEST_CASE("countdown: every reference answer checks, every step is true") {
  for (const int n : {2, 3, 4}) {
    const countdown_task task({.numbers = n}, 11);
    for (std::uint64_t i = 0; i < 200; ++i) {
      const auto p = task.make(split::train, i);
      CHECK_MESSAGE(countdown_task::check(p, p.answer), p.question, " ", p.answer);
      std::istringstream lines(p.reasoning);
      for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("so ")) {
          CHECK(line == "so " + p.answer);
          continue;
        }
        const auto equals = line.find('=');
        REQUIRE(equals != std::string::npos);
        std::vector<std::int64_t> used;
        const auto value = rlft::tasks::expression_evaluator(line.substr(0, equals)).evaluate(used);
        REQUIRE(value);
        CHECK(value->numerator == std::stoll(line.substr(equals + 1)));
        CHECK(value->denominator == 1);
      }
    }
  }
}

TEST_CASE("countdown: the checker accepts any correct expression and rejects the rest") {
  const problem p{"3 7 13 -> 60", "(13+7)*3", ""};
  CHECK(countdown_task::check(p, "(13+7)*3"));
  CHECK(countdown_task::check(p, " 3 * ( 7 + 13 ) "));
  CHECK(countdown_task::check(p, "(7+13)*3"));
  CHECK_FALSE(countdown_task::check(p, "(13+7)*3+0"));   // 0 is not given
  CHECK_FALSE(countdown_task::check(p, "3*20"));         // 20 is not given
  CHECK_FALSE(countdown_task::check(p, "(13+7)*3*3/3"));  // 3 used three times
  CHECK_FALSE(countdown_task::check(p, "13+7+3"));       // 23
  CHECK_FALSE(countdown_task::check(p, "7/(3-3)"));      // division by zero
  CHECK_FALSE(countdown_task::check(p, "(13+7*3"));      // unbalanced
  CHECK_FALSE(countdown_task::check(p, ""));
  CHECK_FALSE(countdown_task::check(p, "sixty"));
  CHECK_FALSE(countdown_task::check(p, "99999999999999999999*7"));
  CHECK_FALSE(countdown_task::check(p, std::string(10000, '(') + "3" + std::string(10000, ')')));
  const problem fraction{"3 6 4 -> 2", "6/3", ""};
  CHECK(countdown_task::check(fraction, "6/3"));
  CHECK(countdown_task::check(fraction, "3/6*4"));  // a fractional intermediate, evaluated exactly
  CHECK_FALSE(countdown_task::check(fraction, "4/6*3/3"));  // 3 used twice
  CHECK_FALSE(countdown_task::check(fraction, "4/3"));
}

TEST_CASE("countdown: one seed, one problem set; splits are disjoint; options are checked") {
  const countdown_task task({.numbers = 3}, 3);
  std::set<std::string> train;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const auto p = task.make(split::train, i);
    CHECK(p.question == countdown_task({.numbers = 3}, 3).make(split::train, i).question);
    train.insert(p.question);
  }
  for (std::uint64_t i = 0; i < 200; ++i) CHECK_FALSE(train.contains(task.make(split::held_out, i).question));

  using doctest::Contains;
  CHECK_THROWS_WITH_AS(countdown_task({.numbers = 1}, 1), Contains("numbers must be 2 to 5"), rlft::error);
  CHECK_THROWS_WITH_AS(countdown_task({.min_target = 50, .max_target = 40}, 1), Contains("target range"), rlft::error);
  CHECK_THROWS_WITH_AS(countdown_task({.max_number = 1}, 1), Contains("max number"), rlft::error);
}
