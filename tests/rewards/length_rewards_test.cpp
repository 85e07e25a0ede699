// Length-shaped rewards against hand-computed values: DAPO's soft overlong punishment, the
// cosine length scaling of Yeo et al., and the n-gram repetition penalty.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "rlft/rlft.hpp"

using namespace rlft;

namespace {

reward_input of_length(std::size_t tokens, const std::vector<token_id>& storage) {
  return reward_input{.completion_tokens = std::span(storage).first(tokens)};
}

}  // namespace

TEST_CASE("soft overlong punishment: 0, then a linear ramp over the cache, then -1") {
  const std::vector<token_id> storage(200, 1);
  const soft_overlong_punishment punish{.max_length = 100, .cache_length = 20};
  struct row {
    std::size_t length;
    float expected;
  };
  for (const auto& [length, expected] : std::vector<row>{
           {0, 0.0f}, {80, 0.0f}, {81, -0.05f}, {90, -0.5f}, {100, -1.0f}, {101, -1.0f}, {200, -1.0f}}) {
    CAPTURE(length);
    CHECK(punish(of_length(length, storage)) == doctest::Approx(expected));
  }
  // Without tokens the text length (a character-level tokenizer's token count) is used.
  CHECK(punish(reward_input{.completion = std::string(90, 'x')}) == doctest::Approx(-0.5f));
  CHECK_THROWS_AS((soft_overlong_punishment{.max_length = 10, .cache_length = 11}(reward_input{})), rlft::error);
  CHECK_THROWS_AS((soft_overlong_punishment{.cache_length = 0}(reward_input{})), rlft::error);
}

TEST_CASE("cosine length scaling follows the cosine between its end points") {
  const auto always_right = [](const reward_input&) { return 1.0f; };
  const auto always_wrong = [](const reward_input&) { return 0.0f; };
  const cosine_length_reward right{.correctness = always_right, .max_length = 100};
  const cosine_length_reward wrong{.correctness = always_wrong, .max_length = 100};
  const std::vector<token_id> storage(200, 1);
  const auto cosine = [](double at_zero, double at_max, double t) {
    return at_max + 0.5 * (at_zero - at_max) * (1.0 + std::cos(std::numbers::pi * t / 100.0));
  };
  for (const std::size_t length : {0u, 1u, 25u, 50u, 99u}) {
    CAPTURE(length);
    CHECK(right(of_length(length, storage)) == doctest::Approx(cosine(2.0, 1.0, double(length))));
    CHECK(wrong(of_length(length, storage)) == doctest::Approx(cosine(-10.0, 0.0, double(length))));
  }
  CHECK(right(of_length(0, storage)) == doctest::Approx(2.0f));
  CHECK(right(of_length(50, storage)) == doctest::Approx(1.5f));
  CHECK(wrong(of_length(50, storage)) == doctest::Approx(-5.0f));
  CHECK(right(of_length(100, storage)) == -10.0f);  // reached the limit
  auto truncated = of_length(10, storage);
  truncated.truncated = true;
  CHECK(right(truncated) == -10.0f);
  // With the accuracy reward as the correctness signal.
  const cosine_length_reward accuracy_scaled{.correctness = accuracy_reward{}, .max_length = 64};
  const std::string completion = "<answer>7</answer>";  // 18 characters
  CHECK(accuracy_scaled(reward_input{.completion = completion, .reference = "7"}) ==
        doctest::Approx(1.0 + 0.5 * (1.0 + std::cos(std::numbers::pi * 18.0 / 64.0))));
  CHECK_THROWS_AS((cosine_length_reward{.correctness = always_right, .max_length = 0}(reward_input{})), rlft::error);
}

TEST_CASE("n-gram repetition penalty: max_penalty times the share of repeated n-grams") {
  struct row {
    const char* name;
    std::string text;
    std::size_t n;
    float expected;
  };
  const std::vector<row> table{
      {"no repetition", "the cat sat on a mat", 2, 0.0f},
      {"alternating pair", "a b a b a b", 2, -0.6f},   // 5 bigrams, 2 distinct
      {"one word forever", "go go go go go", 1, -0.8f},  // 5 unigrams, 1 distinct
      {"case and whitespace are ignored", "Go  go\nGO\tgo", 1, -0.75f},
      {"fewer words than n", "just two", 3, 0.0f},
      {"empty", "", 3, 0.0f},
      {"invalid UTF-8 words are bytes", "\xFF \xFF \xFE", 1, -1.0f / 3.0f},
  };
  for (const auto& [name, text, n, expected] : table) {
    CAPTURE(name);
    const ngram_repetition_penalty penalty{.n = n, .max_penalty = -1.0f};
    CHECK(penalty(reward_input{.completion = text}) == doctest::Approx(expected));
  }
  const std::vector<token_id> tokens{5, 6, 5, 6, 5, 6, 7};
  const ngram_repetition_penalty by_tokens{.n = 2, .max_penalty = -0.5f, .unit = repetition_unit::tokens};
  CHECK(by_tokens(reward_input{.completion_tokens = tokens}) == doctest::Approx(-0.5f * (1.0f - 3.0f / 6.0f)));
  CHECK_THROWS_AS((ngram_repetition_penalty{.n = 0}(reward_input{})), rlft::error);
  CHECK_THROWS_AS((ngram_repetition_penalty{.max_penalty = 0.5f}(reward_input{})), rlft::error);
}
