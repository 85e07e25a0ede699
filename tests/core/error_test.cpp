#include <doctest/doctest.h>

#include "rlft/core/error.hpp"

TEST_CASE("make_message concatenates streamable parts") {
  CHECK(rlft::detail::make_message("row ", 3, " of ", 4.5, '!') == "row 3 of 4.5!");
}

TEST_CASE("rlft errors form one hierarchy under std::runtime_error") {
  CHECK_THROWS_AS(throw rlft::io_error("truncated file"), rlft::error);
  CHECK_THROWS_AS(throw rlft::error("bad option"), std::runtime_error);
  CHECK_THROWS_WITH(throw rlft::io_error("truncated file"), "truncated file");
}
