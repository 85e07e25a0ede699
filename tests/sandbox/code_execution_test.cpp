// rlft::code_execution_reward: programs extracted from completions, run on test cases in the
// sandbox, scored by the share passed or all-or-nothing, with a verdict per case.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "rlft/core/parallel.hpp"
#include "rlft/rewards/code_execution.hpp"

namespace {

using rlft::case_verdict;

const std::string doubling_tests =
    R"({"tests": [{"input": "1\n", "output": "2\n"}, {"input": "21\n", "output": "42\n"},
                  {"input": "-3\n", "output": "-6\n"}]})";

rlft::reward_input completion(const std::string& text, const std::string& reference = doubling_tests) {
  static std::vector<std::string> kept;  // the views must outlive the inputs
  kept.push_back(text);
  kept.push_back(reference);
  return {.completion = kept[kept.size() - 2], .reference = kept.back()};
}

}  // namespace

TEST_CASE("code execution: the fenced program's share of passed cases, or all or nothing") {
  const rlft::code_execution_reward reward{};
  const auto right = reward.evaluate(completion("Here:\n```python\nprint(2 * int(input()))\n```\n"));
  CHECK(right.score == 1.0f);
  CHECK(right.cases == std::vector<case_verdict>(3, case_verdict::passed));
  // Wrong on negative numbers: 2 of 3.
  const auto partly = completion("```python\nprint(abs(2 * int(input())))\n```");
  CHECK(reward.evaluate(partly).score == doctest::Approx(2.0 / 3.0));
  CHECK(reward.evaluate(partly).cases[2] == case_verdict::wrong_answer);
  rlft::code_execution_reward strict = reward;
  strict.all_or_nothing = true;
  CHECK(strict(partly) == 0.0f);
  // The last matching fence counts; a fence of another language does not.
  CHECK(reward(completion("```python\nprint(0)\n```\nbetter:\n```\nprint(2 * int(input()))\n```\n```js\nx\n```")) ==
        1.0f);
  CHECK(reward.evaluate(completion("no code here")).cases.empty());
  CHECK(reward(completion("```python\n\n```")) == 0.0f);
}

TEST_CASE("code execution: verdicts for crashes, timeouts, compile errors and assertion scripts") {
  const rlft::code_execution_reward reward{.limits = {.cpu_seconds = 1, .wall_seconds = 2}};
  const auto crash = reward.evaluate(completion("```python\nraise SystemExit(1)\n```"));
  CHECK(crash.cases == std::vector<case_verdict>(3, case_verdict::runtime_error));
  const auto slow = reward.evaluate(completion("```python\nwhile True: pass\n```",
                                               R"({"tests": [{"input": "", "output": ""}]})"));
  CHECK(slow.cases == std::vector<case_verdict>{case_verdict::timeout});
  rlft::code_execution_reward cpp = reward;
  cpp.language = rlft::sandbox::cpp();
  cpp.fence_tags = {"cpp", "c++"};
  const auto broken = cpp.evaluate(completion("```cpp\nint main( {\n```"));
  CHECK(broken.score == 0.0f);
  CHECK(broken.cases == std::vector<case_verdict>(3, case_verdict::compile_error));
  CHECK(cpp(completion("```cpp\n#include <iostream>\nint main() { long x; std::cin >> x; std::cout << 2 * x << '\\n'; }\n```")) ==
        1.0f);
  const std::string assertion = R"({"assert": "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"})";
  CHECK(reward(completion("```python\ndef add(a, b):\n    return a + b\n```", assertion)) == 1.0f);
  CHECK(reward(completion("```python\ndef add(a, b):\n    return a - b\n```", assertion)) == 0.0f);
}

TEST_CASE("code execution: output comparisons") {
  const std::string tests = R"({"tests": [{"input": "", "output": "1 2\n3\n"}]})";
  const auto program = [&](const std::string& printed) {
    return completion("```python\nprint(" + printed + ", end='')\n```", tests);
  };
  rlft::code_execution_reward reward{};
  CHECK(reward(program("'1 2   \\n3\\n\\n'")) == 1.0f);  // trailing spaces and blank lines
  CHECK(reward(program("'1  2\\n3\\n'")) == 0.0f);
  reward.comparison = rlft::output_comparison::tokens;
  CHECK(reward(program("'1  2\\n3\\n'")) == 1.0f);
  reward.comparison = rlft::output_comparison::exact;
  CHECK(reward(program("'1 2\\n3\\n'")) == 1.0f);
  CHECK(reward(program("'1 2\\n3'")) == 0.0f);
}

