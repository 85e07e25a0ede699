#include <doctest/doctest.h>

#include <vector>

#include "rlft/core/token_sequences.hpp"

using rlft::token_id;

TEST_CASE("token_sequences stores ragged sequences in CSR form") {
  rlft::token_sequences sequences;
  CHECK(sequences.empty());
  CHECK(sequences.view().size() == 0);
  sequences.push_back(std::vector<token_id>{1, 2, 3});
  sequences.push_back(std::vector<token_id>{});
  sequences.push_back(std::vector<token_id>{4, 5});
  REQUIRE(sequences.size() == 3);
  CHECK(sequences.num_tokens() == 5);
  CHECK(std::vector<std::int64_t>(sequences.offsets().begin(), sequences.offsets().end()) ==
        std::vector<std::int64_t>{0, 3, 3, 5});
  CHECK(sequences[0].size() == 3);
  CHECK(sequences[1].empty());
  CHECK(sequences[2][1] == 5);
}

TEST_CASE("a subview's positions are relative to its first token") {
  const rlft::token_sequences sequences({10, 11, 12, 13, 14, 15}, {0, 2, 3, 6});
  const auto tail = sequences.view().subview(1, 2);
  REQUIRE(tail.size() == 2);
  CHECK(tail.num_tokens() == 4);
  CHECK(tail.begin(0) == 0);
  CHECK(tail.end(0) == 1);
  CHECK(tail.begin(1) == 1);
  CHECK(tail.end(1) == 4);
  CHECK(tail[0][0] == 12);
  CHECK(tail[1][2] == 15);
  CHECK(tail.tokens()[0] == 12);
  CHECK(tail.subview(1, 1)[0][0] == 13);
  CHECK(sequences.view().subview(3, 0).empty());
}

TEST_CASE("a view over borrowed arrays may start at a non-zero offset") {
  const std::vector<token_id> tokens{7, 8, 9};
  const std::vector<std::int64_t> offsets{100, 101, 103};
  const rlft::token_sequences_view view(tokens, offsets);
  CHECK(view.size() == 2);
  CHECK(view.begin(1) == 1);
  CHECK(view[1][1] == 9);
}

TEST_CASE("malformed offsets are rejected with a message naming the problem") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(rlft::token_sequences({1, 2}, {}), Contains("offsets are empty"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::token_sequences({1, 2}, {0, 2, 1}), Contains("decrease at entry 2"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(rlft::token_sequences({1, 2}, {0, 3}),
                       Contains("offsets span 3 tokens but 2 tokens were given"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::token_sequences({1, 2}, {1, 3}), Contains("first offset is 1, not 0"),
                       rlft::error);
  const std::vector<token_id> tokens{1};
  const std::vector<std::int64_t> negative{-1, 0};
  CHECK_THROWS_WITH_AS(rlft::token_sequences_view(tokens, negative),
                       Contains("first offset is negative"), rlft::error);
}
