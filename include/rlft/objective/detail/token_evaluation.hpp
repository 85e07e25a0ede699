// What every policy objective computes per loss token, once for the CPU loop
// (objective_evaluation.hpp) and the CUDA token pass (kernels/rlft/objective.cuh):
//   ℓ_t = policy term + β·KL_t − c_H·H_t,   dℓ_t/d log π_θ(o_t) = d policy term + β·d KL_t,
// the running sums of a token's contributions (token_sums), the weighted sums of a slice
// (objective_sums: L = Σ_t w_t·ℓ_t and the metrics), and the order in which a token's inputs
// are tested when the loss is not finite. Value is a scalar (a CUDA thread's token, the double
// path of the gradient checks) or a float pack of consecutive tokens (the CPU's hot loop,
// rlft/core/simd.hpp); the CPU weights a sequence's lane sums once, the device each token, by
// the same objective_sums::add_weighted.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rlft/core/host_device.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace rlft::detail {

// What a policy term returns for one token, or for a pack of tokens.
template <class Value>
struct token_policy_term {
  Value loss{};
  Value derivative{};  // d loss / d log-prob
  Value ratio{};       // the importance ratio the clip acted on, for the metrics
  mask_of<Value> clipped_low{};
  mask_of<Value> clipped_high{};
  mask_of<Value> held_at_bound{};
};

// The KL term in the token's value type. `enabled` is a constant where the caller compiles a
// loop with and one without the term; the estimator is chosen per pack of tokens, a branch the
// same way every time, which costs less than compiling every objective's loop five times.
template <class Value>
struct token_kl {
  bool enabled = false;
  kl_estimator estimator = kl_estimator::k3;
  Value coefficient{};  // β
  Value log_ratio_bound{};
  Value value_bound{};  // infinity for none
  bool importance_weighted = false;

  // The token's KL estimate: k, or r·k when importance-weighted.
  RLFT_HOST_DEVICE RLFT_INLINE kl_estimate<Value> estimate(Value logprob, Value old_logprob,
                                                           Value ref_logprob) const noexcept {
    const auto k = estimate_kl(estimator, logprob, ref_logprob, log_ratio_bound, value_bound);
    if (importance_weighted) [[unlikely]]  // keeps the common path free of the exponential
      return importance_weighted_kl(k, logprob - old_logprob, log_ratio_bound);
    return k;
  }
};

template <class Value>
struct token_evaluation {
  token_policy_term<Value> policy;
  Value kl{};          // the KL estimate (0 without a KL term)
  Value derivative{};  // d(policy term + β·KL) / d log-prob, before the aggregation weight
};

// A token's aggregation weights: of the policy and entropy terms, and of the KL term (the same
// unless the objective's kl_aggregation differs from its aggregation).
struct aggregation_weights {
  double policy = 0.0;
  double kl = 0.0;
};

// What a KL term under its own aggregation adds to dL/d log-prob of a loss token, whose
// gradient was written with the policy weight throughout: (w_KL − w)·β·d KL/d log-prob. A pass
// of its own after the token loop, so that the common case keeps its arithmetic to the bit.
// The CUDA token pass calls it too, with the KL term of its arguments.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE Real kl_reweighting(const aggregation_weights& weight, const token_kl<Real>& kl,
                                                 double kl_coefficient, Real logprob, Real old_logprob,
                                                 Real ref_logprob) noexcept {
  const auto estimate = kl.estimate(logprob, old_logprob, ref_logprob);
  return static_cast<Real>((weight.kl - weight.policy) * kl_coefficient) * estimate.derivative;
}

// `weight` multiplies the policy term's loss and derivative (1 leaves their bits unchanged).
template <class Value, class PolicyTerm, class State>
RLFT_HOST_DEVICE RLFT_INLINE token_evaluation<Value> evaluate_token(const PolicyTerm& policy, const State& state,
                                                                  Value logprob, Value old_logprob,
                                                                  Value ref_logprob, Value advantage,
                                                                  const token_kl<Value>& kl, Value weight) noexcept {
  token_evaluation<Value> result{policy.token(state, logprob, old_logprob, advantage)};
  result.policy.loss = result.policy.loss * weight;
  result.policy.derivative = result.policy.derivative * weight;
  result.derivative = result.policy.derivative;
  if (kl.enabled) {
    const auto estimate = kl.estimate(logprob, old_logprob, ref_logprob);
    result.derivative = result.derivative + kl.coefficient * estimate.derivative;
    result.kl = estimate.value;
  }
  return result;
}

// dL/d(entropy) of a loss token with aggregation weight w: −w·c_H.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE Real entropy_gradient(double weight, double entropy_coefficient) noexcept {
  return -static_cast<Real>(weight) * static_cast<Real>(entropy_coefficient);
}

// The unweighted sums of a token's contributions, in double.
struct token_totals {
  double policy = 0.0;
  double kl = 0.0;
  double entropy = 0.0;
  double ratio = 0.0;
  double ratio_max = 0.0;
  double clipped_low = 0.0;
  double clipped_high = 0.0;
  double held_at_bound = 0.0;
};

// Running sums over tokens in the token's value type: lane by lane for packs. Tokens outside
// the loss (`on` false) add nothing.
template <class Value>
struct token_sums {
  using mask = mask_of<Value>;
  // Clip counts per lane: integer packs (a true mask lane is −1) or plain counts.
  using counter = std::conditional_t<is_pack<Value>, mask, std::size_t>;

  Value policy{};
  Value kl{};
  Value entropy{};
  Value ratio{};
  Value ratio_max{};
  counter clipped_low{};
  counter clipped_high{};
  counter held_at_bound{};

