// Arithmetic answered by a program: the problems and written methods of the arithmetic task,
// whose answer is a one-line Python program that prints the result. Half of the reference
// programs print the value the chain of thought worked out, print(423); the other half leave
// the computing to the interpreter, print(345+78). Whether an answer is right is known only by
// running it: the task data of a problem is one test case for rlft::code_execution_reward,
// {"tests": [{"input": "", "output": "423"}]}, and the pipeline's --task code runs every answer
// in the sandbox.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <rlft/core/error.hpp>
#include <rlft/core/philox.hpp>

#include "arithmetic.hpp"
#include "countdown.hpp"
#include "problem.hpp"

namespace rlft::tasks {

class arithmetic_program_task {
 public:
  // Throws rlft::error on options out of range (those of the arithmetic task).
  arithmetic_program_task(arithmetic_options options, std::uint64_t seed) : arithmetic_(std::move(options), seed), seed_(seed) {}

  // Problem `index` of a split: the arithmetic problem, its answer a program.
  problem make(split which, std::uint64_t index) const {
    problem p = arithmetic_.make(which, index);
    const bool interpreter_computes = philox_stream(seed_, question_hash(p.question), program_form_counter)() & 1u;
    p.answer = "print(" + (interpreter_computes ? p.question : p.answer) + ")";
    return p;
  }

  // What the program must print: the question's value, computed here independently of the
  // solver that wrote the reasoning.
  static std::string expected_output(const problem& p) {
    std::vector<std::int64_t> used;
    const auto value = expression_evaluator(p.question).evaluate(used);
    if (!value || value->denominator != 1)
      throw error("arithmetic program: the question \"" + p.question + "\" has no integer value");
    return std::to_string(value->numerator);
  }

  // The problem as task data for rlft::code_execution_reward.
  static std::string task_data(const problem& p) {
    return nlohmann::json{{"tests", nlohmann::json::array({{{"input", ""}, {"output", expected_output(p)}}})}}.dump();
  }

 private:
  static constexpr std::uint32_t program_form_counter = 0xC0DE;
  arithmetic_task arithmetic_;
  std::uint64_t seed_;
};

}  // namespace rlft::tasks
