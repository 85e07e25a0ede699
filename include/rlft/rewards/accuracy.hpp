// Accuracy (rule-based correctness, DeepSeek-R1 report arXiv 2501.12948, section 2.2.2): 1
// when the final answer of the completion (rlft::answer_extraction) matches the reference
// under the checker, 0 when it does not or when there is no answer. The checker is a template
// parameter, so a task plugs in its own comparison without virtual calls:
//     accuracy_reward{}                                   // exact string or equal numbers
//     accuracy_reward{.checker = countdown_checker{}}     // a task's own rule
// Malformed completions (no answer block, empty answer, garbage) score 0, never throw.
#pragma once

#include "rlft/concepts/reward_function.hpp"
#include "rlft/rewards/answer_extraction.hpp"
#include "rlft/rewards/answer_match.hpp"

namespace rlft {

template <answer_checker Checker = exact_or_numeric_match>
struct accuracy_reward {
  answer_extraction extraction = {};
  Checker checker = {};

  float operator()(const reward_input& input) const {
    const auto answer = extraction(input.completion);
    if (!answer) return 0.0f;
    return static_cast<float>(checker(*answer, input.reference));
  }
};

}  // namespace rlft
