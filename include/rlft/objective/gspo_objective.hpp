// Group Sequence Policy Optimization (Zheng et al., arXiv 2507.18071, eq. 5): the
// importance ratio is the sequence's length-normalised likelihood ratio
//   s_i = exp((1/|o_i|) Σ_t (log π_θ(o_{i,t}) − log π_old(o_{i,t}))),
// and the clip acts on whole sequences: ℓ_i = max(−A_i·s_i, −A_i·clip(s_i, 1 − ε_low, 1 + ε_high)),
// with ε around 3e-4 / 4e-4 (the paper's setting, the default here). A_i is the mean advantage
// of the sequence's loss tokens (GRPO's A_i when the estimator gives one value per
// completion). Every loss token of i carries ℓ_i, so rlft::loss_aggregation applies unchanged:
// sequence_mean_token_mean gives the paper's (1/G) Σ_i ℓ_i. Because the aggregation weight w_i
// is constant within a sequence, the exact gradient dL/d log π_θ(o_{i,t}) = w_i·ℓ_i'(s_i)·s_i
// equals that of the paper's GSPO-token form with its stop-gradients when the advantage is
// constant along the sequence. The mean log-ratio is clamped like the
// token ratio of clipped_surrogate_objective; KL and entropy terms stay per token.
#pragma once

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"

namespace rlft {

namespace detail {

template <class Real>
struct sequence_clipped_surrogate {
  static constexpr bool reports_ratio = true;
  struct sequence_state {
    Real loss = 0;
    Real derivative = 0;  // per token, before the aggregation weight: ℓ_i'(s_i)·s_i
    Real ratio = 1;
    bool clipped_low = false;
    bool clipped_high = false;
    bool held_at_bound = false;
  };

  ratio_bounds<Real> bounds;
  Real log_ratio_bound;

  sequence_state begin_sequence(const sequence_arrays<Real>& in) const noexcept {
    double log_ratio_sum = 0.0, advantage_sum = 0.0;
    for (std::size_t t = 0; t < in.length; ++t) {
      if (!in.mask[t]) continue;
      log_ratio_sum += static_cast<double>(in.logprobs[t]) - static_cast<double>(in.old_logprobs[t]);
      advantage_sum += in.advantages[t];
    }
    const auto tokens = static_cast<double>(in.loss_tokens);
    const auto r = importance_ratio(static_cast<Real>(log_ratio_sum / tokens), log_ratio_bound);
    const auto surrogate = clipped_surrogate(r.ratio, static_cast<Real>(advantage_sum / tokens), bounds);
    // ℓ_i counts once per loss token with weight w_i, and d s_i / d log π_θ(o_{i,t}) = s_i / |o_i|:
    // per token, w_i·|o_i|·ℓ_i'·s_i/|o_i| = w_i·ℓ_i'·s_i.
    return {surrogate.loss, surrogate.derivative * r.ratio * r.passes, r.ratio,
            surrogate.clipped_low, surrogate.clipped_high, surrogate.held_at_bound};
  }

  RLFT_HOST_DEVICE token_policy_term<Real> token(const sequence_state& sequence, Real, Real, Real) const noexcept {
    return {sequence.loss, sequence.derivative, sequence.ratio,
            sequence.clipped_low, sequence.clipped_high, sequence.held_at_bound};
  }
};

}  // namespace detail

struct gspo_objective {
  clip_range clip = {.epsilon_low = 3e-4, .epsilon_high = 4e-4};
  kl_penalty kl = {};  // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  double log_ratio_bound = 20.0;

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    constexpr const char* objective = "gspo objective";
    detail::check_clip_range(clip, objective);
    detail::check_log_ratio_bound(log_ratio_bound, objective);
    const detail::sequence_clipped_surrogate<Real> policy{ratio_bounds<Real>(clip),
                                                          static_cast<Real>(log_ratio_bound)};
    return detail::evaluate_objective(policy,
                                      {.kl = kl,
                                       .entropy_coefficient = entropy_coefficient,
                                       .aggregation = aggregation,
                                       .constant_divisor = constant_divisor},
                                      in, out, objective);
  }
};

static_assert(policy_objective<gspo_objective>);

}  // namespace rlft
