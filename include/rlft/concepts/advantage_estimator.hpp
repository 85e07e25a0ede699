// rlft::advantage_estimator: what maps the rewards of a rollout batch (and, for some
// estimators, values, per-token or per-step rewards) to one advantage per token — GRPO's
// group z-score, RLOO, REINFORCE++, GAE and so on (formulas in the headers under
// rlft/advantage/).
//
// A type E is an advantage estimator when
//   1. it is copy-constructible (it holds only its options);
//   2. a const E is callable as e(batch, advantages) with a const rlft::rollout_batch& and a
//      std::span<float> of batch.num_tokens() entries that it fills: one advantage per
//      completion token (tokens outside the loss mask get 0);
//   3. the call returns something convertible to rlft::advantage_summary: how many groups
//      there were, how many had all-equal rewards (no learning signal under group
//      normalisation), and optionally which groups to drop (DAPO's dynamic sampling).
// Optionally, e.minimum_group_size() is the smallest group size at which its advantages are not
// all 0 by construction (2 for estimators that compare completions of the same prompt);
// trainers reject smaller groups. Estimators also carry a static `name` for their messages.
// Everything an estimator reads comes from the batch — the outcome rewards, and where the
// method needs them the per-token values, dense and per-step rewards, old and reference
// log-probs (KL folded into the rewards) and the greedy completions' rewards — so all
// estimators share this one call shape. Outputs beyond the advantages (GAE's critic targets)
// come from an overload with more output spans.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/core/rollout_batch.hpp"

namespace rlft {

struct advantage_summary {
  std::size_t groups = 0;
  std::size_t groups_with_equal_rewards = 0;
  // Empty, or one entry per group: 1 = drop this group from the update.
  std::vector<std::uint8_t> drop_group = {};
};

template <class E>
concept estimator_options = std::copy_constructible<E>;

template <class E>
concept fills_token_advantages =
    requires(const E& e, const rollout_batch& batch, std::span<float> advantages) {
      { e(batch, advantages) } -> std::convertible_to<advantage_summary>;
    };

template <class E>
concept advantage_estimator = estimator_options<E> && fills_token_advantages<E>;

}  // namespace rlft
