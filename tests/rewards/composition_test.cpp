// Reward composition: sums, weights, gates and clipping compose at compile time, report every
// named component's own score in order, and nest like any reward function.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "rlft/rlft.hpp"

using namespace rlft;

namespace {

struct constant {
  float value = 0.0f;
  float operator()(const reward_input&) const { return value; }
};

template <reward_expression E>
std::vector<float> components_of(const E& expression, const reward_input& input, float& total) {
  std::vector<float> scores(E::component_count);
  total = expression.score(input, scores);
  return scores;
}

template <reward_expression E>
std::vector<std::string> names_of(const E& expression) {
  std::vector<std::string> names;
  expression.append_component_names(names);
  return names;
}

}  // namespace

static_assert(reward_expression<named_reward<constant>>);
static_assert(!reward_expression<constant> && reward_function<constant>);
using leaf = named_reward<constant>;
static_assert(std::is_same_v<decltype(component("a", constant{}) + component("b", constant{}) + component("c", constant{})),
                             reward_sum<leaf, leaf, leaf>>);
static_assert(!std::is_polymorphic_v<reward_sum<named_reward<constant>>>);

TEST_CASE("a weighted sum reports each component and adds them with their weights") {
  const auto reward = component("a", constant{1.0f}) + 0.5f * component("b", constant{4.0f}) +
                      component("c", constant{-2.0f}) * 3.0f;
  static_assert(decltype(reward)::component_count == 3);
  CHECK(names_of(reward) == std::vector<std::string>{"a", "b", "c"});
  float total = 0.0f;
  CHECK(components_of(reward, {}, total) == std::vector<float>{1.0f, 4.0f, -2.0f});
  CHECK(total == 1.0f + 2.0f - 6.0f);
  CHECK(reward(reward_input{}) == total);
}

TEST_CASE("a gate lets a reward count only when its condition passes, and still logs it") {
  const auto accuracy_when_formatted = [](float format_score) {
    return component("format", constant{format_score}) +
           gate(constant{format_score}, component("accuracy", constant{1.0f}));
  };
  float total = 0.0f;
  CHECK(components_of(accuracy_when_formatted(1.0f), {}, total) == std::vector<float>{1.0f, 1.0f});
  CHECK(total == 2.0f);
  CHECK(components_of(accuracy_when_formatted(0.0f), {}, total) == std::vector<float>{0.0f, 1.0f});
  CHECK(total == 0.0f);
  const auto custom = gate(constant{0.5f}, component("x", constant{3.0f}), 0.5f, -1.0f);
  CHECK(custom(reward_input{}) == 3.0f);
  const auto shut = gate(constant{0.4f}, component("x", constant{3.0f}), 0.5f, -1.0f);
  CHECK(shut(reward_input{}) == -1.0f);
}

TEST_CASE("clip bounds the total, not the logged components; composed rewards nest") {
  const auto bounded = clip(component("big", constant{5.0f}) + component("small", constant{-1.0f}), -1.0f, 2.0f);
  float total = 0.0f;
  CHECK(components_of(bounded, {}, total) == std::vector<float>{5.0f, -1.0f});
  CHECK(total == 2.0f);
  const auto nested = 2.0f * bounded + component("inner total", component("big", constant{5.0f}) * 0.5f);
  CHECK(names_of(nested) == std::vector<std::string>{"big", "small", "inner total"});
  CHECK(nested(reward_input{}) == 4.0f + 2.5f);
  CHECK_THROWS_AS(clip(component("x", constant{}), 1.0f, -1.0f), rlft::error);
}

TEST_CASE("built-in and user-defined rewards compose into the R1 reward") {
  const auto r1 = component("format", format_reward{}) +
                  gate(format_reward{}, component("accuracy", accuracy_reward{})) +
                  0.1f * component("brevity", [](const reward_input& in) { return in.completion.size() < 60 ? 1 : 0; });
  const reward_input good{.completion = "<think>3+4</think><answer>7</answer>", .reference = "7"};
  const reward_input unformatted{.completion = "<answer>7</answer>", .reference = "7"};
  float total = 0.0f;
  CHECK(components_of(r1, good, total) == std::vector<float>{1.0f, 1.0f, 1.0f});
  CHECK(total == doctest::Approx(2.1f));
  CHECK(components_of(r1, unformatted, total) == std::vector<float>{0.0f, 1.0f, 1.0f});
  CHECK(total == doctest::Approx(0.1f));
}

namespace {

// Scores by the completion's length; scores a batch in one call, counting the calls.
struct length_in_batches {
  std::shared_ptr<std::vector<std::size_t>> batch_sizes = std::make_shared<std::vector<std::size_t>>();
  float operator()(const reward_input& input) const { return 0.25f * static_cast<float>(input.completion.size()); }
  void score_batch(std::span<const reward_input> inputs, std::span<float> scores) const {
    batch_sizes->push_back(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) scores[i] = (*this)(inputs[i]);
  }
};

struct contains_x {
  float operator()(const reward_input& input) const { return input.completion.find('x') != std::string_view::npos; }
};

}  // namespace

TEST_CASE("score_all scores a batch as score() scores each input, batched leaves in one call") {
  static_assert(batched_reward_function<length_in_batches>);
  const length_in_batches batched;
  const auto expression =
      clip(component("length", batched) + 0.3f * gate(contains_x{}, component("x", contains_x{}), 1.0f, -0.7f) +
               gate(batched, component("constant", constant{1.5f}), 2.0f),
           -1.0f, 2.6f);
  const std::vector<std::string> texts = {"", "x", "abcx", "abcdefghijklmnop", "xxxxxxxx", "abc"};
  std::vector<reward_input> inputs;
  for (const auto& text : texts) inputs.push_back({.completion = text});
  constexpr std::size_t components = decltype(expression)::component_count;
  std::vector<float> columns(inputs.size() * components), totals(inputs.size());
  score_all(expression, inputs, {.data = columns.data(), .stride = components}, totals);
  CHECK(*batched.batch_sizes == std::vector<std::size_t>{6});  // the leaf; a gate's condition scores per input
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CAPTURE(i);
    float total = 0.0f;
    const auto each = components_of(expression, inputs[i], total);
    CHECK(std::memcmp(&total, &totals[i], sizeof(float)) == 0);
    CHECK(std::memcmp(each.data(), columns.data() + i * components, components * sizeof(float)) == 0);
  }
}
