// Countdown (the number round of the television game, and TinyZero's R1-Zero task): reach a
// target with + − × ÷ from given numbers, each used at most once, every intermediate result a
// positive integer. The solver searches depth-first over pairs of remaining numbers and writes
// the steps of the first solution it finds ("13+7=20", "20*3=60", ...); the answer is one
// expression, e.g. "(13+7)*3". The checker parses an answer expression exactly (integers and
// rationals, no floating point), so any correct expression counts, not only the reference.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rlft/core/error.hpp>
#include <rlft/core/philox.hpp>

#include "problem.hpp"

namespace rlft::tasks {

struct countdown_options {
  int numbers = 3;          // given numbers, 2 to 5
  int max_number = 20;      // each in [1, max_number]
  int min_target = 10;
  int max_target = 100;
  double held_out_share = 0.1;
};

// An exact value: the checker never rounds.
struct rational {
  std::int64_t numerator = 0, denominator = 1;
};

// Recursive-descent parser and evaluator for  expr := term (('+'|'-') term)*,
// term := factor (('*'|'/') factor)*,  factor := integer | '(' expr ')'. Records the integers
// it reads. Any syntax error, division by zero or overflow beyond 10^12 makes it fail.
class expression_evaluator {
 public:
  explicit expression_evaluator(std::string_view text) : text_(text) {}

  std::optional<rational> evaluate(std::vector<std::int64_t>& used) {
    used_ = &used;
    auto value = expression(0);
    skip_spaces();
    if (!value || position_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  static constexpr std::int64_t limit = 1'000'000'000'000;
  static constexpr int max_depth = 64;

  void skip_spaces() {
    while (position_ < text_.size() && text_[position_] == ' ') ++position_;
  }
  bool accept(char c) {
    skip_spaces();
    if (position_ < text_.size() && text_[position_] == c) {
      ++position_;
      return true;
    }
    return false;
  }

  static std::optional<rational> normalise(std::int64_t n, std::int64_t d) {
    if (d == 0) return std::nullopt;
    if (d < 0) n = -n, d = -d;
    const std::int64_t g = std::gcd(n < 0 ? -n : n, d);
    n /= g, d /= g;
    if (n > limit || n < -limit || d > limit) return std::nullopt;
    return rational{n, d};
  }
  static std::optional<rational> combine(rational a, char op, rational b) {
    switch (op) {
      case '+': return normalise(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator);
      case '-': return normalise(a.numerator * b.denominator - b.numerator * a.denominator, a.denominator * b.denominator);
      case '*': return normalise(a.numerator * b.numerator, a.denominator * b.denominator);
      default: return normalise(a.numerator * b.denominator, a.denominator * b.numerator);
    }
  }

  std::optional<rational> expression(int depth) {
    auto value = term(depth);
    for (char op; value && ((op = '+', accept('+')) || (op = '-', accept('-')));) {
      const auto right = term(depth);
      value = right ? combine(*value, op, *right) : std::nullopt;
    }
    return value;
  }
  std::optional<rational> term(int depth) {
    auto value = factor(depth);
    for (char op; value && ((op = '*', accept('*')) || (op = '/', accept('/')));) {
      const auto right = factor(depth);
      value = right ? combine(*value, op, *right) : std::nullopt;
    }
    return value;
  }
  std::optional<rational> factor(int depth) {
    if (depth > max_depth) return std::nullopt;
    if (accept('(')) {
      auto value = expression(depth + 1);
      return value && accept(')') ? value : std::nullopt;
    }
    skip_spaces();
    std::int64_t n = 0;
    const std::size_t start = position_;
    while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
      n = n * 10 + (text_[position_++] - '0');
      if (n > limit) return std::nullopt;
    }
    if (position_ == start) return std::nullopt;
    used_->push_back(n);
    return rational{n, 1};
  }

  std::string_view text_;
  std::size_t position_ = 0;
  std::vector<std::int64_t>* used_ = nullptr;
};

class countdown_task {
 public:
  countdown_task(countdown_options options, std::uint64_t seed) : options_(options), seed_(seed) {
    if (options_.numbers < 2 || options_.numbers > 5)
      throw error(detail::make_message("countdown: numbers must be 2 to 5, not ", options_.numbers));
    if (options_.max_number < 2 || options_.max_number > 1000)
      throw error(detail::make_message("countdown: max number must be 2 to 1000, not ", options_.max_number));
    if (options_.min_target < 1 || options_.min_target > options_.max_target)
      throw error(detail::make_message("countdown: target range [", options_.min_target, ", ",
                                             options_.max_target, "] is empty or not positive"));
    check_held_out_share(options_.held_out_share);
  }

