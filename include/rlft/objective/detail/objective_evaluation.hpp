// The loop every policy objective shares. Per loss token of a slice it evaluates
//   ℓ_t = policy term + β·KL_t − c_H·H_t,   L = Σ_t w_t·ℓ_t   (w from rlft::loss_aggregation),
// writes dL/d(log-prob) = w_t·(d policy term + β·d KL_t) and dL/d(entropy) = −w_t·c_H, and
// gathers the metrics. The policy term (clipped surrogate, GSPO, REINFORCE) is a small type
// with a per-sequence prologue (GSPO's sequence ratio) and a per-token function; everything
// else — validation, weights, KL, entropy, reductions, error reporting — lives here once.
//
// Real is float on the production path and double in the gradient tests: the per-token code
// is the same template either way, and sums are accumulated in double in both. Sequences are
// processed in parallel in chunks of fixed size, each chunk reduced in token order and the
// chunks combined in order, so the result does not depend on the number of threads. Inside a
// sequence the token loop is branch-free (masks become selects) so that it vectorises.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft::detail {

// What a policy term returns for one token.
template <class Real>
struct token_policy_term {
  Real loss = 0;
  Real derivative = 0;  // d loss / d log-prob
  Real ratio = 1;       // the importance ratio the clip acted on, for the metrics
  bool clipped_low = false;
  bool clipped_high = false;
  bool held_at_bound = false;
};

// The options every objective has besides its policy term.
struct objective_terms {
  kl_penalty kl = {};
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;
};

// The per-token arrays of one sequence: log-probs (and entropies) of the current policy in
// the slice's layout, the batch's arrays at the sequence's batch position.
template <class Real>
struct sequence_arrays {
  const Real* logprobs = nullptr;
  const Real* entropy = nullptr;
  const float* old_logprobs = nullptr;
  const float* ref_logprobs = nullptr;
  const float* advantages = nullptr;
  const std::uint8_t* mask = nullptr;
  std::size_t length = 0;
  std::size_t loss_tokens = 0;
};

struct partial_sums {
  double loss = 0.0;
  double policy_loss = 0.0;
  double kl = 0.0;
  double entropy = 0.0;
  double ratio = 0.0;
  double ratio_max = 0.0;
  double clipped_low = 0.0;
  double clipped_high = 0.0;
  double held_at_bound = 0.0;
  std::size_t tokens = 0;

  void add(const partial_sums& other) noexcept {
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
  }
};

// One sequence: writes its gradients and returns its (weighted) sums. WithEntropy: the
// policy's entropies are given (for the metric, and for the bonus when c_H ≠ 0).
template <class Real, bool WithKl, kl_estimator Estimator, bool WithEntropy, class PolicyTerm>
partial_sums evaluate_sequence(const PolicyTerm& policy, const objective_terms& terms,
                               const sequence_arrays<Real>& in, Real* gradients, Real* entropy_gradients,
                               double weight) {
  partial_sums sums;
  if (in.loss_tokens == 0) {
    for (std::size_t t = 0; t < in.length; ++t) gradients[t] = Real(0);
    if (entropy_gradients)
      for (std::size_t t = 0; t < in.length; ++t) entropy_gradients[t] = Real(0);
    return sums;
  }
  const auto state = policy.begin_sequence(in);
  const auto beta = static_cast<Real>(terms.kl.coefficient);
  const auto bound = static_cast<Real>(terms.kl.log_ratio_bound);
  const auto entropy_coefficient = static_cast<Real>(terms.entropy_coefficient);
  const auto token_weight = static_cast<Real>(weight);
  double policy_sum = 0.0, kl_sum = 0.0, entropy_sum = 0.0, ratio_sum = 0.0, ratio_max = 0.0;
  double low = 0.0, high = 0.0, held = 0.0;
  const std::ptrdiff_t length = static_cast<std::ptrdiff_t>(in.length);
  RLFT_OMP(simd reduction(+ : policy_sum, kl_sum, entropy_sum, ratio_sum, low, high, held) reduction(max : ratio_max))
  for (std::ptrdiff_t t = 0; t < length; ++t) {
    const bool on = in.mask[t] != 0;
    // Tokens outside the loss compute on zeros, so whatever their entries hold stays out.
    const Real logprob = on ? in.logprobs[t] : Real(0);
    const auto term = policy.token(state, logprob, on ? static_cast<Real>(in.old_logprobs[t]) : Real(0),
                                   on ? static_cast<Real>(in.advantages[t]) : Real(0));
    Real derivative = term.derivative;
    if constexpr (WithKl) {
      const auto kl = estimate_kl<Estimator>(logprob, on ? static_cast<Real>(in.ref_logprobs[t]) : Real(0), bound);
      derivative += beta * kl.derivative;
      kl_sum += on ? static_cast<double>(kl.value) : 0.0;
    }
    if constexpr (WithEntropy) entropy_sum += on ? static_cast<double>(in.entropy[t]) : 0.0;
    gradients[t] = on ? token_weight * derivative : Real(0);
    policy_sum += on ? static_cast<double>(term.loss) : 0.0;
    ratio_sum += on ? static_cast<double>(term.ratio) : 0.0;
    ratio_max = on && static_cast<double>(term.ratio) > ratio_max ? static_cast<double>(term.ratio) : ratio_max;
    low += on && term.clipped_low ? 1.0 : 0.0;
    high += on && term.clipped_high ? 1.0 : 0.0;
    held += on && term.held_at_bound ? 1.0 : 0.0;
  }
  if (entropy_gradients) {
    const Real entropy_gradient = -token_weight * entropy_coefficient;
    for (std::size_t t = 0; t < in.length; ++t) entropy_gradients[t] = in.mask[t] ? entropy_gradient : Real(0);
  }
  sums.policy_loss = weight * policy_sum;
  sums.loss = weight * (policy_sum + terms.kl.coefficient * kl_sum - terms.entropy_coefficient * entropy_sum);
  sums.kl = kl_sum;
  sums.entropy = entropy_sum;
  sums.ratio = ratio_sum;
  sums.ratio_max = ratio_max;
  sums.clipped_low = low;
  sums.clipped_high = high;
  sums.held_at_bound = held;
  sums.tokens = in.loss_tokens;
  return sums;
}

