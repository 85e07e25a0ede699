// The code-execution reward (DeepSeek-R1 report, arXiv 2501.12948, section 2.2.2: "for
// LeetCode problems, a compiler can be used to generate feedback based on predefined test
// cases"): the program in a completion runs against the task's test cases in rlft's sandbox
// (rlft/sandbox/, target rlft::sandbox) and scores the share of cases it passes, or 1 only
// when it passes all of them.
//   - The program is the last fenced code block of the completion (```python, ```cpp, or an
//     untagged fence), or the content of the answer block (<answer>…</answer>), as configured.
//   - The task data (reward_input::reference) is JSON: {"tests": [{"input": "...", "output":
//     "..."}, ...]} runs each input on stdin and compares stdout with output; {"assert": "..."}
//     (interpreted languages) appends the script to the program and passes when it exits 0.
//   - Output comparison: exact, trailing whitespace of each line and trailing blank lines
//     ignored (the default, as most judges), or whitespace-separated tokens.
// Every case gets a verdict (case_verdict) from evaluate(); the score alone from operator().
// The cases of a completion run in one sandbox (rlft/sandbox/test_harness.hpp), each with
// `limits`. For C++ set language = sandbox::cpp() and fence_tags = {"cpp", "c++"}.
// Calls are thread-safe: score_rollouts scores a step's completions in parallel, each in its own
// sandbox; a deterministic program gets the same score every time. With a code_verdict_cache a
// program already judged on the same task data is not run again. With sandbox::python_workers, a
// Python program runs in a warm sandbox that serves program after program (a fork per case
// instead of a sandbox and an interpreter start; see that header for what the programs then
// share) rather than in a sandbox of its own. A completion without a program
// scores 0; malformed task data throws rlft::error naming the problem, as does a machine where
// the sandbox cannot run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/core/error.hpp"
#include "rlft/rewards/tagged_text.hpp"
#include "rlft/sandbox/program.hpp"
#include "rlft/sandbox/python_workers.hpp"

namespace rlft {

enum class code_source { fenced_block, answer_block };
enum class output_comparison { exact, ignore_trailing_whitespace, tokens };
enum class case_verdict {
  passed,
  wrong_answer,
  compile_error,
  runtime_error,
  timeout,
  memory_limit,
  output_limit,
  denied_by_policy,
};

inline const char* case_verdict_name(case_verdict verdict) noexcept {
  switch (verdict) {
    case case_verdict::passed: return "passed";
    case case_verdict::wrong_answer: return "wrong answer";
    case case_verdict::compile_error: return "compile error";
    case case_verdict::runtime_error: return "runtime error";
    case case_verdict::timeout: return "timeout";
    case case_verdict::memory_limit: return "memory limit";
    case case_verdict::output_limit: return "output limit";
    default: return "denied by policy";
  }
}

// What one completion earned: its score and each test case's verdict (empty: no program).
struct code_evaluation {
  float score = 0.0f;
  std::vector<case_verdict> cases;
};

namespace detail {

struct code_test {
  std::string input;
  std::string output;
};

struct code_task {
  std::vector<code_test> tests;
  std::optional<std::string> assertions;
};

inline code_task parse_code_task(std::string_view reference) {
  const auto data = nlohmann::json::parse(reference, nullptr, false);
  if (data.is_discarded() || !data.is_object())
    throw error("code execution reward: the task data is not a JSON object with \"tests\" or \"assert\"");
  code_task task;
  if (const auto tests = data.find("tests"); tests != data.end()) {
    if (!tests->is_array()) throw error("code execution reward: \"tests\" is not an array");
    for (const auto& test : *tests) {
      if (!test.is_object() || !test.contains("input") || !test.contains("output") || !test["input"].is_string() ||
          !test["output"].is_string())
        throw error(make_message("code execution reward: test ", task.tests.size(),
                                 " is not an object with string \"input\" and \"output\""));
      task.tests.push_back({test["input"].get<std::string>(), test["output"].get<std::string>()});
    }
  }
  if (const auto assertions = data.find("assert"); assertions != data.end()) {
    if (!assertions->is_string()) throw error("code execution reward: \"assert\" is not a string");
    task.assertions = assertions->get<std::string>();
  }
  if (task.tests.empty() && !task.assertions)
    throw error("code execution reward: the task data has neither tests nor an assertion script");
  return task;
}

// The text without trailing spaces on each line and without trailing blank lines.
inline std::string without_trailing_whitespace(std::string_view text) {
  std::string result;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    result.append(line);
    result.push_back('\n');
    begin = end + 1;
  }
  while (!result.empty() && result.back() == '\n') result.pop_back();
  return result;
}

inline std::vector<std::string_view> whitespace_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !space(text[i])) ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
  return tokens;
}

