#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "tasks/char_tokenizer.hpp"
#include "tasks/problem.hpp"

using rlft::tasks::char_tokenizer;

TEST_CASE("char_tokenizer: printable ASCII, newline, extra characters and four tag tokens") {
  const char_tokenizer tokenizer(rlft::tasks::phrase_characters());
  const std::string text = "<think>5+8=13 繰り上がり 1\nитого</think><answer>-42</answer>";
  const auto tokens = tokenizer.encode(text);
  CHECK(tokens.front() == char_tokenizer::think_open);
  CHECK(tokens.back() == char_tokenizer::answer_close);
  CHECK(std::count(tokens.begin(), tokens.end(), char_tokenizer::answer_open) == 1);
  CHECK(tokenizer.decode(tokens) == text);
  // One token per tag and per character: 4 tags, "5+8=13 ", 5 kanji/kana, " 1\n", 5 Cyrillic, "-42".
  CHECK(tokens.size() == 4 + 7 + 5 + 3 + 5 + 3);
  for (const auto t : tokens) CHECK(static_cast<std::size_t>(t) < tokenizer.vocab_size());

  std::set<std::string> decoded_symbols;
  for (std::size_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const rlft::token_id token = static_cast<rlft::token_id>(id);
    decoded_symbols.insert(tokenizer.decode({&token, 1}));
  }
  // Every id decodes to a distinct symbol, except padding and the sequence markers (empty).
  CHECK(decoded_symbols.size() == tokenizer.vocab_size() - 2);
}

TEST_CASE("char_tokenizer: sequence markers and padding decode to nothing, unknown ids to U+FFFD") {
  const char_tokenizer tokenizer;
  CHECK(tokenizer.vocab_size() == 7 + 95 + 1);
  const std::vector<rlft::token_id> tokens{char_tokenizer::begin_of_sequence, 7 + ('a' - ' '),
                                           char_tokenizer::end_of_sequence, char_tokenizer::padding,
                                           103, -1};
  CHECK(tokenizer.decode(tokens) == "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("char_tokenizer: invalid UTF-8 and characters outside the alphabet are errors with offsets") {
  using doctest::Contains;
  const char_tokenizer tokenizer;
  CHECK_THROWS_WITH_AS(tokenizer.encode("ab\xE3\x81"), Contains("invalid UTF-8 at byte 2"), rlft::error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("a\xC3(b"), Contains("invalid UTF-8 at byte 1"), rlft::error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("\xFF"), Contains("invalid UTF-8 at byte 0"), rlft::error);
  CHECK_THROWS_WITH_AS(tokenizer.encode("x=\xD0\xB6"), Contains("U+436 at byte 2 is not in the alphabet"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(char_tokenizer("\xE3"), Contains("invalid UTF-8"), rlft::error);
}
