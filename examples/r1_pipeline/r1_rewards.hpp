// The rule-based rewards of the pipeline's RL stages (DeepSeek-R1, arXiv 2501.12948):
//   accuracy   the final answer, checked by the task's own checker (any correct Countdown
//              expression counts, not only the reference one), or for the program task run
//              by rlft::code_execution_reward in the sandbox against its test case;
//   format     the strict R1 template <think>…</think><answer>…</answer>;
//   language   share of chain-of-thought words in Latin script (English), stage 2 onward;
//   quality    stage 4's general-quality signal. R1 uses a learned reward model on general
//              data; here a documented rule stands in for it: the share of the equations written
//              in the chain of thought ("5+8=13") that are true, i.e. how faithful and
//              checkable the reasoning is, not only whether its last line is right.
// The judge and the verifier apply the same rules to evaluation samples and to rejection
// sampling.
#pragma once

#include <string>
#include <string_view>

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

// Share of the lines "lhs=rhs[ words]" of the chain of thought whose two sides are equal
// integers; 0 when it holds no equation.
struct true_equations_reward {
  float operator()(const reward_input& input) const {
    const std::string_view thought = chain_of_thought(input.completion, {});
    std::size_t equations = 0, true_ones = 0;
    for (std::size_t start = 0; start < thought.size();) {
      const auto end = std::min(thought.find('\n', start), thought.size());
      const std::string_view line = thought.substr(start, end - start);
      start = end + 1;
      const auto equals = line.find('=');
      if (equals == std::string_view::npos) continue;
      ++equations;
      std::vector<std::int64_t> used;
      const auto left = tasks::expression_evaluator(line.substr(0, equals)).evaluate(used);
      const auto rhs = line.substr(equals + 1, line.find(' ', equals) - equals - 1);
      std::string right_text(rhs.starts_with('-') ? rhs.substr(1) : rhs);
      const auto right = tasks::expression_evaluator(right_text).evaluate(used);
      if (left && right && left->denominator == 1 && right->denominator == 1 &&
          left->numerator == (rhs.starts_with('-') ? -right->numerator : right->numerator))
        ++true_ones;
    }
    return equations == 0 ? 0.0f : static_cast<float>(true_ones) / static_cast<float>(equations);
  }
};

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

inline auto accuracy_component(const task_source& task) { return component("accuracy", task_accuracy_reward{task}); }
inline auto format_component() { return component("format", format_reward{}); }
inline auto language_component() { return component("language", language_consistency_reward{}); }
inline auto quality_component() { return component("quality", true_equations_reward{}); }

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

// Rejection sampling keeps correct, well-formatted completions whose reasoning is all English.
struct r1_verifier {
  task_source task;
  bool operator()(const reward_input& input) const {
    const auto outcome = r1_judge{task}(input);
    return outcome.correct && outcome.well_formatted && language_consistency_reward{}(input) == 1.0f;
  }
};

}  // namespace rlft::r1
