// Numbers read from JSON that rlft did not write itself, converted without undefined behaviour:
// nlohmann's get<std::size_t>() of 1e30, or get<float>() of 1e300, is a float-cast overflow (a
// finding of the fuzz harnesses). json_number<T> returns nothing unless the value is a number
// that T holds: for an integer T, an integer in its range (not a float, not a bool); for a
// floating T, a finite number within its range.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace rlft::io {

template <class T, class Json>
  requires std::is_arithmetic_v<T>
std::optional<T> json_number(const Json& value) {
  if constexpr (std::is_integral_v<T>) {
    if (value.is_number_unsigned()) {
      const auto number = value.template get<std::uint64_t>();
      if (std::in_range<T>(number)) return static_cast<T>(number);
    } else if (value.is_number_integer()) {
      const auto number = value.template get<std::int64_t>();
      if (std::in_range<T>(number)) return static_cast<T>(number);
    }
    return std::nullopt;
  } else {
    if (!value.is_number()) return std::nullopt;
    const double number = value.template get<double>();
    if (!std::isfinite(number) || std::abs(number) > static_cast<double>(std::numeric_limits<T>::max()))
      return std::nullopt;
    return static_cast<T>(number);
  }
}

}  // namespace rlft::io
