// The token-level clipped-surrogate objective of PPO (arXiv 1707.06347, eq. 7) as GRPO
// (DeepSeekMath, arXiv 2402.03300, eq. 3) and DAPO (arXiv 2503.14476) use it: per loss token
//   ℓ_t = max(−A_t·r_t, −A_t·clip(r_t, 1 − ε_low, 1 + ε_high)) [+ dual clip, two-sided clip]
//         + β·KL_t − c_H·H_t,      r_t = exp(log π_θ(o_t) − log π_old(o_t)),
// aggregated by rlft::loss_aggregation. The clip variants and their gradient conventions are
// in ratio_clipping.hpp, the KL estimators in kl_estimator.hpp. The log-ratio is clamped to
// [−log_ratio_bound, log_ratio_bound] before the exponential (gradient 0 outside, as
// torch.clamp), so one wildly off-policy token cannot overflow the loss; the default bound 20
// (r up to 4.9e8) is far outside any ratio the clip lets through.
// R1-Zero's setting: clip = {0.2, 0.2}, kl = {.coefficient = 0.001, .estimator = k3},
// sequence_mean_token_mean. DAPO's: clip = {0.2, 0.28}, no KL, token_mean.
#pragma once

#include <cmath>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/fast_exp.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"

namespace rlft {

namespace detail {

// Clamps a log importance ratio and exponentiates it; passes = d clamp / d x (torch.clamp).
template <class Real>
struct bounded_ratio {
  Real ratio = 1;
  Real passes = 1;
};

template <class Real>
RLFT_HOST_DEVICE inline bounded_ratio<Real> importance_ratio(Real log_ratio, Real bound) noexcept {
  const Real clamped = log_ratio < -bound ? -bound : (log_ratio > bound ? bound : log_ratio);
  return {fast_exp(clamped), log_ratio >= -bound && log_ratio <= bound ? Real(1) : Real(0)};
}

inline void check_log_ratio_bound(double bound, const char* objective) {
  if (!(std::isfinite(bound) && bound > 0.0))
    throw error(make_message(objective, ": option log_ratio_bound = ", bound, " is out of range (finite and > 0)"));
}

// The per-token policy term: the clipped surrogate of the token's own ratio.
template <class Real>
struct token_clipped_surrogate {
  static constexpr bool reports_ratio = true;
  struct no_state {};

  ratio_bounds<Real> bounds;
  Real log_ratio_bound;

  no_state begin_sequence(const sequence_arrays<Real>&) const noexcept { return {}; }

  RLFT_HOST_DEVICE token_policy_term<Real> token(no_state, Real logprob, Real old_logprob,
                                                 Real advantage) const noexcept {
    const auto r = importance_ratio(logprob - old_logprob, log_ratio_bound);
    const auto surrogate = clipped_surrogate(r.ratio, advantage, bounds);
    return {surrogate.loss, surrogate.derivative * r.ratio * r.passes, r.ratio,
            surrogate.clipped_low, surrogate.clipped_high, surrogate.held_at_bound};
  }
};

}  // namespace detail

struct clipped_surrogate_objective {
  clip_range clip = {};
  kl_penalty kl = {};  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  double log_ratio_bound = 20.0;

  // Throws rlft::error when an option is out of range, the slice lies outside the batch, a
  // span has the wrong length, the entropy bonus lacks its spans, the scope is smaller than
  // the slice, or an input of a loss token is NaN or infinite.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  // The same computation in any real type (double for gradient checks).
  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    constexpr const char* objective = "clipped surrogate objective";
    detail::check_clip_range(clip, objective);
    detail::check_log_ratio_bound(log_ratio_bound, objective);
    const detail::token_clipped_surrogate<Real> policy{ratio_bounds<Real>(clip), static_cast<Real>(log_ratio_bound)};
    return detail::evaluate_objective(policy,
                                      {.kl = kl,
                                       .entropy_coefficient = entropy_coefficient,
                                       .aggregation = aggregation,
                                       .constant_divisor = constant_divisor},
                                      in, out, objective);
  }
};

static_assert(policy_objective<clipped_surrogate_objective>);

}  // namespace rlft