TEST_CASE("code execution: a batch in parallel scores as one at a time, and bad task data is named") {
  const rlft::code_execution_reward reward{};
  std::vector<rlft::reward_input> inputs;
  for (const char* body : {"print(2 * int(input()))", "print(abs(2 * int(input())))", "print(1)", "x = ("})
    inputs.push_back(completion(std::string("```python\n") + body + "\n```"));
  std::vector<float> scores(inputs.size());
  // As score_rollouts calls it: completions on the parallel loop's threads.
  rlft::parallel_for(inputs.size(), [&](std::size_t i) { scores[i] = reward(inputs[i]); }, rlft::costly_iterations);
  for (std::size_t i = 0; i < inputs.size(); ++i) CHECK(scores[i] == reward(inputs[i]));
  CHECK(scores == std::vector<float>{1.0f, 2.0f / 3.0f, 0.0f, 0.0f});
  CHECK_THROWS_WITH_AS(reward(completion("```python\nprint(1)\n```", "not json")),
                       doctest::Contains("not a JSON object"), rlft::error);
  CHECK_THROWS_WITH_AS(reward(completion("```python\nprint(1)\n```", R"({"tests": [{"input": 1}]})")),
                       doctest::Contains("test 0 is not an object"), rlft::error);
  CHECK_THROWS_WITH_AS(reward(completion("```python\nprint(1)\n```", "{}")), doctest::Contains("neither tests"),
                       rlft::error);
}

TEST_CASE("code execution: a verdict cache runs each program once per task, shared by copies and threads") {
  rlft::code_execution_reward reward{.source = rlft::code_source::answer_block,
                                     .cache = std::make_shared<rlft::code_verdict_cache>()};
  const rlft::code_execution_reward copy = reward;
  // The same program in eight completions, with different reasoning around it.
  std::vector<rlft::reward_input> inputs;
  for (int i = 0; i < 8; ++i)
    inputs.push_back(completion("<think>try " + std::to_string(i) + "</think><answer>print(2 * int(input()))</answer>"));
  std::vector<float> scores(inputs.size());
  rlft::parallel_for(inputs.size(), [&](std::size_t i) { scores[i] = (i % 2 ? copy : reward)(inputs[i]); },
                     rlft::costly_iterations);
  CHECK(scores == std::vector<float>(8, 1.0f));
  CHECK(reward.cache->hits() + reward.cache->misses() == 8);
  CHECK(reward.cache->misses() >= 1);  // threads that asked at once may each have run it
  const std::size_t misses = reward.cache->misses();
  const auto again = reward.evaluate_program("print(2 * int(input()))", doubling_tests);
  CHECK(again.score == 1.0f);
  CHECK(again.cases == std::vector<case_verdict>(3, case_verdict::passed));
  CHECK(reward.cache->misses() == misses);
  // Other task data, or a program that differs by a character, runs.
  CHECK(reward.evaluate_program("print(2 * int(input()))", R"({"tests": [{"input": "5\n", "output": "11\n"}]})").score ==
        0.0f);
  CHECK(reward.evaluate_program("print(2 * int(input()) )", doubling_tests).score == 1.0f);
  CHECK(reward.cache->misses() == misses + 2);
  // A program whose output is random keeps its first verdict.
  const std::string coin = "import os\nprint(os.urandom(1)[0] % 2)";
  const float first = reward.evaluate_program(coin, R"({"tests": [{"input": "", "output": "1"}]})").score;
  for (int i = 0; i < 4; ++i)
    CHECK(reward.evaluate_program(coin, R"({"tests": [{"input": "", "output": "1"}]})").score == first);
  CHECK_THROWS_WITH_AS(rlft::code_verdict_cache(0), doctest::Contains("capacity"), rlft::error);
}

TEST_CASE("code execution: with warm workers, every score and verdict is the one of a sandbox each") {
  const rlft::sandbox::run_limits limits{.cpu_seconds = 1, .wall_seconds = 0.5};
  const rlft::code_execution_reward alone{.limits = limits};
  const rlft::code_execution_reward warm{.limits = limits, .workers = std::make_shared<rlft::sandbox::python_workers>()};
  const std::string asserting = R"({"assert": "assert double(4) == 8\nassert double(-1) == -2"})";
  std::vector<rlft::reward_input> inputs;
  for (const char* body : {"print(2 * int(input()))", "print(abs(2 * int(input())))", "x = (", "import time\ntime.sleep(9)"})
    inputs.push_back(completion(std::string("```python\n") + body + "\n```"));
  for (const char* body : {"def double(x):\n    return 2 * x", "def double(x):\n    return x + 4"})
    inputs.push_back(completion(std::string("```python\n") + body + "\n```", asserting));
  std::vector<rlft::code_evaluation> warm_evaluations(inputs.size());
  rlft::parallel_for(inputs.size(), [&](std::size_t i) { warm_evaluations[i] = warm.evaluate(inputs[i]); },
                     rlft::costly_iterations);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CAPTURE(i);
    const auto expected = alone.evaluate(inputs[i]);
    CHECK(warm_evaluations[i].score == expected.score);
    CHECK(warm_evaluations[i].cases == expected.cases);
  }
  CHECK(warm_evaluations[3].cases == std::vector<case_verdict>(3, case_verdict::timeout));
  CHECK(warm_evaluations[5].cases == std::vector<case_verdict>{case_verdict::runtime_error});
  CHECK(warm.workers->programs_run_alone() == 0);
}