  const countdown_options& options() const noexcept { return options_; }

  // Problem `index` of a split: a pure function of (seed, split, index). The question lists the
  // numbers and the target: "3 7 13 -> 60".
  problem make(split which, std::uint64_t index) const {
    for (std::uint32_t attempt = 0; attempt < 4096; ++attempt) {
      philox_stream rng(seed_, (std::uint64_t{static_cast<std::uint32_t>(which)} << 63) | index, attempt);
      std::vector<std::int64_t> numbers;
      for (int k = 0; k < options_.numbers; ++k)
        numbers.push_back(1 + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(options_.max_number)));
      const std::int64_t target =
          options_.min_target + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(options_.max_target - options_.min_target + 1));
      std::string question;
      for (const auto n : numbers) question += std::to_string(n) + " ";
      question += "-> " + std::to_string(target);
      if (split_of(question, options_.held_out_share) != which) continue;
      if (std::find(numbers.begin(), numbers.end(), target) != numbers.end()) continue;  // trivial
      std::vector<term> pool;
      for (const auto n : numbers) pool.push_back({n, std::to_string(n), true, {}});
      const auto solution = search(pool, target);
      if (!solution) continue;  // unreachable target: draw again
      problem p{std::move(question), solution->expression, {}};
      for (const auto& step : solution->steps) p.reasoning += step + "\n";
      p.reasoning += "so " + p.answer;
      return p;
    }
    throw error("countdown: no solvable problem of the requested split found; widen the ranges");
  }

  // True when `answer` is an expression over the problem's numbers (each at most once) whose
  // exact value is the target.
  static bool check(const problem& p, std::string_view answer) {
    const auto arrow = p.question.find("->");
    std::vector<std::int64_t> available;
    for (std::size_t i = 0; i < arrow;) {
      const auto end = p.question.find(' ', i);
      available.push_back(std::stoll(p.question.substr(i, end - i)));
      i = end + 1;
    }
    const std::int64_t target = std::stoll(p.question.substr(arrow + 2));
    std::vector<std::int64_t> used;
    const auto value = expression_evaluator(answer).evaluate(used);
    if (!value || value->denominator != 1 || value->numerator != target || used.empty()) return false;
    for (const auto n : used) {
      const auto it = std::find(available.begin(), available.end(), n);
      if (it == available.end()) return false;
      available.erase(it);
    }
    return true;
  }

 private:
  struct term {
    std::int64_t value;
    std::string expression;
    bool atomic;                     // a plain number: no parentheses needed around it
    std::vector<std::string> steps;  // how it was made, "13+7=20" first
  };

  // Depth-first: combine two remaining terms (larger first, so a − b and a ÷ b stay positive),
  // recurse; returns the first term equal to the target.
  static std::optional<term> search(const std::vector<term>& pool, std::int64_t target) {
    for (const auto& t : pool)
      if (t.value == target) return t;
    for (std::size_t i = 0; i < pool.size(); ++i) {
      for (std::size_t j = 0; j < pool.size(); ++j) {
        if (i == j || pool[i].value < pool[j].value || (pool[i].value == pool[j].value && i > j)) continue;
        for (const char op : {'+', '-', '*', '/'}) {
          const auto a = pool[i], b = pool[j];
          if ((op == '-' && a.value == b.value) || (op == '/' && a.value % b.value != 0)) continue;
          if ((op == '*' || op == '/') && b.value == 1) continue;  // useless step
          const std::int64_t value = op == '+' ? a.value + b.value : op == '-' ? a.value - b.value
                                   : op == '*' ? a.value * b.value : a.value / b.value;
          const bool tight = op == '*' || op == '/';
          const auto wrap = [&](const term& t, bool right) {
            const bool needs = !t.atomic && (tight || (op == '-' && right));
            return needs ? "(" + t.expression + ")" : t.expression;
          };
          std::vector<term> next;
          for (std::size_t k = 0; k < pool.size(); ++k)
            if (k != i && k != j) next.push_back(pool[k]);
          term combined{value, wrap(a, false) + op + wrap(b, true), false, a.steps};
          combined.steps.insert(combined.steps.end(), b.steps.begin(), b.steps.end());
          combined.steps.push_back(std::to_string(a.value) + op + std::to_string(b.value) + "=" +
                                   std::to_string(value));
          next.push_back(std::move(combined));
          if (auto found = search(next, target)) return found;
        }
      }
    }
    return std::nullopt;
  }

  countdown_options options_;
  std::uint64_t seed_;
};

}  // namespace rlft::tasks
