// rlft::io::json_number: JSON numbers converted only where the type holds them (hand-picked edges).
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "rlft/io/json_number.hpp"

using nlohmann::json;
using rlft::io::json_number;

TEST_CASE("integers convert only within the type's range, never from floats, bools or text") {
  CHECK(json_number<std::size_t>(json(42)) == std::size_t{42});
  CHECK(json_number<std::size_t>(json(18446744073709551615ull)) == std::size_t{18446744073709551615ull});
  CHECK_FALSE(json_number<std::size_t>(json(-1)));
  CHECK_FALSE(json_number<std::size_t>(json(5.18e22)));  // a float-cast overflow in nlohmann's get
  CHECK_FALSE(json_number<std::size_t>(json(3.0)));
  CHECK_FALSE(json_number<std::size_t>(json(true)));
  CHECK_FALSE(json_number<std::size_t>(json("7")));
  CHECK(json_number<std::int32_t>(json(-2147483648LL)) == INT32_MIN);
  CHECK_FALSE(json_number<std::int32_t>(json(2147483648LL)));
  CHECK_FALSE(json_number<std::int64_t>(json(9223372036854775808ull)));
}

TEST_CASE("floats convert when finite and within the type's range") {
  CHECK(json_number<float>(json(1e-6)) == doctest::Approx(1e-6f));
  CHECK(json_number<float>(json(7)) == 7.0f);
  CHECK_FALSE(json_number<float>(json(1e300)));
  CHECK(json_number<double>(json(1e300)) == 1e300);
  CHECK_FALSE(json_number<double>(json(nullptr)));
  CHECK_FALSE(json_number<float>(json("1.5")));
}