  template <bool ReportsRatio>
  RLFT_HOST_DEVICE RLFT_INLINE void add(const token_evaluation<Value>& token, mask on, Value token_entropy) noexcept {
    const Value zero{};
    policy = policy + select<Value>(on, token.policy.loss, zero);
    kl = kl + select<Value>(on, token.kl, zero);
    entropy = entropy + select<Value>(on, token_entropy, zero);
    if constexpr (ReportsRatio) {
      ratio = ratio + select<Value>(on, token.policy.ratio, zero);
      ratio_max = select<Value>(on & (token.policy.ratio > ratio_max), token.policy.ratio, ratio_max);
    }
    count(clipped_low, on & token.policy.clipped_low);
    count(clipped_high, on & token.policy.clipped_high);
    count(held_at_bound, on & token.policy.held_at_bound);
  }

  RLFT_HOST_DEVICE RLFT_INLINE token_totals totals() const noexcept {
    return {.policy = lane_sum(policy),
            .kl = lane_sum(kl),
            .entropy = lane_sum(entropy),
            .ratio = lane_sum(ratio),
            .ratio_max = lane_max(ratio_max),
            .clipped_low = total(clipped_low),
            .clipped_high = total(clipped_high),
            .held_at_bound = total(held_at_bound)};
  }

 private:
  RLFT_HOST_DEVICE RLFT_INLINE static void count(counter& into, mask flags) noexcept {
    if constexpr (is_pack<Value>)
      into -= flags;
    else
      into += flags ? 1 : 0;
  }

  RLFT_HOST_DEVICE RLFT_INLINE static double total(const counter& counts) noexcept {
    if constexpr (is_pack<Value>) {
      double sum = 0.0;
      for (std::size_t i = 0; i < width_of<Value>; ++i) sum += counts[i];
      return sum;
    } else {
      return static_cast<double>(counts);
    }
  }
};

// The sums of a slice: the loss Σ w·ℓ, its policy part, and the metrics' sums over loss tokens.
// The counts are doubles (exact below 2^53), so that one reduction operator covers every member
// on the device.
struct objective_sums {
  double loss = 0.0;
  double policy_loss = 0.0;
  double kl = 0.0;
  double entropy = 0.0;
  double ratio = 0.0;
  double ratio_max = 0.0;
  double clipped_low = 0.0;
  double clipped_high = 0.0;
  double held_at_bound = 0.0;
  double tokens = 0.0;     // loss tokens
  double sequences = 0.0;  // sequences with loss tokens

  // Tokens with these aggregation weights and totals.
  // The KL term's own weight enters as a second addend, (w_KL − w)·β·KL, which is 0 when the
  // weights agree: the common case keeps its arithmetic to the bit.
  RLFT_HOST_DEVICE RLFT_INLINE void add_weighted(const aggregation_weights& weight, const token_totals& totals,
                                                 double kl_coefficient, double entropy_coefficient) noexcept {
    const double w = weight.policy;
    loss += w * (totals.policy + kl_coefficient * totals.kl - entropy_coefficient * totals.entropy);
    if (weight.kl != w) loss += (weight.kl - w) * kl_coefficient * totals.kl;
    policy_loss += w * totals.policy;
    kl += totals.kl;
    entropy += totals.entropy;
    ratio += totals.ratio;
    ratio_max = totals.ratio_max > ratio_max ? totals.ratio_max : ratio_max;
    clipped_low += totals.clipped_low;
    clipped_high += totals.clipped_high;
    held_at_bound += totals.held_at_bound;
  }

  RLFT_HOST_DEVICE void add(const objective_sums& other) noexcept {
    loss += other.loss;
    policy_loss += other.policy_loss;
    kl += other.kl;
    entropy += other.entropy;
    ratio += other.ratio;
    ratio_max = ratio_max > other.ratio_max ? ratio_max : other.ratio_max;
    clipped_low += other.clipped_low;
    clipped_high += other.clipped_high;
    held_at_bound += other.held_at_bound;
    tokens += other.tokens;
    sequences += other.sequences;
  }
};

// The reduction operator of objective_sums (CUB's block reductions take a functor).
struct add_objective_sums {
  RLFT_HOST_DEVICE objective_sums operator()(objective_sums a, const objective_sums& b) const noexcept {
    a.add(b);
    return a;
  }
};

// The inputs of a loss token, in the order they are tested after a non-finite loss: the error
// names the first non-finite one.
enum class objective_input : std::uint8_t { logprob, old_logprob, advantage, ref_logprob, entropy, none };

inline const char* input_name(objective_input input) noexcept {
  constexpr const char* names[] = {"log-prob", "old log-prob", "advantage", "reference log-prob", "entropy"};
  return names[static_cast<std::size_t>(input)];
}

RLFT_HOST_DEVICE inline bool finite_value(double x) noexcept {
#if defined(__CUDA_ARCH__)
  return isfinite(x);
#else
  return std::isfinite(x);
#endif
}

// with_kl: the reference log-prob is read; entropy: 0 when the policy gives none.
template <class Real>
RLFT_HOST_DEVICE inline objective_input first_non_finite_input(Real logprob, float old_logprob, float advantage,
                                                              float ref_logprob, bool with_kl,
                                                              Real entropy) noexcept {
  if (!finite_value(logprob)) return objective_input::logprob;
  if (!finite_value(old_logprob)) return objective_input::old_logprob;
  if (!finite_value(advantage)) return objective_input::advantage;
  if (with_kl && !finite_value(ref_logprob)) return objective_input::ref_logprob;
  if (!finite_value(entropy)) return objective_input::entropy;
  return objective_input::none;
}

}  // namespace rlft::detail
