// GMPO, geometric-mean policy optimisation (Zhao et al., arXiv 2507.20673, eq. 4), as verl's
// `geo_mean` policy loss computes it: the sequence's term uses the geometric mean of its tokens'
// importance ratios, each clipped in log space on the side its advantage's sign makes harmful,
//   c_t = sgn(A_t)·min(sgn(A_t)·x_t, sgn(A_t)·clip(x_t, −ε_low, ε_high)),   x_t = log π_θ(o_t) − log π_old(o_t),
//   ℓ_i = −Â_i·exp((1/|o_i|) Σ_t c_t),   Â_i the mean advantage of i's loss tokens,
// so one token with an outlying ratio moves the sequence's term by its |o_i|-th root only. Every
// loss token of i carries ℓ_i, so rlft::loss_aggregation applies as for GSPO
// (sequence_mean_token_mean gives verl's mean over sequences, the default here), and per token,
// before the aggregation weight, dℓ_i/d log π_θ(o_t)·|o_i| = ℓ_i·[c_t follows x_t]. The paper's
// ε is 0.4 on both sides (a ratio in [e^−0.4, e^0.4]). A token with A_t = 0 contributes c_t = 0.
// The mean of the c_t is clamped to ±log_ratio_bound before the exponential (gradient 0 outside),
// which verl leaves out. The clip metrics count the tokens held at −ε_low (clip_fraction_low)
// and at ε_high (clip_fraction_high).
#pragma once

#include <cmath>
#include <optional>
#include <utility>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

namespace detail {

// A token's clipped log-ratio c_t and whether it follows x_t (its gradient is 1, not 0): for
// A > 0 only x > ε_high is held, for A < 0 only x < −ε_low, for A = 0 c = 0 (torch.min of two
// zeros passes half the gradient to each branch, times sgn(A) = 0).
template <class Value>
struct clipped_log_ratio {
  Value value{};
  Value follows{};
  mask_of<Value> held_low{};
  mask_of<Value> held_high{};
};

template <class Value>
RLFT_HOST_DEVICE RLFT_INLINE clipped_log_ratio<Value> geometric_clip(Value log_ratio, Value advantage, Value low,
                                                                     Value high) noexcept {
  const Value zero = splat<Value>(0);
  const mask_of<Value> positive = advantage > zero, negative = advantage < zero;
  const mask_of<Value> has_sign = mask_or<Value>(positive, negative);
  const mask_of<Value> held_high = mask_and<Value>(positive, log_ratio > high);
  const mask_of<Value> held_low = mask_and<Value>(negative, log_ratio < -low);
  const mask_of<Value> held = mask_or<Value>(held_high, held_low);
  Value value = select<Value>(held_high, high, log_ratio);
  value = select<Value>(held_low, -low, value);
  value = select<Value>(has_sign, value, zero);
  return {value, to_real<Value>(mask_and<Value>(has_sign, mask_not<Value>(held))), held_low, held_high};
}

template <class Value>
struct geometric_mean_surrogate {
  using value_type = Value;
  static constexpr bool reports_ratio = true;
  struct sequence_state {
    Value loss{};        // ℓ_i
    Value ratio{};       // exp of the mean clipped log-ratio
    Value passes{};      // the clamp of that mean passes the gradient
  };

  Value low;   // ε_low
  Value high;  // ε_high
  Value log_ratio_bound;
  double epsilon_low;  // the same bounds for the sequence sums, in double
  double epsilon_high;

  // What the sequence sums per loss token (the CUDA objective's sequence pass calls this too).
  RLFT_HOST_DEVICE RLFT_INLINE double sequence_log_ratio(double log_ratio, double advantage) const noexcept {
    return geometric_clip<double>(log_ratio, advantage, epsilon_low, epsilon_high).value;
  }

  template <class Real>
  sequence_state begin_sequence(const sequence_arrays<Real>& in) const noexcept {
    double log_ratio_sum = 0.0, advantage_sum = 0.0;
    for (std::size_t t = 0; t < in.length; ++t) {
      if (!in.mask[t]) continue;
      log_ratio_sum += sequence_log_ratio(static_cast<double>(in.logprobs[t]) - static_cast<double>(in.old_logprobs[t]),
                                          in.advantages[t]);
      advantage_sum += in.advantages[t];
    }
    return from_sums(log_ratio_sum, advantage_sum, static_cast<double>(in.loss_tokens));
  }

  RLFT_HOST_DEVICE RLFT_INLINE sequence_state from_sums(double log_ratio_sum, double advantage_sum,
                                                        double tokens) const noexcept {
    using Real = scalar_of<Value>;
    const auto r = importance_ratio(splat<Value>(static_cast<Real>(log_ratio_sum / tokens)), log_ratio_bound);
    const Value advantage = splat<Value>(static_cast<Real>(advantage_sum / tokens));
    return {-advantage * r.ratio, r.ratio, r.passes};
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_policy_term<Value> token(const sequence_state& sequence, Value logprob,
                                                              Value old_logprob, Value advantage) const noexcept {
    const auto clipped = geometric_clip(logprob - old_logprob, advantage, low, high);
    return {.loss = sequence.loss,
            .derivative = sequence.loss * sequence.passes * clipped.follows,
            .ratio = sequence.ratio,
            .clipped_low = clipped.held_low,
            .clipped_high = clipped.held_high};
  }
};

}  // namespace detail

struct gmpo_objective {
  double epsilon_low = 0.4;   // log-ratios are held at −ε_low (A < 0); finite and >= 0
  double epsilon_high = 0.4;  // and at ε_high (A > 0); finite and >= 0
  kl_penalty kl = {};         // coefficient 0: no KL term
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;  // C of sequence_mean_token_sum_normalized
  std::optional<loss_aggregation> kl_aggregation = {};  // the KL term's own (detail::objective_terms)
  double log_ratio_bound = 20.0;

  // Throws like clipped_surrogate_objective.
  objective_result operator()(const objective_input& in, const objective_output& out) const {
    return evaluate<float>(in, out);
  }

  static constexpr const char* name = "gmpo objective";  // in error messages

  // The policy term in any value type, after checking the options (the CUDA objective's too).
  template <class Value>
  detail::geometric_mean_surrogate<Value> term() const {
    for (const auto& [option, value] : {std::pair{"epsilon_low", epsilon_low}, std::pair{"epsilon_high", epsilon_high}})
      detail::check_option(std::isfinite(value) && value >= 0.0, name, option, value, "finite and >= 0");
    detail::check_log_ratio_bound(log_ratio_bound, name);
    using Scalar = detail::scalar_of<Value>;
    return {detail::splat<Value>(static_cast<Scalar>(epsilon_low)),
            detail::splat<Value>(static_cast<Scalar>(epsilon_high)),
            detail::splat<Value>(static_cast<Scalar>(log_ratio_bound)),
            epsilon_low,
            epsilon_high};
  }

  template <class Real>
  objective_result evaluate(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out) const {
    return detail::evaluate_objective(term<detail::hot_loop_value_t<Real>>(), detail::terms_of(*this), in, out, name);
  }
};

static_assert(policy_objective<gmpo_objective>);

}  // namespace rlft
