// How the pipeline writes a task's problems as text for the character-level model:
//   prompt       <s> question \n
//   completion   <think> reasoning </think><answer> answer </answer> </s>   (the R1 template)
//   pretraining  <s> question \n  then either the worked solution as plain text (mixed
//                languages, no tags) or, for a share of documents, the same in the template.
// The built-in tasks (arithmetic, Countdown, arithmetic answered by a program) sit behind one
// small interface so every stage is written once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <rlft/io/text_examples.hpp>
#include <rlft/core/prompt_batch.hpp>
#include <rlft/train/sft_trainer.hpp>
#if RLFT_R1_HAS_CODE_TASK
#include <rlft/rewards/code_execution.hpp>
#endif

#include "pipeline_options.hpp"
#include "tasks/arithmetic.hpp"
#include "tasks/arithmetic_program.hpp"
#include "tasks/char_tokenizer.hpp"
#include "tasks/countdown.hpp"

namespace rlft::r1 {

class task_source {
 public:
  // `language` selects the reasoning language of arithmetic solutions (Countdown's are English).
  task_source(const pipeline_options& options, tasks::reasoning_language language)
      : task_(make(options, language)) {
#if RLFT_R1_HAS_CODE_TASK
    if (std::holds_alternative<tasks::arithmetic_program_task>(task_)) {
      // The programs need only built-ins: no site packages (-S), whose import is a large part of
      // a short program's run. Unless asked otherwise they run in warm sandboxes
      // (sandbox::python_workers): a fork of a started interpreter per program instead of a
      // sandbox and an interpreter start, which made scoring most of a step (bench/RESULTS.md).
      sandbox::language python = sandbox::python3();
      python.run.insert(python.run.begin() + 1, "-S");
      program_reward_ = code_execution_reward{
          .language = python,
          .source = code_source::answer_block,
          .cache = std::make_shared<code_verdict_cache>(),
          .workers = options.sandbox_per_program ? nullptr : std::make_shared<sandbox::python_workers>()};
    }
#endif
  }

  tasks::problem make(tasks::split split, std::uint64_t index) const {
    return std::visit([&](const auto& task) { return task.make(split, index); }, task_);
  }

  // A reward's reference: the program task's test case as task data for the code-execution
  // reward; otherwise question and answer, so a task checker can judge any answer.
  std::string reference(const tasks::problem& p) const {
    if (std::holds_alternative<tasks::arithmetic_program_task>(task_)) return tasks::arithmetic_program_task::task_data(p);
    return p.question + "\t" + p.answer;
  }

  // Whether `answer` (the content of the answer block) is right for the problem a reference
  // stands for; a program answer is run in the sandbox.
  bool check_reference(std::string_view reference, std::string_view answer) const {
#if RLFT_R1_HAS_CODE_TASK
    if (program_reward_) return program_reward_->evaluate_program(answer, reference).score == 1.0f;
#endif
    const auto separator = reference.find('\t');
    const tasks::problem p{std::string(reference.substr(0, separator)), std::string(reference.substr(separator + 1)), {}};
    return std::visit(
        [&](const auto& task) {
          if constexpr (requires { task.check(p, answer); }) return task.check(p, answer);
          else return false;  // the program task (above), in a build without the sandbox (refused at start)
        },
        task_);
  }

#if RLFT_R1_HAS_CODE_TASK
  // The program task's reward: rlft::code_execution_reward on the answer block (null for the
  // other tasks).
  const code_execution_reward* program_reward() const noexcept { return program_reward_ ? &*program_reward_ : nullptr; }
#endif

 private:
  using any_task = std::variant<tasks::arithmetic_task, tasks::countdown_task, tasks::arithmetic_program_task>;
  static any_task make(const pipeline_options& options, tasks::reasoning_language language) {
    if (options.task == "countdown") return tasks::countdown_task(options.countdown, options.seed);
    auto arithmetic = options.arithmetic;
    arithmetic.language = language;
    if (options.task == "code") {
#if !RLFT_R1_HAS_CODE_TASK
      throw error("--task code runs programs in rlft's sandbox, and this build has none (install libseccomp-dev)");
#endif
      return tasks::arithmetic_program_task(arithmetic, options.seed);
    }
    return tasks::arithmetic_task(arithmetic, options.seed);
  }
  any_task task_;
#if RLFT_R1_HAS_CODE_TASK
  std::optional<code_execution_reward> program_reward_;
#endif
};

inline std::string prompt_text(const tasks::problem& p) { return p.question + "\n"; }

inline std::string completion_text(const tasks::problem& p) {
  return "<think>" + p.reasoning + "</think><answer>" + p.answer + "</answer>";
}

// Token ids to text, for rewards and data sets.
struct tokenizer_decoder {
  const tasks::char_tokenizer* tokenizer = nullptr;
  std::string operator()(std::span<const token_id> tokens) const { return tokenizer->decode(tokens); }
};

class task_text {
 public:
  explicit task_text(const tasks::char_tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  std::vector<token_id> prompt_tokens(const tasks::problem& p) const {
    std::vector<token_id> tokens{tasks::char_tokenizer::begin_of_sequence};
    append(tokens, prompt_text(p));
    return tokens;
  }

  // Prompt, then the template completion and the end-of-sequence token.
  sft_example template_example(const tasks::problem& p) const { return example(p, completion_text(p)); }

  // Prompt, then `completion` (the text of a kept sample or a document body) and </s>.
  sft_example example(const tasks::problem& p, const std::string& completion) const {
    sft_example e{.tokens = prompt_tokens(p)};
    e.prompt_length = e.tokens.size();
    append(e.tokens, completion);
    e.tokens.push_back(tasks::char_tokenizer::end_of_sequence);
    return e;
  }

  sft_example example(const text_example& t) const {
    sft_example e{.tokens = {tasks::char_tokenizer::begin_of_sequence}};
    append(e.tokens, t.prompt);
    e.prompt_length = e.tokens.size();
    append(e.tokens, t.completion);
    e.tokens.push_back(tasks::char_tokenizer::end_of_sequence);
    return e;
  }

  // A pretraining document: the loss covers everything after <s>.
  sft_example document(const tasks::problem& p, bool in_template) const {
    sft_example e{.tokens = {tasks::char_tokenizer::begin_of_sequence}, .prompt_length = 1};
    append(e.tokens, prompt_text(p) + (in_template ? completion_text(p) : p.reasoning + "\n"));
    e.tokens.push_back(tasks::char_tokenizer::end_of_sequence);
    return e;
  }

  prompt_batch prompts(const task_source& source, tasks::split split, std::uint64_t first, std::size_t count) const {
    prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i) {
      const auto p = source.make(split, first + i);
      batch.prompts.push_back(prompt_tokens(p));
      batch.references.push_back(source.reference(p));
    }
    return batch;
  }

  const tasks::char_tokenizer& tokenizer() const noexcept { return tokenizer_; }

 private:
  void append(std::vector<token_id>& tokens, const std::string& text) const {
    const auto encoded = tokenizer_.encode(text);
    tokens.insert(tokens.end(), encoded.begin(), encoded.end());
  }
  const tasks::char_tokenizer& tokenizer_;
};

}  // namespace rlft::r1
