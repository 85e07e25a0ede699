// CISPO, clipped importance-sampling-weight policy optimisation (MiniMax-M1, arXiv 2506.13585,
// eq. 4–5): a REINFORCE term weighted by the token's importance ratio, clipped and held constant
// (stop-gradient), so that no token loses its gradient to the clip as in PPO/GRPO:
//   ℓ_t = −sg(ŵ_t)·A_t·log π_θ(o_t),   ŵ_t = clip(r_t, 1 − ε_low, 1 + ε_high),
//   dℓ_t/d log π_θ(o_t) = −ŵ_t·A_t,     r_t = exp(log π_θ(o_t) − log π_old(o_t)),
// plus β·KL_t − c_H·H_t, aggregated by rlft::loss_aggregation (the paper normalises by all the
// tokens of the batch: token_mean, the default here). The paper sets no lower bound (ε_low = 1
// here: ŵ >= 0) and tunes only ε_high. The log-ratio is clamped to ±log_ratio_bound before the
// exponential, as in clipped_surrogate_objective (and verl's cispo loss). The clip metrics count
// the tokens whose weight is held at a bound (below: clip_fraction_low, above: _high).
#pragma once

#include <cmath>
#include <optional>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

namespace detail {

template <class Value>
struct clipped_weight_log_likelihood {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  struct no_state {};

  Value low;   // 1 − ε_low
  Value high;  // 1 + ε_high
  Value log_ratio_bound;

  template <class Real>
  no_state begin_sequence(const sequence_arrays<Real>&) const noexcept {
    return {};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(no_state, Value logprob, Value old_logprob,
                                                              Value advantage) const noexcept {
    const Value ratio = importance_ratio(logprob - old_logprob, log_ratio_bound).ratio;
    const auto below = ratio < low, above = ratio > high;
    const Value weight = select<Value>(above, high, select<Value>(below, low, ratio));
    return {.loss = -weight * advantage * logprob,
            .derivative = -weight * advantage,
            .ratio = ratio,
            .clipped_low = below,
            .clipped_high = above};
  }
};

}  // namespace detail

struct cispo_objective {
  double epsilon_low = 1.0;    // the weight's lower bound is 1 − ε_low; in [0, 1]
  double epsilon_high = 0.28;  // its upper bound 1 + ε_high; finite and >= 0
  kl_penalty kl = {};          // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)
  double log_ratio_bound = 20.0;

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "cispo objective";  // in error messages

  // The policy term in any value type, after checking the options (the CUDA objective's too).
  template <class Value>
  detail::clipped_weight_log_likelihood<Value> term() const {
    detail::check_option(epsilon_low >= 0.0 && epsilon_low <= 1.0, name, "epsilon_low", epsilon_low, "in [0, 1]");
    detail::check_option(std::isfinite(epsilon_high) && epsilon_high >= 0.0, name, "epsilon_high", epsilon_high,
                         "finite and >= 0");
    detail::check_log_ratio_bound(log_ratio_bound, name);
    using Scalar = detail::scalar_of<Value>;
    return {detail::splat<Value>(static_cast<Scalar>(1.0 - epsilon_low)),
            detail::splat<Value>(static_cast<Scalar>(1.0 + epsilon_high)),
            detail::splat<Value>(static_cast<Scalar>(log_ratio_bound))};
  }

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_objective(term<detail::hot_loop_value_t<Real>>(), detail::terms_of(*this), in, out, name);
  }
};

static_assert(policy_objective<cispo_objective>);

}  // namespace rlft
