// Numbers written in answers, read exactly: a sign and a fraction of arbitrary-precision
// naturals, so 1,234 = 1234 = +1234.0 = 2468/2 = \frac{2468}{2}, 0.5 = 1/2 and -0 = 0, with
// no rounding and no overflow however many digits the model writes (up to max_digits; longer
// text is not read as a number). Accepted, after trimming spaces:
//   sign:      +, -, or U+2212 (−), optional;
//   decimal:   digits with an optional fraction ("12", "12.", ".5", "12.50"); the integer part
//              may group thousands with commas ("1,234,567": every group after the first has
//              exactly three digits, so "1,5" is not a number);
//   fraction:  decimal / decimal, or \frac{decimal}{decimal} (also \dfrac, \tfrac), with a
//              non-zero denominator.
// Not accepted (left to exact string comparison or a task's own checker): exponents, percent
// signs, units, surrounding $…$, expressions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/rewards/tagged_text.hpp"

namespace rlft {
namespace detail {

// A natural number in base 10^9, least significant limb first, no leading zero limbs (zero has
// no limbs).
using big_natural = std::vector<std::uint32_t>;
inline constexpr std::uint32_t big_natural_base = 1000000000u;

inline void strip_leading_zero_limbs(big_natural& n) {
  while (!n.empty() && n.back() == 0) n.pop_back();
}

// `digits` holds only '0'..'9'.
inline big_natural natural_from_digits(std::string_view digits) {
  big_natural n;
  for (std::size_t end = digits.size(); end > 0;) {
    const std::size_t begin = end >= 9 ? end - 9 : 0;
    std::uint32_t limb = 0;
    for (std::size_t i = begin; i < end; ++i) limb = limb * 10 + static_cast<std::uint32_t>(digits[i] - '0');
    n.push_back(limb);
    end = begin;
  }
  strip_leading_zero_limbs(n);
  return n;
}

inline big_natural multiply(const big_natural& a, const big_natural& b) {
  if (a.empty() || b.empty()) return {};
  std::vector<std::uint64_t> wide(a.size() + b.size(), 0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint64_t carry = 0;
    for (std::size_t j = 0; j < b.size(); ++j) {
      const std::uint64_t current = wide[i + j] + std::uint64_t{a[i]} * b[j] + carry;
      wide[i + j] = current % big_natural_base;
      carry = current / big_natural_base;
    }
    for (std::size_t k = i + b.size(); carry != 0; ++k) {
      const std::uint64_t current = wide[k] + carry;
      wide[k] = current % big_natural_base;
      carry = current / big_natural_base;
    }
  }
  big_natural product(wide.begin(), wide.end());
  strip_leading_zero_limbs(product);
  return product;
}

struct decimal_fraction {
  big_natural numerator;
  big_natural denominator;  // a power of ten
};

// An unsigned decimal as described at the top, or nullopt.
inline std::optional<decimal_fraction> parse_unsigned_decimal(std::string_view text, std::size_t max_digits) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const std::size_t point = text.find('.');
  std::string_view integer_part = text.substr(0, point);
  const std::string_view fraction_part = point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
  if (integer_part.empty() && fraction_part.empty()) return std::nullopt;
  std::string digits;
  if (integer_part.find(',') != std::string_view::npos) {
    // Thousands separators: 1-3 digits, then groups of exactly three.
    std::size_t group_start = 0;
    bool first = true;
    while (true) {
      const std::size_t comma = integer_part.find(',', group_start);
      const std::size_t group_end = comma == std::string_view::npos ? integer_part.size() : comma;
      const std::string_view group = integer_part.substr(group_start, group_end - group_start);
      if (first ? (group.empty() || group.size() > 3) : group.size() != 3) return std::nullopt;
      digits.append(group);
      first = false;
      if (comma == std::string_view::npos) break;
      group_start = comma + 1;
    }
  } else {
    digits.append(integer_part);
  }
  digits.append(fraction_part);
  if (digits.empty() || digits.size() > max_digits) return std::nullopt;
  for (const char c : digits)
    if (!is_digit(c)) return std::nullopt;
  std::string power_of_ten(fraction_part.size() + 1, '0');
  power_of_ten[0] = '1';
  return decimal_fraction{natural_from_digits(digits), natural_from_digits(power_of_ten)};
}

}  // namespace detail

struct exact_number {
  bool negative = false;
  detail::big_natural numerator = {};    // empty: zero
  detail::big_natural denominator = {};  // never zero

  friend bool operator==(const exact_number& a, const exact_number& b) {
    if (a.numerator.empty() || b.numerator.empty()) return a.numerator.empty() && b.numerator.empty();
    return a.negative == b.negative &&
           detail::multiply(a.numerator, b.denominator) == detail::multiply(b.numerator, a.denominator);
  }
};

// The number `text` writes, or nullopt.
inline std::optional<exact_number> parse_exact_number(std::string_view text, std::size_t max_digits = 4096) {
  text = trim_whitespace(text);
  exact_number number;
  if (text.starts_with('+') || text.starts_with('-')) {
    number.negative = text.front() == '-';
    text.remove_prefix(1);
  } else if (text.starts_with("\xE2\x88\x92")) {  // U+2212 MINUS SIGN
    number.negative = true;
    text.remove_prefix(3);
  }
  text = trim_whitespace(text);

  std::string_view top = text, bottom;
  bool is_fraction = false;
  for (const std::string_view command : {"\\frac{", "\\dfrac{", "\\tfrac{"}) {
    if (!text.starts_with(command) || !text.ends_with('}')) continue;
    const std::string_view inner = text.substr(command.size(), text.size() - command.size() - 1);
    const std::size_t split = inner.find("}{");
    if (split == std::string_view::npos) return std::nullopt;
    top = inner.substr(0, split);
    bottom = inner.substr(split + 2);
    is_fraction = true;
  }
  if (!is_fraction) {
    if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
      top = text.substr(0, slash);
      bottom = text.substr(slash + 1);
      is_fraction = true;
    }
  }
  const auto numerator = detail::parse_unsigned_decimal(trim_whitespace(top), max_digits);
  if (!numerator) return std::nullopt;
  if (!is_fraction) {
    number.numerator = numerator->numerator;
    number.denominator = numerator->denominator;
    return number;
  }
  const auto denominator = detail::parse_unsigned_decimal(trim_whitespace(bottom), max_digits);
  if (!denominator || denominator->numerator.empty()) return std::nullopt;
  // (a / 10^i) / (b / 10^j) = (a · 10^j) / (10^i · b)
  number.numerator = detail::multiply(numerator->numerator, denominator->denominator);
  number.denominator = detail::multiply(numerator->denominator, denominator->numerator);
  return number;
}

}  // namespace rlft
