// SAPO, soft adaptive policy optimisation (Gao et al., arXiv 2511.20347, eq. 5–6 and 10–12): a
// smooth gate of the token's importance ratio in place of PPO's hard clip,
//   ℓ_t = −A_t·f(r_t),   f(r) = (4/τ)·σ(τ·(r − 1)),   τ = τ_pos if A_t > 0, else τ_neg,
//   dℓ_t/d log π_θ(o_t) = −A_t·4·σ(1 − σ)·r_t,   r_t = exp(log π_θ(o_t) − log π_old(o_t)),
// plus β·KL_t − c_H·H_t, aggregated by rlft::loss_aggregation (verl and the paper:
// sequence_mean_token_mean, the default here). At r = 1 the gradient is REINFORCE's, −A_t; it
// fades smoothly as r leaves 1, faster for the larger τ (the paper's τ_neg > τ_pos damps
// negative updates more). τ_pos = 1 and τ_neg = 1.05 are verl's and TRL's defaults. The
// log-ratio is clamped to ±log_ratio_bound before the exponential, as in verl. There is no
// clip, so the clip metrics stay 0.
#pragma once

#include <cmath>
#include <optional>
#include <utility>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

namespace detail {

template <class Value>
struct soft_gated_surrogate {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  struct no_state {};

  Value temperature_positive;
  Value temperature_negative;
  Value log_ratio_bound;

  template <class Real>
  no_state begin_sequence(const sequence_arrays<Real>&) const noexcept {
    return {};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(no_state, Value logprob, Value old_logprob,
                                                              Value advantage) const noexcept {
    using Scalar = scalar_of<Value>;
    const auto r = importance_ratio(logprob - old_logprob, log_ratio_bound);
    const Value tau = select<Value>(advantage > splat<Value>(0), temperature_positive, temperature_negative);
    // σ(x) = 1/(1 + e^(−x)) with x >= −τ >= −80 (r >= 0): e^(−x) stays finite in float, and
    // fast_exp's floor makes it 0 for large x.
    const Value gate = Scalar(1) / (Scalar(1) + fast_exp(-tau * (r.ratio - Scalar(1))));
    return {.loss = -advantage * (Scalar(4) / tau) * gate,
            .derivative = -advantage * Scalar(4) * gate * (Scalar(1) - gate) * r.ratio * r.passes,
            .ratio = r.ratio};
  }
};

}  // namespace detail

struct sapo_objective {
  double temperature_positive = 1.0;   // τ_pos, for A > 0; in (0, 80]
  double temperature_negative = 1.05;  // τ_neg, for A <= 0; in (0, 80]
  kl_penalty kl = {};                  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)
  double log_ratio_bound = 20.0;

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "sapo objective";  // in error messages

  // The policy term in any value type, after checking the options (the CUDA objective's too).
  template <class Value>
  detail::soft_gated_surrogate<Value> term() const {
    for (const auto& [option, value] : {std::pair{"temperature_positive", temperature_positive},
                                        std::pair{"temperature_negative", temperature_negative}})
      detail::check_option(value > 0.0 && value <= 80.0, name, option, value, "in (0, 80]");
    detail::check_log_ratio_bound(log_ratio_bound, name);
    using Scalar = detail::scalar_of<Value>;
    return {detail::splat<Value>(static_cast<Scalar>(temperature_positive)),
            detail::splat<Value>(static_cast<Scalar>(temperature_negative)),
            detail::splat<Value>(static_cast<Scalar>(log_ratio_bound))};
  }

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_objective(term<detail::hot_loop_value_t<Real>>(), detail::terms_of(*this), in, out, name);
  }
};

static_assert(policy_objective<sapo_objective>);

}  // namespace rlft
