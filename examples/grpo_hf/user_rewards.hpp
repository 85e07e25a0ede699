// Your own rewards for grpo_hf, compiled in: write a reward (any const callable from
// rlft::reward_input to a number: the prompt, the completion's text and tokens, the reference
// answer, whether it was truncated), name it here, rebuild, and pick it with
// --reward NAME=WEIGHT. The one below is an example: it pays for committing to one answer.
#pragma once

#include <rlft/rewards/composition.hpp>
#include <rlft/rewards/tagged_text.hpp>

#include "hf_rewards.hpp"

namespace rlft::hf {

// 1 when the completion boxes exactly one answer: hedging with several \boxed{} scores 0.
struct one_boxed_answer {
  float operator()(const reward_input& input) const {
    return boxed_groups(input.completion).size() == 1 ? 1.0f : 0.0f;
  }
};

// Add yours with `+ w("name") * component("name", your_reward{})`.
inline auto user_rewards(const reward_weights& w) { return w("one_boxed") * component("one_boxed", one_boxed_answer{}); }

}  // namespace rlft::hf