inline void check_objective_terms(const objective_terms& terms, const char* objective) {
  check_kl_penalty(terms.kl, objective);
  if (!std::isfinite(terms.entropy_coefficient))
    throw error(make_message(objective, ": option entropy_coefficient = ", terms.entropy_coefficient,
                             " is not finite"));
  check_aggregation(terms.aggregation, terms.constant_divisor, objective);
}

template <class Real>
void check_slice(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out, bool wants_entropy,
                 const char* objective) {
  const auto& batch = in.batch;
  if (in.sequence_count == 0) throw error(make_message(objective, ": the slice covers no sequences"));
  if (in.first_sequence + in.sequence_count > batch.num_sequences())
    throw error(make_message(objective, ": slice [", in.first_sequence, ", ", in.first_sequence + in.sequence_count,
                             ") exceeds the batch's ", batch.num_sequences(), " sequences"));
  const std::size_t tokens = batch.sequences(in.first_sequence, in.sequence_count).num_tokens();
  const auto check_size = [&](std::size_t size, const char* what) {
    if (size != tokens)
      throw error(make_message(objective, ": ", size, " ", what, " given for a slice of ", tokens, " tokens"));
  };
  check_size(in.logprobs.size(), "log-probs");
  check_size(out.logprob_gradients.size(), "log-prob gradients");
  if (wants_entropy) {
    if (in.entropy.empty())
      throw error(make_message(objective, ": the entropy bonus needs the policy's per-token entropy (input.entropy)"));
    if (out.entropy_gradients.empty())
      throw error(make_message(objective, ": the entropy bonus needs output.entropy_gradients"));
  }
  if (!in.entropy.empty()) check_size(in.entropy.size(), "entropies");
  if (!out.entropy_gradients.empty()) check_size(out.entropy_gradients.size(), "entropy gradients");
}

// After a non-finite loss: the first non-finite input of a loss token, as an error.
template <class Real>
[[noreturn]] void throw_non_finite(const basic_objective_input<Real>& in, bool with_kl, bool with_entropy,
                                   const char* objective) {
  const auto& batch = in.batch;
  const std::size_t first_token = batch.sequence_begin(in.first_sequence);
  const auto mask = batch.loss_mask();
  for (std::size_t i = 0; i < in.logprobs.size(); ++i) {
    const std::size_t t = first_token + i;
    if (!mask[t]) continue;
    const auto report = [&](const char* what, double value) {
      throw error(make_message(objective, ": ", what, " of token ", t, " (slice token ", i, ") is ", value));
    };
    if (!std::isfinite(in.logprobs[i])) report("log-prob", in.logprobs[i]);
    if (!std::isfinite(batch.old_logprobs()[t])) report("old log-prob", batch.old_logprobs()[t]);
    if (!std::isfinite(batch.advantages()[t])) report("advantage", batch.advantages()[t]);
    if (with_kl && !std::isfinite(batch.ref_logprobs()[t])) report("reference log-prob", batch.ref_logprobs()[t]);
    if (with_entropy && !std::isfinite(in.entropy[i])) report("entropy", in.entropy[i]);
  }
  throw error(make_message(objective, ": the loss is not finite although every input is"));
}

inline constexpr std::size_t sequences_per_chunk = 64;

