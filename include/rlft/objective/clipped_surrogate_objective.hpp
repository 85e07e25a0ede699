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
#include <optional>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/detail/importance_ratio.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"

namespace rlft {

namespace detail {

inline void check_log_ratio_bound(double bound, const char* objective) {
  check_option(bound > 0.0 && bound <= max_log_ratio_bound, objective, "log_ratio_bound", bound,
               "in (0, 80]: exp(80) is near the largest float");
}

// The per-token policy term: the clipped surrogate of the token's own ratio.
template <class Value>
struct token_clipped_surrogate {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  struct no_state {};

  ratio_bounds<Value> bounds;
  Value log_ratio_bound;

  template <class Real>
  no_state begin_sequence(const sequence_arrays<Real>&) const noexcept {
    return {};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(no_state, Value logprob, Value old_logprob,
                                                  Value advantage) const noexcept {
    const auto r = importance_ratio(logprob - old_logprob, log_ratio_bound);
    const auto surrogate = clipped_surrogate(r.ratio, advantage, bounds);
    return {surrogate.loss, surrogate.derivative * r.ratio * r.passes, r.ratio,
            surrogate.clipped_low, surrogate.clipped_high, surrogate.held_at_bound};
  }
};

// The policy term of an objective with an importance ratio (token or sequence level), after
// validating its clip options (the CUDA objectives build theirs here too, in float).
template <template <class> class RatioTerm, class Value, class Objective>
RatioTerm<Value> checked_ratio_term(const Objective& options, const char* objective) {
  check_clip_range(options.clip, objective);
  check_log_ratio_bound(options.log_ratio_bound, objective);
  return {ratio_bounds<Value>(options.clip), splat<Value>(static_cast<scalar_of<Value>>(options.log_ratio_bound))};
}

// Runs the shared loop with the objective's checked ratio term.
template <template <class> class RatioTerm, class Objective, class Real>
objective_result evaluate_ratio_objective(const Objective& options, const basic_objective_input<Real>& in,
                                          const basic_objective_output<Real>& out, const char* objective) {
  const auto policy = checked_ratio_term<RatioTerm, hot_loop_value_t<Real>>(options, objective);
  return evaluate_objective(policy, terms_of(options), in, out, objective);
}

}  // namespace detail

struct clipped_surrogate_objective {
  clip_range clip = {};
  kl_penalty kl = {};  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)
  double log_ratio_bound = 20.0;

  // Throws rlft::error when an option is out of range, the slice lies outside the batch, a
  // span has the wrong length, the entropy bonus lacks its spans, the scope is smaller than
  // the slice, or an input of a loss token is NaN or infinite.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "clipped surrogate objective";  // in error messages

  // The same computation in any real type (double for gradient checks).
  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_ratio_objective<detail::token_clipped_surrogate>(*this, in, out, name);
  }
};

static_assert(policy_objective<clipped_surrogate_objective>);

}  // namespace rlft
