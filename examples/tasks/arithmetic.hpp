// Multi-digit arithmetic with a written method: "345+78", "900-123*4", solved with standard
// precedence, each binary operation worked out column by column (carries, borrows, a one-digit
// multiplier) the way a pupil writes it, ending in the result. The chain of thought is what the
// cold-start data of the R1 pipeline is made of; the reference answer is the integer result.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rlft/core/error.hpp>
#include <rlft/core/philox.hpp>

#include "problem.hpp"

namespace rlft::tasks {

struct arithmetic_options {
  int min_digits = 1;                // digits of each operand (a multiplier always has one)
  int max_digits = 3;
  int operands = 2;                  // 2 to 4
  std::string operators = "+-";      // any of + - *
  reasoning_language language = reasoning_language::english;
  double held_out_share = 0.1;
};

class arithmetic_task {
 public:
  // Throws rlft::error on options out of range.
  arithmetic_task(arithmetic_options options, std::uint64_t seed)
      : options_(std::move(options)), seed_(seed) {
    if (options_.min_digits < 1 || options_.max_digits > 9 || options_.min_digits > options_.max_digits)
      throw error(detail::make_message("arithmetic: digits must satisfy 1 <= min <= max <= 9, not [",
                                       options_.min_digits, ", ", options_.max_digits, "]"));
    if (options_.operands < 2 || options_.operands > 4)
      throw error(detail::make_message("arithmetic: operands must be 2 to 4, not ", options_.operands));
    if (options_.operators.empty() ||
        options_.operators.find_first_not_of("+-*") != std::string::npos)
      throw error("arithmetic: operators must be a non-empty subset of \"+-*\", not \"" +
                  options_.operators + "\"");
    check_held_out_share(options_.held_out_share);
  }

  const arithmetic_options& options() const noexcept { return options_; }

  // Problem `index` of a split: a pure function of (seed, split, index).
  problem make(split which, std::uint64_t index) const {
    for (std::uint32_t attempt = 0; attempt < 4096; ++attempt) {
      philox_stream rng(seed_, (std::uint64_t{static_cast<std::uint32_t>(which)} << 63) | index, attempt);
      std::vector<std::int64_t> numbers;
      std::string ops;
      numbers.push_back(draw_number(rng, options_.min_digits, options_.max_digits));
      for (int k = 1; k < options_.operands; ++k) {
        const char op = options_.operators[rng() % options_.operators.size()];
        ops += op;
        numbers.push_back(op == '*' ? 2 + rng() % 8 : draw_number(rng, options_.min_digits, options_.max_digits));
      }
      std::string question = std::to_string(numbers[0]);
      for (std::size_t k = 0; k < ops.size(); ++k) append(question, ops[k], std::to_string(numbers[k + 1]));
      if (split_of(question, options_.held_out_share) != which) continue;
      if (auto solved = solve(numbers, ops, rng)) {
        solved->question = std::move(question);
        return std::move(*solved);
      }
    }
    throw error("arithmetic: no problem of the requested split found; widen the digit range");
  }

  // True when `answer` (surrounding spaces ignored) is the reference integer.
  static bool check(const problem& p, std::string_view answer) {
    const auto first = answer.find_first_not_of(" \n");
    if (first == std::string_view::npos) return false;
    const auto last = answer.find_last_not_of(" \n");
    return answer.substr(first, last - first + 1) == p.answer;
  }

 private:
  static std::int64_t draw_number(philox_stream& rng, int min_digits, int max_digits) {
    const int digits = min_digits + static_cast<int>(rng() % static_cast<std::uint32_t>(max_digits - min_digits + 1));
    std::int64_t low = 1;
    for (int d = 1; d < digits; ++d) low *= 10;
    const std::int64_t high = low * 10 - 1;
    return (digits == 1 ? 0 : low) + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(high - (digits == 1 ? 0 : low) + 1));
  }

  const phrase_book& phrases_for_step(philox_stream& rng) const {
    switch (options_.language) {
      case reasoning_language::english: return english_phrases;
      case reasoning_language::japanese: return japanese_phrases;
      case reasoning_language::russian: return russian_phrases;
      case reasoning_language::mixed: break;
    }
    static constexpr const phrase_book* books[] = {&english_phrases, &japanese_phrases, &russian_phrases};
    return *books[rng() % 3];
  }