template <class Real, bool WithKl, kl_estimator Estimator, bool WithEntropy, class PolicyTerm>
partial_sums evaluate_slice(const PolicyTerm& policy, const objective_terms& terms,
                            const basic_objective_input<Real>& in, const basic_objective_output<Real>& out,
                            const aggregation_scope& totals) {
  const auto& batch = in.batch;
  const std::size_t first_token = batch.sequence_begin(in.first_sequence);
  const auto mask = batch.loss_mask();
  std::vector<partial_sums> chunks((in.sequence_count + sequences_per_chunk - 1) / sequences_per_chunk);
  for_each_chunk(in.sequence_count, sequences_per_chunk, [&](std::size_t chunk, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t s = in.first_sequence + i;
      const std::size_t begin = batch.sequence_begin(s), end = batch.sequence_end(s);
      const std::size_t local = begin - first_token;
      std::size_t loss_tokens = 0;
      for (std::size_t t = begin; t < end; ++t) loss_tokens += mask[t];
      const sequence_arrays<Real> arrays{.logprobs = in.logprobs.data() + local,
                                         .entropy = WithEntropy ? in.entropy.data() + local : nullptr,
                                         .old_logprobs = batch.old_logprobs().data() + begin,
                                         .ref_logprobs = batch.ref_logprobs().data() + begin,
                                         .advantages = batch.advantages().data() + begin,
                                         .mask = mask.data() + begin,
                                         .length = end - begin,
                                         .loss_tokens = loss_tokens};
      const double weight =
          loss_tokens ? token_weight(terms.aggregation, terms.constant_divisor, totals, loss_tokens) : 0.0;
      chunks[chunk].add(evaluate_sequence<Real, WithKl, Estimator, WithEntropy>(
          policy, terms, arrays, out.logprob_gradients.data() + local,
          out.entropy_gradients.empty() ? nullptr : out.entropy_gradients.data() + local, weight));
    }
  });
  partial_sums total;
  for (const auto& chunk : chunks) total.add(chunk);
  return total;
}

template <class Real, class PolicyTerm>
objective_result evaluate_objective(const PolicyTerm& policy, const objective_terms& terms,
                                    const basic_objective_input<Real>& in, const basic_objective_output<Real>& out,
                                    const char* objective) {
  check_objective_terms(terms, objective);
  const bool with_entropy = terms.entropy_coefficient != 0.0;
  check_slice(in, out, with_entropy, objective);
  const bool with_kl = terms.kl.coefficient > 0.0;

  const auto& batch = in.batch;
  const aggregation_scope slice = count_aggregation_scope(batch, in.first_sequence, in.sequence_count);
  if (in.scope.loss_tokens != 0 && in.scope.loss_tokens < slice.loss_tokens)
    throw error(make_message(objective, ": the aggregation scope counts ", in.scope.loss_tokens,
                             " loss tokens but this slice alone has ", slice.loss_tokens));
  if (in.scope.sequences != 0 && in.scope.sequences < slice.sequences)
    throw error(make_message(objective, ": the aggregation scope counts ", in.scope.sequences,
                             " sequences but this slice alone has ", slice.sequences, " with loss tokens"));
  const aggregation_scope totals{.sequences = in.scope.sequences ? in.scope.sequences : slice.sequences,
                                 .loss_tokens = in.scope.loss_tokens ? in.scope.loss_tokens : slice.loss_tokens};

  const bool with_entropy_values = !in.entropy.empty();
  partial_sums total;
  if (!with_kl)
    total = with_entropy_values ? evaluate_slice<Real, false, kl_estimator::k1, true>(policy, terms, in, out, totals)
                                : evaluate_slice<Real, false, kl_estimator::k1, false>(policy, terms, in, out, totals);
  else
    total = with_kl_estimator(terms.kl.estimator, [&](auto estimator) {
      constexpr kl_estimator chosen = decltype(estimator)::value;
      return with_entropy_values ? evaluate_slice<Real, true, chosen, true>(policy, terms, in, out, totals)
                                 : evaluate_slice<Real, true, chosen, false>(policy, terms, in, out, totals);
    });
  if (!std::isfinite(total.loss)) throw_non_finite(in, with_kl, with_entropy_values, objective);

  objective_result result{.loss = total.loss};
  auto& metrics = result.metrics;
  metrics.policy_loss = total.policy_loss;
  metrics.tokens = total.tokens;
  if (total.tokens > 0) {
    const auto tokens = static_cast<double>(total.tokens);
    metrics.kl_mean = total.kl / tokens;
    metrics.entropy_mean = in.entropy.empty() ? 0.0 : total.entropy / tokens;
    metrics.clip_fraction_low = total.clipped_low / tokens;
    metrics.clip_fraction_high = total.clipped_high / tokens;
    metrics.dual_clip_fraction = total.held_at_bound / tokens;
    if constexpr (PolicyTerm::reports_ratio) {
      metrics.ratio_mean = total.ratio / tokens;
      metrics.ratio_max = total.ratio_max;
    }
  }
  return result;
}

}  // namespace rlft::detail
