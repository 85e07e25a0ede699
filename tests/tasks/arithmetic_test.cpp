#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "tasks/arithmetic.hpp"
#include "tasks/countdown.hpp"

using rlft::tasks::arithmetic_options;
using rlft::tasks::arithmetic_task;
using rlft::tasks::split;

namespace {

// Exact value of an arithmetic expression, by the countdown checker's independent parser.
std::int64_t evaluate(std::string_view expression) {
  std::vector<std::int64_t> used;
  std::string text(expression);
  const bool negative = text.starts_with('-');
  const auto value = rlft::tasks::expression_evaluator(negative ? text.substr(1) : text).evaluate(used);
  REQUIRE(value);
  REQUIRE(value->denominator == 1);
  return negative ? -value->numerator : value->numerator;
}

// Every line "lhs=rhs[ words]" of a written method must be true.
void check_reasoning(const rlft::tasks::problem& p, std::string_view so_word) {
  std::istringstream lines(p.reasoning);
  std::string line, last;
  while (std::getline(lines, line)) {
    last = line;
    const auto equals = line.find('=');
    if (equals == std::string::npos) continue;  // "a<b" or the final line
    const auto space = line.find(' ', equals);
    const std::string rhs = line.substr(equals + 1, space == std::string::npos ? std::string::npos : space - equals - 1);
    CHECK_MESSAGE(evaluate(line.substr(0, equals)) == std::stoll(rhs), p.question, ": ", line);
  }
  CHECK(last == std::string(so_word) + " " + p.answer);
}

}  // namespace

TEST_CASE("arithmetic problems are right, their written methods true, their answers checkable") {
  for (const std::string ops : {"+", "-", "*", "+-*"}) {
    const arithmetic_task task({.min_digits = 1, .max_digits = 4, .operands = ops.size() > 1 ? 3 : 2, .operators = ops}, 7);
    for (std::uint64_t i = 0; i < 300; ++i) {
      const auto p = task.make(split::train, i);
      CHECK_MESSAGE(evaluate(p.question) == std::stoll(p.answer), p.question);
      check_reasoning(p, "so");
      CHECK(arithmetic_task::check(p, " " + p.answer + "\n"));
      CHECK_FALSE(arithmetic_task::check(p, p.answer + "0"));
      CHECK_FALSE(arithmetic_task::check(p, ""));
    }
  }
}

TEST_CASE("arithmetic: a known problem and its written method") {
  // Find "345+78"-like carries in a fixed problem: build it through the public path by search.
  const arithmetic_task task({.min_digits = 3, .max_digits = 3}, 1);
  bool saw_carry = false, saw_borrow = false;
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto p = task.make(split::train, i);
    saw_carry = saw_carry || p.reasoning.find("carry 1") != std::string::npos;
    saw_borrow = saw_borrow || p.reasoning.find("borrow 1") != std::string::npos;
  }
  CHECK(saw_carry);
  CHECK(saw_borrow);
}

TEST_CASE("arithmetic: one seed, one problem set; splits are disjoint") {
  const arithmetic_task task({.min_digits = 1, .max_digits = 2}, 42);
  const arithmetic_task same({.min_digits = 1, .max_digits = 2}, 42);
  const arithmetic_task other({.min_digits = 1, .max_digits = 2}, 43);
  std::set<std::string> train, held_out;
  std::size_t differences = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const auto p = task.make(split::train, i);
    CHECK(p.question == same.make(split::train, i).question);
    differences += p.question != other.make(split::train, i).question;
    train.insert(p.question);
    held_out.insert(task.make(split::held_out, i).question);
  }
  CHECK(differences > 1000);
  for (const auto& q : held_out) CHECK(!train.contains(q));
  CHECK(held_out.size() > 100);
}

TEST_CASE("splits hold about the held-out share even of a small problem space") {
  // Every one-digit problem: 10 × 10 × 2 questions.
  std::size_t held_out = 0;
  for (int a = 0; a < 10; ++a)
    for (int b = 0; b < 10; ++b)
      for (const char op : {'+', '-'})
        held_out += rlft::tasks::split_of(std::to_string(a) + op + std::to_string(b), 0.1) == split::held_out;
  CHECK(held_out >= 8);   // 20 expected; binomial(200, 0.1) lies in [8, 32] with probability > 0.998
  CHECK(held_out <= 32);
  const arithmetic_task one_digit({.min_digits = 1, .max_digits = 1}, 3);
  CHECK_NOTHROW(one_digit.make(split::held_out, 0));
}

TEST_CASE("arithmetic: reasoning languages") {
  const auto count = [](rlft::tasks::reasoning_language language, std::string_view word) {
    const arithmetic_task task({.min_digits = 2, .max_digits = 3, .language = language}, 5);
    int n = 0;
    for (std::uint64_t i = 0; i < 200; ++i) n += task.make(split::train, i).reasoning.find(word) != std::string::npos;
    return n;
  };
  using rlft::tasks::reasoning_language;
  CHECK(count(reasoning_language::japanese, "よって") == 200);
  CHECK(count(reasoning_language::russian, "итого") == 200);
  CHECK(count(reasoning_language::english, "итого") == 0);
  CHECK(count(reasoning_language::mixed, "итого") > 20);
  CHECK(count(reasoning_language::mixed, "so ") > 20);
}

TEST_CASE("arithmetic: options out of range are errors") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(arithmetic_task({.min_digits = 0}, 1), Contains("digits"), rlft::error);
  CHECK_THROWS_WITH_AS(arithmetic_task({.min_digits = 4, .max_digits = 3}, 1), Contains("digits"), rlft::error);
  CHECK_THROWS_WITH_AS(arithmetic_task({.operands = 5}, 1), Contains("operands must be 2 to 4"), rlft::error);
  CHECK_THROWS_WITH_AS(arithmetic_task({.operators = "+/"}, 1), Contains("operators"), rlft::error);
  CHECK_THROWS_WITH_AS(arithmetic_task({.held_out_share = 1.0}, 1), Contains("held-out share"), rlft::error);
}
