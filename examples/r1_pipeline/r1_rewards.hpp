// The rule-based rewards of the pipeline's RL stages (DeepSeek-R1, arXiv 2501.12948):
//   accuracy   the final answer, checked by the task's own checker (any correct Countdown
//              expression counts, not only the reference one), or for the program task run
//              by rlft::code_execution_reward in the sandbox against its test case;
//   format     the strict R1 template <think>…</think><answer>…</answer>;
//   language   share of chain-of-thought words in Latin script (English), stage 2 onward.
// Stage 4 adds a learned reward model for general quality (rlft::learned_reward), trained on
// pairs of the stage-3 model's completions ranked by the sound-reasoning rule below.
// The judge and the verifier apply the same rules to evaluation samples and to rejection
// sampling.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rlft/rewards/accuracy.hpp>
#include <rlft/rewards/answer_extraction.hpp>
#include <rlft/rewards/composition.hpp>
#include <rlft/rewards/format.hpp>
#include <rlft/rewards/language_consistency.hpp>
#include <rlft/rewards/tagged_text.hpp>
#include <rlft/train/evaluation.hpp>

#include "task_text.hpp"
#include "tasks/countdown.hpp"

namespace rlft::r1 {

struct task_answer_checker {
  task_source task;
  bool operator()(std::string_view answer, std::string_view reference) const {
    return task.check_reference(reference, answer);
  }
};

// The lines of a completion's chain of thought.
inline std::vector<std::string_view> thought_lines(std::string_view completion) {
  const std::string_view thought = chain_of_thought(completion, {});
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= thought.size();) {
    const auto end = std::min(thought.find('\n', start), thought.size());
    lines.push_back(thought.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

inline bool repeats_a_line(std::vector<std::string_view> lines) {
  std::ranges::sort(lines);
  return std::ranges::adjacent_find(lines) != lines.end();
}

// The rule behind the final stage's preference data (the "hidden rule" its reward model learns
// and the table measures directly): the steps of a chain of thought are its lines that state a
// relation between integers, "lhs=rhs[ words]" ("5+8=13 carry 1") or "a<b" / "a>b"; a chain is
// sound when it writes at least one step and every step is true. Right answers often come with
// unsound chains (most often the closing line restates the question with an operand miscopied:
// "10+17=47" for 10+37), so correctness alone does not teach it.
struct reasoning_steps {
  std::size_t written = 0;
  std::size_t true_ones = 0;
  bool sound() const noexcept { return written > 0 && true_ones == written; }
};

inline reasoning_steps check_reasoning_steps(std::string_view completion) {
  const auto value = [](std::string_view text) -> std::optional<tasks::rational> {
    const bool negative = text.starts_with('-');
    std::vector<std::int64_t> used;
    auto v = tasks::expression_evaluator(negative ? text.substr(1) : text).evaluate(used);
    if (v && negative) v->numerator = -v->numerator;
    return v;
  };
  reasoning_steps steps;
  for (const std::string_view line : thought_lines(completion)) {
    const std::string_view relation_text = line.substr(0, line.find(' '));
    const auto at = relation_text.find_first_of("=<>");
    if (at == std::string_view::npos) continue;
    ++steps.written;
    const auto left = value(relation_text.substr(0, at)), right = value(relation_text.substr(at + 1));
    if (!left || !right || left->denominator != 1 || right->denominator != 1) continue;
    const char relation = relation_text[at];
    steps.true_ones += relation == '=' ? left->numerator == right->numerator
                       : relation == '<' ? left->numerator < right->numerator
                                         : left->numerator > right->numerator;
  }
  return steps;
}

// The task's checker on the extracted answer; for the program task, rlft's code-execution
// reward, which runs the answer block's program in the sandbox.
struct task_accuracy_reward {
  task_source task;
  float operator()(const reward_input& input) const {
#if RLFT_R1_HAS_CODE_TASK
    if (const code_execution_reward* program = task.program_reward()) return (*program)(input);
#endif
    return accuracy_reward<task_answer_checker>{.checker = {task}}(input);
  }
};

// Stage 4's general-quality reward: the reward model's normalised score z of a correct
// completion, squashed to σ(z) in (0, 1); 0 for a wrong one. The reward model learned from pairs
// of correct completions only, so it is asked only about those; and bounded below the accuracy
// reward's 1, no quality score can make a wrong answer pay better than a right one (unbounded,
// the policy traded correctness for the model's favour). Batched like the reward model.
template <batched_reward_function Scorer>
struct quality_of_correct_answers {
  Scorer scorer;
  task_accuracy_reward accuracy;
  float operator()(const reward_input& input) const {
    float score = 0.0f;
    score_batch(std::span(&input, 1), std::span(&score, 1));
    return score;
  }
  void score_batch(std::span<const reward_input> inputs, std::span<float> scores) const {
    scorer.score_batch(inputs, scores);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      scores[i] = accuracy(inputs[i]) == 1.0f ? 1.0f / (1.0f + std::exp(-scores[i])) : 0.0f;
  }
};

inline auto accuracy_component(const task_source& task) { return component("accuracy", task_accuracy_reward{task}); }
inline auto format_component() { return component("format", format_reward{}); }
inline auto language_component() { return component("language", language_consistency_reward{}); }

// Evaluation: the extracted answer, its correctness, the strict format, the length.
struct r1_judge {
  task_source task;
  sample_outcome operator()(const reward_input& input) const {
    const auto answer = answer_extraction{}(input.completion);
    return {.answer = answer ? std::string(*answer) : std::string(),
            .correct = answer && task.check_reference(input.reference, *answer),
            .well_formatted = format_reward{}(input) == 1.0f,
            .length = input.completion_tokens.size()};
  }
};

// R1's readability filter for R1-Zero's completions, at this task's scale: a chain of thought
// all in English that writes no line twice.
inline bool readable(const reward_input& input) {
  return language_consistency_reward{}(input) == 1.0f && !repeats_a_line(thought_lines(input.completion));
}

// Rejection sampling keeps correct, well-formatted completions whose reasoning is all English.
struct r1_verifier {
  task_source task;
  bool operator()(const reward_input& input) const {
    const auto outcome = r1_judge{task}(input);
    return outcome.correct && outcome.well_formatted && language_consistency_reward{}(input) == 1.0f;
  }
};

}  // namespace rlft::r1
