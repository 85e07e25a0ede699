// Cosine length-scaling reward (Yeo et al., "Demystifying long chain-of-thought reasoning in
// LLMs", arXiv 2502.03373, section 4.1, the "cosine reward"): correctness rewards that depend on the
// completion length t through a cosine schedule over [0, L_max],
//     CosFn(t) = r_L + ½ (r_0 − r_L) (1 + cos(π t / L_max)),
// with (r_0, r_L) = (correct_at_zero, correct_at_max) for correct completions (shorter is
// better) and (wrong_at_zero, wrong_at_max) for wrong ones (longer thinking is punished less),
// and `exceeded` for a completion that reached L_max or was truncated. Defaults are the
// paper's: correct 2 → 1, wrong −10 → 0, exceeded −10. Correctness is any reward composed in
// (usually rlft::accuracy_reward); a completion is correct when it scores at least
// `correct_from`. Length as in rlft::completion_length. max_length = 0 throws rlft::error.
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/core/error.hpp"
#include "rlft/rewards/overlong_punishment.hpp"

namespace rlft {

template <reward_function Correctness>
struct cosine_length_reward {
  Correctness correctness = {};
  float correct_from = 1.0f;
  std::size_t max_length = 4096;  // L_max
  float correct_at_zero = 2.0f;
  float correct_at_max = 1.0f;
  float wrong_at_zero = -10.0f;
  float wrong_at_max = 0.0f;
  float exceeded = -10.0f;

  float operator()(const reward_input& input) const {
    if (max_length == 0) throw error("cosine_length_reward: max length must be at least 1");
    const std::size_t length = completion_length(input);
    if (input.truncated || length >= max_length) return exceeded;
    const bool correct = static_cast<float>(correctness(input)) >= correct_from;
    const double at_zero = correct ? correct_at_zero : wrong_at_zero;
    const double at_max = correct ? correct_at_max : wrong_at_max;
    const double progress = static_cast<double>(length) / static_cast<double>(max_length);
    return static_cast<float>(at_max + 0.5 * (at_zero - at_max) * (1.0 + std::cos(std::numbers::pi * progress)));
  }
};

}  // namespace rlft
