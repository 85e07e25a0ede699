// rlft::reward_function: what scores one completion. Any callable with the right signature
// is one — a lambda, a function pointer or a struct with an operator() — so user-defined
// rewards compose with rlft's built-in ones at compile time.
//
// A type R is a reward function when
//   1. it is copy-constructible (composed rewards hold their parts by value);
//   2. it is callable with a const rlft::reward_input&,
//   3. and so is a const R: operator() must be const (completions are scored in parallel, so
//      scoring must not modify the reward object);
//   4. the call returns an arithmetic type (float, double, int, bool), read as a float score.
// Optionally (rlft::batched_reward_function) it also scores a whole span of inputs at once
// through r.score_batch(inputs, scores), for rewards that amortise work across completions.
// Malformed completions are the reward's business: score them as wrong, never throw.
#pragma once

#include <concepts>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>

#include "rlft/core/token_sequences.hpp"

namespace rlft {

// One completion and what a reward may compare it with.
struct reward_input {
  std::string_view prompt = {};
  std::string_view completion = {};
  std::span<const token_id> prompt_tokens = {};
  std::span<const token_id> completion_tokens = {};
  std::string_view reference = {};  // the reference answer, or task data the reward interprets
  bool truncated = false;      // generation stopped at the length limit, not at a stop token
};

template <class R>
concept reward_copyable = std::copy_constructible<R>;

template <class R>
concept scores_completion = std::invocable<R&, const reward_input&>;

// The name is the compiler's message when operator() lacks its const.
template <class R>
concept call_operator_is_const = std::invocable<const R&, const reward_input&>;

template <class R>
concept score_is_arithmetic =
    std::is_arithmetic_v<std::remove_cvref_t<std::invoke_result_t<const R&, const reward_input&>>>;

template <class R>
concept reward_function =
    reward_copyable<R> && scores_completion<R> && call_operator_is_const<R> && score_is_arithmetic<R>;

template <class R>
concept batched_reward_function =
    reward_function<R> &&
    requires(const R& r, std::span<const reward_input> inputs, std::span<float> scores) {
      r.score_batch(inputs, scores);
    };

}  // namespace rlft