inline bool same_output(std::string_view actual, std::string_view expected, output_comparison comparison) {
  switch (comparison) {
    case output_comparison::exact: return actual == expected;
    case output_comparison::tokens: return whitespace_tokens(actual) == whitespace_tokens(expected);
    default: return without_trailing_whitespace(actual) == without_trailing_whitespace(expected);
  }
}

inline case_verdict verdict_of(const sandbox::run_result& run) {
  switch (run.verdict) {
    case sandbox::run_verdict::completed: return case_verdict::passed;
    case sandbox::run_verdict::timeout: return case_verdict::timeout;
    case sandbox::run_verdict::memory_limit: return case_verdict::memory_limit;
    case sandbox::run_verdict::output_limit: return case_verdict::output_limit;
    case sandbox::run_verdict::denied_by_policy: return case_verdict::denied_by_policy;
    default: return case_verdict::runtime_error;
  }
}

}  // namespace detail

// Verdicts remembered by language, program and task data. The completions of a GRPO group, or
// of an evaluation's samples, often hold the same program; with a cache it runs once. Shared by
// the copies of a reward and safe from several threads; when it holds `capacity` programs it
// starts afresh. Share one cache only among rewards with the same limits and comparison, and
// use it for deterministic programs (a program whose output is random keeps its first verdict).
class code_verdict_cache {
 public:
  explicit code_verdict_cache(std::size_t capacity = 65536) : capacity_(capacity) {
    if (capacity_ == 0) throw error("code verdict cache: the capacity must be at least 1");
  }

  std::optional<code_evaluation> find(const std::string& key) const {
    const std::lock_guard lock(mutex_);
    const auto found = verdicts_.find(key);
    if (found == verdicts_.end()) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    return found->second;
  }

  void insert(std::string key, code_evaluation evaluation) {
    const std::lock_guard lock(mutex_);
    if (verdicts_.size() >= capacity_) verdicts_.clear();
    verdicts_.insert_or_assign(std::move(key), std::move(evaluation));
  }

  std::size_t hits() const {
    const std::lock_guard lock(mutex_);
    return hits_;
  }
  std::size_t misses() const {
    const std::lock_guard lock(mutex_);
    return misses_;
  }

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, code_evaluation> verdicts_;
  mutable std::size_t hits_ = 0, misses_ = 0;
};

struct code_execution_reward {
  sandbox::language language = sandbox::python3();
  std::vector<std::string> fence_tags = {"python", "py", "python3"};  // accepted after ```; an untagged fence too
  code_source source = code_source::fenced_block;
  output_comparison comparison = output_comparison::ignore_trailing_whitespace;
  bool all_or_nothing = false;
  sandbox::run_limits limits = {.cpu_seconds = 2, .wall_seconds = 4};
  sandbox::run_limits compile_limits = sandbox::default_compile_limits();
  std::string answer_open = "<answer>";
  std::string answer_close = "</answer>";
  std::shared_ptr<code_verdict_cache> cache = nullptr;  // null: every program runs
  std::shared_ptr<sandbox::python_workers> workers = nullptr;  // null: each program in a sandbox of its own

