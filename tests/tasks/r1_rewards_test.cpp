// The R1 pipeline's rules beyond correctness (examples/r1_pipeline/r1_rewards.hpp): the
// sound-reasoning rule its reward model learns, the readability filter of the cold start from
// R1-Zero, and the final stage's quality reward of correct answers.
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1_pipeline/r1_rewards.hpp"

namespace {

using rlft::r1::check_reasoning_steps;

// The input views its arguments: they must outlive it.
rlft::reward_input completion_of(std::string_view completion, std::string_view reference = {}) {
  return {.completion = completion, .reference = reference};
}

std::string in_template(const std::string& reasoning, const std::string& answer) {
  return "<think>" + reasoning + "</think><answer>" + answer + "</answer>";
}

}  // namespace

TEST_CASE("sound reasoning: every relation written is true, counted by hand") {
  const auto sound = check_reasoning_steps(in_template("0+7=7\n1+3=4\n10+37=47\nso 47", "47"));
  CHECK(sound.written == 3);
  CHECK(sound.true_ones == 3);
  CHECK(sound.sound());
  // The miscopied restatement the stage-3 model writes with a right answer.
  const auto miscopied = check_reasoning_steps(in_template("0+7=7\n1+3=4\n10+17=47\nso 47", "47"));
  CHECK(miscopied.written == 3);
  CHECK(miscopied.true_ones == 2);
  CHECK_FALSE(miscopied.sound());
  // Comparisons, notes after a space, negative results; a false comparison.
  const auto subtraction = check_reasoning_steps(in_template("49<81\n11-9=2 borrow 1\n7-4=3\n49-81=-32\nso -32", "-32"));
  CHECK(subtraction.written == 4);
  CHECK(subtraction.sound());
  CHECK(check_reasoning_steps(in_template("90<9\n90-9=81\nso 81", "81")).true_ones == 1);
  CHECK(check_reasoning_steps(in_template("9>2\nso 7", "7")).sound());
  // A step that does not parse counts as written and untrue; no step at all is not sound.
  const auto garbled = check_reasoning_steps(in_template("9+6=15y carry 1\nso 15", "15"));
  CHECK(garbled.written == 1);
  CHECK(garbled.true_ones == 0);
  CHECK_FALSE(check_reasoning_steps(in_template("so 7", "7")).sound());
  CHECK_FALSE(check_reasoning_steps("").sound());
}

TEST_CASE("sound reasoning: the solvers' own chains of thought are sound") {
  const rlft::tasks::arithmetic_task arithmetic({.min_digits = 1, .max_digits = 3, .operands = 3, .operators = "+-*"}, 5);
  const rlft::tasks::countdown_task countdown({.numbers = 4, .max_number = 12, .min_target = 5, .max_target = 60}, 5);
  for (std::uint64_t i = 0; i < 200; ++i) {
    for (const auto& p : {arithmetic.make(rlft::tasks::split::train, i), countdown.make(rlft::tasks::split::train, i)}) {
      CAPTURE(p.reasoning);
      CHECK(check_reasoning_steps(rlft::r1::completion_text(p)).sound());
    }
  }
}

TEST_CASE("readable: all English, no line written twice") {
  CHECK(rlft::r1::readable(completion_of(in_template("8+6=14 carry 1\n6+1=7\n68+6=74\nso 74", "74"))));
  CHECK_FALSE(rlft::r1::readable(completion_of(in_template("5+2=7\n5+2=7\nso 7", "7"))));
  CHECK_FALSE(rlft::r1::readable(completion_of(in_template("8+6=14 перенос 1\n6+1=7\n68+6=74\nso 74", "74"))));
}

namespace {

// A batched stand-in for the reward model: the score is the completion's length minus 40.
struct length_scorer {
  float operator()(const rlft::reward_input& input) const { return static_cast<float>(input.completion.size()) - 40.0f; }
  void score_batch(std::span<const rlft::reward_input> inputs, std::span<float> scores) const {
    for (std::size_t i = 0; i < inputs.size(); ++i) scores[i] = (*this)(inputs[i]);
  }
};

}  // namespace

TEST_CASE("the final stage's quality reward: σ of the reward model's score for a right answer, 0 otherwise") {
  rlft::r1::pipeline_options options;
  const rlft::r1::task_source task(options, rlft::tasks::reasoning_language::english);
  const rlft::r1::quality_of_correct_answers<length_scorer> quality{{}, {task}};
  const std::string right = in_template("5+2=7\nso 7", "7"), wrong = in_template("5+2=8\nso 8", "8");
  const std::vector<rlft::reward_input> inputs{completion_of(right, "5+2\t7"), completion_of(wrong, "5+2\t7")};
  std::vector<float> scores(2);
  quality.score_batch(inputs, scores);
  const double z = static_cast<double>(right.size()) - 40.0;
  CHECK(scores[0] == doctest::Approx(1.0 / (1.0 + std::exp(-z))));
  CHECK(scores[1] == 0.0f);
  CHECK(quality(inputs[0]) == scores[0]);  // one at a time, the same
}
