// Language consistency: words per script in the chain of thought, table-driven, including
// mixed languages, combining marks, scripts without spaces and invalid UTF-8.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rlft/rlft.hpp"

using namespace rlft;

TEST_CASE("scripts of letters, and non-letters belonging to none") {
  CHECK(script_of(U'a') == script::latin);
  CHECK(script_of(U'\u00E9') == script::latin);
  CHECK(script_of(U'\u0416') == script::cyrillic);
  CHECK(script_of(U'\u03B1') == script::greek);
  CHECK(script_of(U'\u4E2D') == script::han);
  CHECK(script_of(U'\u3042') == script::kana);
  CHECK(script_of(U'\u30AB') == script::kana);
  CHECK(script_of(U'\uD55C') == script::hangul);
  CHECK(script_of(U'\u05D0') == script::hebrew);
  CHECK(script_of(U'\u0628') == script::arabic);
  CHECK(script_of(U'\u0915') == script::devanagari);
  for (const char32_t c : {U'1', U' ', U'.', U'\u3002', U'\uFF0C', U'\uFFFD', U'\U0001F600', U'+'})
    CHECK(script_of(c) == script::none);
  CHECK(is_combining_mark(U'\u0301'));
  CHECK((script::han | script::kana).contains(script::kana));
  CHECK_FALSE(script_set(script::latin).contains(script::cyrillic));
}

TEST_CASE("word counts by script") {
  struct row {
    const char* name;
    std::string text;
    script_set target;
    std::size_t in_target, total;
  };
  const std::vector<row> table{
      {"English", "Let me add 12 and 7, which gives 19.", script::latin, 6, 6},
      {"Chinese: one word per character", "我们先计算", script::han, 5, 5},
      {"Russian", "Сначала сложим числа", script::cyrillic, 3, 3},
      {"mixed English and Chinese", "I think 我们 should", script::latin, 3, 5},
      {"Japanese needs Han and kana", "これは漢字です", script::han | script::kana, 7, 7},
      {"script switch splits a word", "helloпривет", script::latin, 1, 2},
      {"decomposed accent stays in the word", "nai\xCC\x88ve cafe\xCC\x81", script::latin, 2, 2},
      {"digits and symbols are not words", "12 + 7 = 19 ...", script::latin, 0, 0},
      {"invalid UTF-8 separates words", "abc\xFF" "def \xE4\xBD", script::latin, 2, 2},
      {"empty", "", script::latin, 0, 0},
  };
  for (const auto& [name, text, target, in_target, total] : table) {
    CAPTURE(name);
    const auto counts = count_words_in_scripts(text, target);
    CHECK(counts.in_target == in_target);
    CHECK(counts.total == total);
  }
}

TEST_CASE("the reward scores the share of target-script words in the chain of thought") {
  struct row {
    const char* name;
    std::string completion;
    float expected;
  };
  const language_consistency_reward english{};
  const std::vector<row> table{
      {"all English", "<think>first add the numbers</think><answer>19</answer>", 1.0f},
      {"half Chinese", "<think>first 加 add 数</think><answer>19</answer>", 0.5f},
      {"only the think block counts", "<think>add them</think><answer>答案 是</answer>", 1.0f},
      {"unclosed think runs to the end", "<think>add 然", 0.5f},
      {"no tags: the whole completion", "Сначала add", 0.5f},
      {"no words", "<think>12+7=19</think><answer>19</answer>", 0.0f},
      {"empty completion", "", 0.0f},
      {"invalid UTF-8", "<think>\xFF\xFE add \xC3</think>", 1.0f},
  };
  for (const auto& [name, completion, expected] : table) {
    CAPTURE(name);
    CHECK(english(reward_input{.completion = completion}) == doctest::Approx(expected));
  }
  const language_consistency_reward lenient_empty{.score_without_words = 1.0f};
  CHECK(lenient_empty(reward_input{.completion = "<think>1+1</think>"}) == 1.0f);
  const language_consistency_reward chinese{.target = script::han, .layout = {.prompt_opens_think = true}};
  CHECK(chinese(reward_input{.completion = "先算 then add</think><answer>3</answer>"}) == doctest::Approx(0.5f));
}