  // The program of the completion, or nothing.
  std::optional<std::string> extract_program(std::string_view completion) const {
    if (source == code_source::answer_block) {
      const auto blocks = tagged_blocks(completion, answer_open, answer_close);
      if (blocks.empty() || trim_whitespace(blocks.back().content).empty()) return std::nullopt;
      return std::string(blocks.back().content);
    }
    std::optional<std::string> program;
    std::size_t at = 0;
    while ((at = completion.find("```", at)) != std::string_view::npos) {
      const std::size_t line_end = completion.find('\n', at);
      if (line_end == std::string_view::npos) break;
      const std::string_view tag = trim_whitespace(completion.substr(at + 3, line_end - at - 3));
      const std::size_t close = completion.find("```", line_end + 1);
      if (close == std::string_view::npos) break;
      if (tag.empty() || std::find(fence_tags.begin(), fence_tags.end(), tag) != fence_tags.end())
        program = std::string(completion.substr(line_end + 1, close - line_end - 1));
      at = close + 3;
    }
    if (program && trim_whitespace(*program).empty()) return std::nullopt;
    return program;
  }

  // Runs the completion's program on every test case. Throws rlft::error for malformed task
  // data or a sandbox that cannot run.
  code_evaluation evaluate(const reward_input& input) const {
    const auto program = extract_program(input.completion);
    if (!program) {
      detail::parse_code_task(input.reference);  // malformed task data is an error all the same
      return {};
    }
    return evaluate_program(*program, input.reference);
  }

  // Runs `program` on every test case of `task_data` (the JSON above), or finds the verdicts in
  // the cache.
  code_evaluation evaluate_program(std::string_view program, std::string_view task_data) const {
    std::string key;
    if (cache) {
      key.append(language.name).push_back('\0');
      key.append(program).push_back('\0');
      key.append(task_data);
      if (auto known = cache->find(key)) return std::move(*known);
    }
    code_evaluation evaluation = run_program(program, task_data);
    if (cache) cache->insert(std::move(key), evaluation);
    return evaluation;
  }

  float operator()(const reward_input& input) const { return evaluate(input).score; }

 private:
  code_evaluation run_program(std::string_view program, std::string_view task_data) const {
    const auto task = detail::parse_code_task(task_data);
    code_evaluation evaluation;
    const std::size_t count = task.tests.size() + (task.assertions ? 1 : 0);
    std::size_t passed = 0;
    const auto finish = [&] {
      evaluation.score = all_or_nothing ? (passed == count ? 1.0f : 0.0f)
                                        : static_cast<float>(passed) / static_cast<float>(count);
      return evaluation;
    };
    const bool warm = workers && language.python_source && language.compile.empty();
    if (!task.tests.empty()) {
      std::vector<std::string> inputs;
      for (const auto& test : task.tests) inputs.push_back(test.input);
      std::vector<sandbox::run_result> runs;
      if (warm) {
        runs = workers->run(program, inputs, limits);
      } else {
        const sandbox::prepared_program prepared(language, program, compile_limits);
        if (!prepared.compiled()) {
          evaluation.cases.assign(count, case_verdict::compile_error);
          return finish();
        }
        runs = prepared.run_all(inputs, limits);  // one sandbox for all the cases
      }
      for (std::size_t i = 0; i < runs.size(); ++i) {
        case_verdict verdict = detail::verdict_of(runs[i]);
        if (verdict == case_verdict::passed && !detail::same_output(runs[i].stdout_text, task.tests[i].output, comparison))
          verdict = case_verdict::wrong_answer;
        evaluation.cases.push_back(verdict);
        passed += verdict == case_verdict::passed;
      }
    }
    if (task.assertions) {
      if (!language.compile.empty())
        throw error("code execution reward: an assertion script needs an interpreted language");
      const std::string checked_program = std::string(program) + "\n" + *task.assertions;
      const case_verdict verdict =
          detail::verdict_of(warm ? workers->run(checked_program, {""}, limits).front()
                                  : sandbox::prepared_program(language, checked_program, compile_limits).run("", limits));
      evaluation.cases.push_back(verdict);
      passed += verdict == case_verdict::passed;
    }
    return finish();
  }
};

static_assert(reward_function<code_execution_reward>);

}  // namespace rlft
