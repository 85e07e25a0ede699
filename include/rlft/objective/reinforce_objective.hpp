// Plain REINFORCE (Williams 1992), the on-policy policy gradient without an importance ratio:
// per loss token ℓ_t = −A_t·log π_θ(o_t) (+ β·KL_t − c_H·H_t), so dℓ_t/d log π_θ(o_t) = −A_t.
// It reads no old log-probs: use it when every update is on-policy (one gradient step per
// rollout, as ReMax and RLOO train), where the clipped surrogate's ratio is 1 and its gradient
// is this one. The ratio metrics stay 0.
#pragma once

#include <optional>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

namespace detail {

template <class Value>
struct log_likelihood_term {
  using value_type = Value;
  static constexpr bool reports_ratio = false;
  struct no_state {};

  template <class Real>
  no_state begin_sequence(const sequence_arrays<Real>&) const noexcept {
    return {};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(no_state, Value logprob, Value, Value advantage) const noexcept {
    return {.loss = -advantage * logprob, .derivative = -advantage, .ratio = splat<Value>(1)};
  }
};

}  // namespace detail

struct reinforce_objective {
  kl_penalty kl = {};  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "reinforce objective";  // in error messages

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_objective(detail::log_likelihood_term<detail::hot_loop_value_t<Real>>{},
                                      detail::terms_of(*this), in, out, name);
  }
};

static_assert(policy_objective<reinforce_objective>);

}  // namespace rlft
