// rlft::reward_function: lambdas, function pointers and function objects satisfy it; callables
// with the wrong signature, result or constness do not.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rlft/concepts/reward_function.hpp"

using rlft::reward_input;

namespace {

float ends_with_reference(const reward_input& input) {
  return input.completion.ends_with(input.reference) ? 1.0f : 0.0f;
}

struct length_penalty {
  double per_token = 0.01;
  double operator()(const reward_input& input) const {
    return -per_token * static_cast<double>(input.completion_tokens.size());
  }
};

struct scores_a_batch {
  float operator()(const reward_input&) const { return 0.0f; }
  void score_batch(std::span<const reward_input> inputs, std::span<float> scores) const {
    for (std::size_t i = 0; i < inputs.size(); ++i) scores[i] = static_cast<float>(i);
  }
};

struct returns_text {
  std::string operator()(const reward_input&) const { return "good"; }
};

struct reward_returning_nothing {
  void operator()(const reward_input&) const {}
};

struct counts_calls {
  int calls = 0;
  float operator()(const reward_input&) { return static_cast<float>(++calls); }
};

struct wants_a_string {
  float operator()(const std::string&) const { return 0.0f; }
};

}  // namespace

const auto is_non_empty = [](const reward_input& input) { return !input.completion.empty(); };

static_assert(rlft::reward_function<decltype(&ends_with_reference)>);
static_assert(rlft::reward_function<length_penalty>);
static_assert(rlft::reward_function<decltype(is_non_empty)>);
static_assert(rlft::batched_reward_function<scores_a_batch>);
static_assert(!rlft::batched_reward_function<length_penalty>);

static_assert(!rlft::score_is_arithmetic<returns_text>);
static_assert(!rlft::reward_function<returns_text>);
static_assert(!rlft::reward_function<reward_returning_nothing>);
static_assert(rlft::scores_completion<counts_calls> && !rlft::call_operator_is_const<counts_calls>);
static_assert(!rlft::reward_function<counts_calls>);
static_assert(!rlft::reward_function<wants_a_string>);
static_assert(!rlft::reward_function<int>);

TEST_CASE("reward functions of every callable kind score a completion") {
  const std::vector<rlft::token_id> tokens{4, 5, 6};
  const reward_input input{.prompt = "2+2=",
                           .completion = "<answer>4</answer>",
                           .completion_tokens = tokens,
                           .reference = "4</answer>"};
  CHECK(ends_with_reference(input) == 1.0f);
  CHECK(length_penalty{}(input) == doctest::Approx(-0.03));
  CHECK(is_non_empty(input));

  const std::vector<reward_input> inputs(3, input);
  std::vector<float> scores(3);
  scores_a_batch{}.score_batch(inputs, scores);
  CHECK(scores[2] == 2.0f);
}
