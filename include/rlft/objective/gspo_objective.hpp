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

#include <optional>
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"

namespace rlft {

namespace detail {

struct sequence_sums_of_loss_tokens {
  double log_ratio = 0.0;
  double advantage = 0.0;
};

// Σ over a sequence's loss tokens of the log-ratio and of the advantage: lane by lane over whole
// packs of Value, then the lanes and the remaining tokens in double (GSPO, GSPO-token).
template <class Value, class Real>
sequence_sums_of_loss_tokens sum_log_ratios_and_advantages(const sequence_arrays<Real>& in) noexcept {
  constexpr std::size_t width = width_of<Value>;
  const Value zero = splat<Value>(0);
  Value log_ratio_lanes = zero, advantage_lanes = zero;
  std::size_t t = 0;
  for (; t + width <= in.length; t += width) {
    const auto on = load_mask<Value>(in.mask + t);
    log_ratio_lanes = log_ratio_lanes + select<Value>(on, load<Value>(in.logprobs + t) - load<Value>(in.old_logprobs + t), zero);
    advantage_lanes = advantage_lanes + select<Value>(on, load<Value>(in.advantages + t), zero);
  }
  sequence_sums_of_loss_tokens sums{lane_sum(log_ratio_lanes), lane_sum(advantage_lanes)};
  for (; t < in.length; ++t) {
    if (!in.mask[t]) continue;
    sums.log_ratio += static_cast<double>(in.logprobs[t]) - static_cast<double>(in.old_logprobs[t]);
    sums.advantage += in.advantages[t];
  }
  return sums;
}

template <class Value>
struct sequence_clipped_surrogate {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  // Every token of the sequence carries the sequence's term; its derivative is, per token and
  // before the aggregation weight, ℓ_i'(s_i)·s_i.
  using sequence_state = token_policy_term<Value>;

  ratio_bounds<Value> bounds;
  Value log_ratio_bound;

  // What the sequence sums per loss token: the log-ratio itself (the CUDA sequence pass).
  RLFT_HOST_DEVICE RLFT_INLINE double sequence_log_ratio(double log_ratio, double) const noexcept { return log_ratio; }

  template <class Real>
  sequence_state begin_sequence(const sequence_arrays<Real>& in) const noexcept {
    const auto sums = sum_log_ratios_and_advantages<Value>(in);
    return from_sums(sums.log_ratio, sums.advantage, static_cast<double>(in.loss_tokens));
  }

  // The sequence's term from the sums over its loss tokens of the log-ratio and the advantage
  // (the CUDA objective reduces them on the device and calls this too).
  RLFT_HOST_DEVICE RLFT_INLINE sequence_state from_sums(double log_ratio_sum, double advantage_sum,
                                                        double tokens) const noexcept {
    using Real = scalar_of<Value>;
    const auto r = importance_ratio(splat<Value>(static_cast<Real>(log_ratio_sum / tokens)), log_ratio_bound);
    const auto surrogate = clipped_surrogate(r.ratio, splat<Value>(static_cast<Real>(advantage_sum / tokens)), bounds);
    // ℓ_i counts once per loss token with weight w_i, and d s_i / d log π_θ(o_{i,t}) = s_i / |o_i|:
    // per token, w_i·|o_i|·ℓ_i'·s_i/|o_i| = w_i·ℓ_i'·s_i.
    return {surrogate.loss, surrogate.derivative * r.ratio * r.passes, r.ratio,
            surrogate.clipped_low, surrogate.clipped_high, surrogate.held_at_bound};
  }

  RLFT_HOST_DEVICE RLFT_INLINE sequence_state token(const sequence_state& sequence, Value, Value, Value) const noexcept {
    return sequence;
  }
};

}  // namespace detail

struct gspo_objective {
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

  static constexpr const char* name = "gspo objective";  // in error messages

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_ratio_objective<detail::sequence_clipped_surrogate>(*this, in, out, name);
  }
};

static_assert(policy_objective<gspo_objective>);

}  // namespace rlft
