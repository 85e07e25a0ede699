// GSPO-token (Zheng et al., arXiv 2507.18071, eq. 13–14): GSPO's sequence ratio with each
// token's own advantage, for advantages that vary along a completion (process rewards, a
// critic's values). Per loss token of sequence i,
//   s_{i,t} = sg[s_i]·π_θ(o_t)/sg[π_θ(o_t)],   s_i = exp((1/|o_i|) Σ_t (log π_θ(o_{i,t}) − log π_old(o_{i,t}))),
//   ℓ_t = max(−A_t·s_{i,t}, −A_t·clip(s_{i,t}, 1 − ε_low, 1 + ε_high)),
// so s_{i,t} has the value s_i and the gradient s_i with respect to log π_θ(o_t) alone:
//   dℓ_t/d log π_θ(o_t) = ℓ'(s_i; A_t)·s_i,
// with the clip decided per token by the sign of A_t (verl's `gspo` loss is this form). With one
// advantage per completion it equals gspo_objective in value and gradient. Because of the
// stop-gradients this gradient is not the derivative of the loss's value when the advantages
// vary. The mean log-ratio is clamped like gspo_objective's; KL and entropy terms stay per token.
#pragma once

#include <optional>
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"

namespace rlft {

namespace detail {

template <class Value>
struct token_advantage_sequence_surrogate {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  struct sequence_state {
    Value ratio{};   // s_i
    Value passes{};  // the clamp of the mean log-ratio passes the gradient
  };

  ratio_bounds<Value> bounds;
  Value log_ratio_bound;

  RLFT_HOST_DEVICE RLFT_INLINE double sequence_log_ratio(double log_ratio, double) const noexcept { return log_ratio; }

  template <class Real>
  sequence_state begin_sequence(const sequence_arrays<Real>& in) const noexcept {
    return from_sums(sum_log_ratios_and_advantages<Value>(in).log_ratio, 0.0, static_cast<double>(in.loss_tokens));
  }

  RLFT_HOST_DEVICE RLFT_INLINE sequence_state from_sums(double log_ratio_sum, double, double tokens) const noexcept {
    const auto r = importance_ratio(splat<Value>(static_cast<scalar_of<Value>>(log_ratio_sum / tokens)), log_ratio_bound);
    return {r.ratio, r.passes};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(const sequence_state& sequence, Value, Value,
                                                              Value advantage) const noexcept {
    const auto surrogate = clipped_surrogate(sequence.ratio, advantage, bounds);
    return {surrogate.loss, surrogate.derivative * sequence.ratio * sequence.passes, sequence.ratio,
            surrogate.clipped_low, surrogate.clipped_high, surrogate.held_at_bound};
  }
};

}  // namespace detail

struct gspo_token_objective {
  clip_range clip = {.epsilon_low = 3e-4, .epsilon_high = 4e-4};
  kl_penalty kl = {};  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)
  double log_ratio_bound = 20.0;

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "gspo-token objective";  // in error messages

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_ratio_objective<detail::token_advantage_sequence_surrogate>(*this, in, out, name);
  }
};

static_assert(policy_objective<gspo_token_objective>);

}  // namespace rlft