  // Evaluates with precedence (products first, then sums left to right), writing each step.
  // Rejects (nullopt) problems with more than two operands whose running value goes negative:
  // the written methods here handle a negative result only as a whole answer.
  std::optional<problem> solve(std::vector<std::int64_t> numbers, std::string ops, philox_stream& rng) const {
    std::vector<std::string> lines;
    for (std::size_t k = 0; k < ops.size();) {
      if (ops[k] != '*') {
        ++k;
        continue;
      }
      const auto product = multiply(numbers[k], numbers[k + 1], phrases_for_step(rng), lines);
      numbers[k] = product;
      numbers.erase(numbers.begin() + static_cast<std::ptrdiff_t>(k) + 1);
      ops.erase(k, 1);
    }
    std::int64_t value = numbers[0];
    for (std::size_t k = 0; k < ops.size(); ++k) {
      const auto& words = phrases_for_step(rng);
      value = ops[k] == '+' ? add(value, numbers[k + 1], words, lines)
                            : subtract(value, numbers[k + 1], words, lines);
      if (value < 0 && options_.operands > 2) return std::nullopt;
    }
    const std::string answer = std::to_string(value);
    lines.push_back(std::string(phrases_for_step(rng).so) + " " + answer);
    std::string reasoning;
    for (const auto& line : lines) append(reasoning, reasoning.empty() ? "" : "\n", line);
    return problem{{}, answer, std::move(reasoning)};
  }

  // s += each part (char, string or string_view), without temporaries.
  template <class... Parts>
  static void append(std::string& s, const Parts&... parts) {
    ((s += parts), ...);
  }

  static std::vector<int> digits_of(std::int64_t n) {  // least significant first
    std::vector<int> digits;
    do {
      digits.push_back(static_cast<int>(n % 10));
      n /= 10;
    } while (n > 0);
    return digits;
  }

  // "5+8=13 carry 1", one line per column where something happens.
  static std::int64_t add(std::int64_t a, std::int64_t b, const phrase_book& words, std::vector<std::string>& lines) {
    const auto da = digits_of(a), db = digits_of(b);
    int carry = 0;
    for (std::size_t i = 0; i < std::max(da.size(), db.size()); ++i) {
      std::vector<int> terms;
      if (i < da.size()) terms.push_back(da[i]);
      if (i < db.size()) terms.push_back(db[i]);
      if (carry) terms.push_back(carry);
      int sum = 0;
      std::string line;
      for (const int t : terms) {
        if (!line.empty()) line += '+';
        line += std::to_string(t);
        sum += t;
      }
      carry = sum / 10;
      if (terms.size() > 1) {
        append(line, "=", std::to_string(sum));
        if (carry) append(line, " ", words.carry, " 1");
        lines.push_back(line);
      }
    }
    lines.push_back(std::to_string(a) + "+" + std::to_string(b) + "=" + std::to_string(a + b));
    return a + b;
  }

  // Column subtraction with borrows; a smaller minuend is handled as −(b − a).
  static std::int64_t subtract(std::int64_t a, std::int64_t b, const phrase_book& words, std::vector<std::string>& lines) {
    const bool negative = a < b;
    const std::int64_t top = negative ? b : a, bottom = negative ? a : b;
    if (negative) lines.push_back(std::to_string(a) + "<" + std::to_string(b));
    const auto dt = digits_of(top), db = digits_of(bottom);
    int borrow = 0;
    for (std::size_t i = 0; i < dt.size(); ++i) {
      const int subtrahend = i < db.size() ? db[i] : 0;
      if (i >= db.size() && borrow == 0) continue;
      const int x = dt[i] - borrow;
      borrow = x < subtrahend ? 1 : 0;
      const int minuend = x + 10 * borrow;
      std::string line = std::to_string(minuend) + "-" + std::to_string(subtrahend) + "=" +
                         std::to_string(minuend - subtrahend);
      if (borrow) append(line, " ", words.borrow, " 1");
      lines.push_back(line);
    }
    const std::int64_t result = a - b;
    lines.push_back(std::to_string(a) + "-" + std::to_string(b) + "=" + std::to_string(result));
    return result;
  }

  // Multiplication by one digit: "5*7=35 carry 3", "4*7+3=31 carry 3", ...
  static std::int64_t multiply(std::int64_t a, std::int64_t digit, const phrase_book& words, std::vector<std::string>& lines) {
    const auto da = digits_of(a);
    std::int64_t carry = 0;
    for (std::size_t i = 0; i < da.size(); ++i) {
      const std::int64_t value = da[i] * digit + carry;
      std::string line = std::to_string(da[i]) + "*" + std::to_string(digit);
      if (carry) append(line, "+", std::to_string(carry));
      append(line, "=", std::to_string(value));
      carry = value / 10;
      if (carry && i + 1 < da.size()) append(line, " ", words.carry, " ", std::to_string(carry));
      lines.push_back(line);
    }
    lines.push_back(std::to_string(a) + "*" + std::to_string(digit) + "=" + std::to_string(a * digit));
    return a * digit;
  }

  arithmetic_options options_;
  std::uint64_t seed_;
};

}  // namespace rlft::tasks
