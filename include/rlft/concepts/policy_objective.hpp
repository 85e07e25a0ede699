// rlft::policy_objective: the loss of a policy-gradient step (clipped surrogate, GSPO,
// REINFORCE, with KL and entropy terms; formulas in rlft/objective/). Objectives see only
// per-token log-probs and return the loss together with dL/d(log-prob) for every token, so
// any policy that can compute log-probs and back-propagate a per-token gradient is trainable
// by any objective.
//
// A type O is a policy objective when
//   1. it is copy-constructible (it holds only its options);
//   2. a const O is callable as o(input, output) with a const rlft::objective_input& — the
//      batch (old and reference log-probs, advantages, loss mask), the slice of sequences
//      this call covers, the current policy's log-probs (and entropies) of those sequences —
//      and a const rlft::objective_output& of spans it writes dL/d(log-prob) (and
//      dL/d(entropy)) into;
//   3. the call returns something convertible to rlft::objective_result: the loss and its
//      metrics.
// Slices exist for micro-batching: the loss of a mini-batch is the sum of the losses of its
// slices when every slice normalises by the mini-batch totals given in objective_input::scope
// (rlft::count_aggregation_scope in rlft/objective/loss_aggregation.hpp computes them).
//
// The input and output are templates on the real type so that an objective can evaluate the
// same per-token code in double precision (rlft's objectives do, as evaluate<double>, to check
// their gradients by finite differences); the concept asks only for the float form.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "rlft/core/rollout_batch.hpp"

namespace rlft {

// The denominators of the loss aggregation: the mini-batch a gradient step averages over.
// Zero means "just this slice".
struct aggregation_scope {
  std::size_t sequences = 0;    // sequences with at least one loss token
  std::size_t loss_tokens = 0;  // tokens whose loss mask is 1
};

template <class Real>
struct basic_objective_input {
  const rollout_batch& batch;
  std::size_t first_sequence = 0;  // the slice: sequences [first_sequence,
  std::size_t sequence_count = 0;  //   first_sequence + sequence_count) of batch
  // Per-token arrays of the slice, indexed like batch.sequences(first_sequence, sequence_count).
  std::span<const Real> logprobs = {};
  std::span<const Real> entropy = {};  // empty unless the objective uses an entropy term
  // A weight per token of the slice on the policy term's loss and gradient (an importance
  // correction of rollouts from another engine, rlft/objective/rollout_correction.hpp); the KL
  // and entropy terms are not weighted. Empty: every weight 1. Finite and >= 0. For the
  // sequence-level objectives (GSPO, GMPO), whose tokens all carry the sequence's term, give one
  // weight per sequence (ratio_level::sequence): token weights that vary along a sequence make
  // the gradient differ from the derivative of the reported loss.
  std::span<const float> policy_weights = {};
  aggregation_scope scope = {};
};

template <class Real>
struct basic_objective_output {
  std::span<Real> logprob_gradients = {};  // dL/d(log-prob), same layout as input.logprobs
  std::span<Real> entropy_gradients = {};  // dL/d(entropy) when input.entropy is given
};

using objective_input = basic_objective_input<float>;
using objective_output = basic_objective_output<float>;

// Means are over the slice's loss tokens; to combine slices, weight them by `tokens` (and take
// the largest ratio_max).
struct objective_metrics {
  double policy_loss = 0.0;         // the policy-gradient part of the loss, aggregated
  double kl_mean = 0.0;             // mean per-token KL estimate against the reference policy
  double entropy_mean = 0.0;
  double clip_fraction_low = 0.0;   // share of tokens clipped at 1 − ε_low (advantage < 0)
  double clip_fraction_high = 0.0;  // share of tokens clipped at 1 + ε_high (advantage > 0)
  double dual_clip_fraction = 0.0;  // share of tokens held at the dual-clip / two-sided bound
  double ratio_mean = 0.0;
  double ratio_max = 0.0;
  std::size_t tokens = 0;
};

struct objective_result {
  double loss = 0.0;
  objective_metrics metrics = {};
};

template <class O>
concept objective_options = std::copy_constructible<O>;

template <class O>
concept returns_loss_and_gradient =
    requires(const O& o, const objective_input& input, const objective_output& output) {
      { o(input, output) } -> std::convertible_to<objective_result>;
    };

template <class O>
concept policy_objective = objective_options<O> && returns_loss_and_gradient<O>;

}  // namespace rlft
