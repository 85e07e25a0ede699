// The loop every policy objective shares. Per loss token of a slice it evaluates
//   ℓ_t = policy term + β·KL_t − c_H·H_t,   L = Σ_t w_t·ℓ_t   (w from rlft::loss_aggregation),
// writes dL/d(log-prob) = w_t·(d policy term + β·d KL_t) and dL/d(entropy) = −w_t·c_H, and
// gathers the metrics. The policy term (clipped surrogate, GSPO, REINFORCE) is a small type
// with a per-sequence prologue (GSPO's sequence ratio) and a per-token function; everything
// else — validation, weights, KL, entropy, reductions, error reporting — lives here once, and
// the per-token arithmetic and sums in token_evaluation.hpp, which the CUDA objectives share.
//
// Real is float on the production path and double in the gradient tests: the per-token code
// is the same template either way, run on packs of 8 floats or on single doubles
// (rlft/core/simd.hpp). Sequences are processed in parallel in chunks of fixed size, each
// chunk reduced in sequence order and the chunks combined in order, so the result does not
// depend on the number of threads.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/simd.hpp"
#include "rlft/objective/detail/token_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft::detail {

// The options every objective has besides its policy term.
struct objective_terms {
  kl_penalty kl = {};
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;
  // The KL term's own aggregation, empty for `aggregation` (verl aggregates GSPO's and SAPO's
  // policy term by sequence mean of token means, the KL term by its configured mode).
  std::optional<loss_aggregation> kl_aggregation = {};

  loss_aggregation kl_mode() const noexcept { return kl_aggregation.value_or(aggregation); }
};

// The shared options of an objective (any type with these members).
template <class Objective>
objective_terms terms_of(const Objective& objective) noexcept {
  return {.kl = objective.kl,
          .entropy_coefficient = objective.entropy_coefficient,
          .aggregation = objective.aggregation,
          .constant_divisor = objective.constant_divisor,
          .kl_aggregation = objective.kl_aggregation};
}

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
  const float* policy_weights = nullptr;  // in the slice's layout; null: every weight 1
  std::size_t length = 0;
  std::size_t loss_tokens = 0;
};

// One sequence: writes its gradients and adds its weighted sums to `sums`. WithEntropy: the
// policy's entropies are given (for the metric, and for the bonus when c_H ≠ 0). The token
// loop runs on the policy term's value type: packs of tokens on the float path (the last,
// partial pack padded with masked-out tokens), single tokens on the double path; within a
// sequence the sums run lane by lane in that type, sequences are combined in double.
template <class Real, bool WithKl, bool WithEntropy, class PolicyTerm>
void evaluate_sequence(const PolicyTerm& policy, const objective_terms& terms, const sequence_arrays<Real>& in,
                       Real* gradients, Real* entropy_gradients, aggregation_weights weight, objective_sums& sums) {
  using Value = typename PolicyTerm::value_type;
  constexpr std::size_t width = width_of<Value>;
  if (in.loss_tokens == 0) {
    for (std::size_t t = 0; t < in.length; ++t) gradients[t] = Real(0);
    if (entropy_gradients)
      for (std::size_t t = 0; t < in.length; ++t) entropy_gradients[t] = Real(0);
    return;
  }
  const auto state = policy.begin_sequence(in);
  const Value zero = splat<Value>(0);
  const token_kl<Value> kl{.enabled = WithKl,
                           .estimator = terms.kl.estimator,
                           .coefficient = splat<Value>(static_cast<Real>(terms.kl.coefficient)),
                           .log_ratio_bound = splat<Value>(static_cast<Real>(terms.kl.log_ratio_bound)),
                           .value_bound = splat<Value>(static_cast<Real>(kl_value_bound(terms.kl))),
                           .importance_weighted = terms.kl.importance_weighted};
  const Value token_weight = splat<Value>(static_cast<Real>(weight.policy));
  token_sums<Value> lanes;
  // `width` consecutive tokens. Tokens outside the loss compute on zeros, so whatever their
  // entries hold stays out of every result.
  const Value one = splat<Value>(1);
  const auto step = [&](const Real* logprobs, const float* old_logprobs, const float* ref_logprobs,
                        const float* advantages, const std::uint8_t* mask, const Real* entropy,
                        const float* weights, Real* out) RLFT_INLINE_LAMBDA {
    const mask_of<Value> on = load_mask<Value>(mask);
    const auto token = evaluate_token(policy, state, select<Value>(on, load<Value>(logprobs), zero),
                                      select<Value>(on, load<Value>(old_logprobs), zero),
                                      WithKl ? select<Value>(on, load<Value>(ref_logprobs), zero) : zero,
                                      select<Value>(on, load<Value>(advantages), zero), kl,
                                      weights ? select<Value>(on, load<Value>(weights), zero) : one);
    store<Value>(out, select<Value>(on, token_weight * token.derivative, zero));
    lanes.template add<PolicyTerm::reports_ratio>(token, on, WithEntropy ? load<Value>(entropy) : zero);
  };
  // Locals, not members of `in`: the compiler cannot tell that the gradient stores leave them alone.
  const Real* const logprobs = in.logprobs;
  const Real* const entropy = in.entropy;
  const float* const old_logprobs = in.old_logprobs;
  const float* const ref_logprobs = in.ref_logprobs;
  const float* const advantages = in.advantages;
  const std::uint8_t* const mask = in.mask;
  const float* const weights = in.policy_weights;
  const std::size_t length = in.length;
  std::size_t t = 0;
  for (; t + width <= length; t += width)
    step(logprobs + t, old_logprobs + t, ref_logprobs + t, advantages + t, mask + t,
         entropy ? entropy + t : nullptr, weights ? weights + t : nullptr, gradients + t);
  if (t < length) {  // the last, partial pack: padded with masked-out tokens
    Real padded_logprobs[width] = {}, padded_entropy[width] = {}, padded_gradients[width] = {};
    float padded_old[width] = {}, padded_ref[width] = {}, padded_advantages[width] = {}, padded_weights[width] = {};
    std::uint8_t padded_mask[width] = {};
    for (std::size_t i = 0; t + i < length; ++i) {
      padded_logprobs[i] = logprobs[t + i];
      padded_old[i] = old_logprobs[t + i];
      padded_ref[i] = ref_logprobs[t + i];
      padded_advantages[i] = advantages[t + i];
      padded_mask[i] = mask[t + i];
      if (entropy) padded_entropy[i] = entropy[t + i];
      if (weights) padded_weights[i] = weights[t + i];
    }
    step(padded_logprobs, padded_old, padded_ref, padded_advantages, padded_mask, padded_entropy,
         weights ? padded_weights : nullptr, padded_gradients);
    for (std::size_t i = 0; t + i < length; ++i) gradients[t + i] = padded_gradients[i];
  }
  if (WithKl && weight.kl != weight.policy) {
    const token_kl<Real> scalar_kl{.enabled = true,
                                   .estimator = terms.kl.estimator,
                                   .coefficient = static_cast<Real>(terms.kl.coefficient),
                                   .log_ratio_bound = static_cast<Real>(terms.kl.log_ratio_bound),
                                   .value_bound = static_cast<Real>(kl_value_bound(terms.kl)),
                                   .importance_weighted = terms.kl.importance_weighted};
    for (std::size_t i = 0; i < length; ++i)
      if (mask[i])
        gradients[i] += kl_reweighting(weight, scalar_kl, terms.kl.coefficient, logprobs[i],
                                       static_cast<Real>(old_logprobs[i]), static_cast<Real>(ref_logprobs[i]));
  }
  if (entropy_gradients) {
    const Real gradient = entropy_gradient<Real>(weight.policy, terms.entropy_coefficient);
    for (std::size_t i = 0; i < length; ++i) entropy_gradients[i] = mask[i] ? gradient : Real(0);
  }
  sums.add_weighted(weight, lanes.totals(), terms.kl.coefficient, terms.entropy_coefficient);
  sums.tokens += static_cast<double>(in.loss_tokens);
  sums.sequences += 1.0;
}

// The loss and metrics from the sums over a slice (shared with the CUDA objectives).
inline objective_result result_from_sums(const objective_sums& total, bool reports_ratio, bool with_entropy_values) {
  objective_result result{.loss = total.loss};
  auto& metrics = result.metrics;
  metrics.policy_loss = total.policy_loss;
  metrics.tokens = static_cast<std::size_t>(total.tokens);
  if (total.tokens > 0) {
    const double tokens = total.tokens;
    metrics.kl_mean = total.kl / tokens;
    metrics.entropy_mean = with_entropy_values ? total.entropy / tokens : 0.0;
    metrics.clip_fraction_low = total.clipped_low / tokens;
    metrics.clip_fraction_high = total.clipped_high / tokens;
    metrics.dual_clip_fraction = total.held_at_bound / tokens;
    if (reports_ratio) {
      metrics.ratio_mean = total.ratio / tokens;
      metrics.ratio_max = total.ratio_max;
    }
  }
  return result;
}

inline void check_objective_terms(const objective_terms& terms, const char* objective) {
  check_kl_penalty(terms.kl, objective);
  check_option(std::isfinite(terms.entropy_coefficient), objective, "entropy_coefficient",
               terms.entropy_coefficient, "finite");
  check_aggregation(terms.aggregation, terms.constant_divisor, objective);
  if (terms.kl_aggregation) check_aggregation(*terms.kl_aggregation, terms.constant_divisor, objective, "kl_aggregation");
}

// The lengths of the spans of an objective call.
struct objective_span_sizes {
  std::size_t logprobs = 0;
  std::size_t logprob_gradients = 0;
  std::size_t entropy = 0;
  std::size_t entropy_gradients = 0;
  std::size_t policy_weights = 0;
};

// The slice must lie in the batch (given by its sequence offsets) and every span must cover
// its tokens; shared with the CUDA objectives, which keep the offsets on the host.
inline void check_slice_sizes(std::span<const std::int64_t> sequence_offsets, std::size_t first_sequence,
                              std::size_t sequence_count, const objective_span_sizes& sizes, bool wants_entropy,
                              const char* objective) {
  const std::size_t sequences = sequence_offsets.size() - 1;
  if (sequence_count == 0) throw error(make_message(objective, ": the slice covers no sequences"));
  if (first_sequence + sequence_count > sequences)
    throw error(make_message(objective, ": slice [", first_sequence, ", ", first_sequence + sequence_count,
                             ") exceeds the batch's ", sequences, " sequences"));
  const auto tokens =
      static_cast<std::size_t>(sequence_offsets[first_sequence + sequence_count] - sequence_offsets[first_sequence]);
  const auto check_size = [&](std::size_t size, const char* what) {
    if (size != tokens)
      throw error(make_message(objective, ": ", size, " ", what, " given for a slice of ", tokens, " tokens"));
  };
  check_size(sizes.logprobs, "log-probs");
  check_size(sizes.logprob_gradients, "log-prob gradients");
  if (wants_entropy) {
    if (sizes.entropy == 0)
      throw error(make_message(objective, ": the entropy bonus needs the policy's per-token entropy (input.entropy)"));
    if (sizes.entropy_gradients == 0)
      throw error(make_message(objective, ": the entropy bonus needs output.entropy_gradients"));
  }
  if (sizes.entropy != 0) check_size(sizes.entropy, "entropies");
  if (sizes.entropy_gradients != 0) check_size(sizes.entropy_gradients, "entropy gradients");
  if (sizes.policy_weights != 0) check_size(sizes.policy_weights, "policy weights");
}

// Each policy weight of a loss token must be finite and >= 0 (data_error naming the token).
inline void check_policy_weights(const rollout_batch& batch, std::size_t first_sequence,
                                 std::span<const float> weights, const char* objective) {
  const std::size_t first_token = batch.sequence_begin(first_sequence);
  const auto mask = batch.loss_mask();
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (mask[first_token + i] && !(std::isfinite(weights[i]) && weights[i] >= 0.0f))
      throw data_error(make_message(objective, ": the policy weight of token ", first_token + i, " (slice token ", i,
                                    ") is ", weights[i], "; weights must be finite and >= 0"));
}

template <class Real>
void check_slice(const basic_objective_input<Real>& in, const basic_objective_output<Real>& out, bool wants_entropy,
                 const char* objective) {
  check_slice_sizes(in.batch.sequence_offsets(), in.first_sequence, in.sequence_count,
                    {.logprobs = in.logprobs.size(),
                     .logprob_gradients = out.logprob_gradients.size(),
                     .entropy = in.entropy.size(),
                     .entropy_gradients = out.entropy_gradients.size(),
                     .policy_weights = in.policy_weights.size()},
                    wants_entropy, objective);
  check_policy_weights(in.batch, in.first_sequence, in.policy_weights, objective);
}

// The denominators of the aggregation: the caller's scope where given (it must cover the
// slice), the slice's own counts otherwise.
inline aggregation_scope resolve_scope(const aggregation_scope& given, const aggregation_scope& slice,
                                       const char* objective) {
  if (given.loss_tokens != 0 && given.loss_tokens < slice.loss_tokens)
    throw error(make_message(objective, ": the aggregation scope counts ", given.loss_tokens,
                             " loss tokens but this slice alone has ", slice.loss_tokens));
  if (given.sequences != 0 && given.sequences < slice.sequences)
    throw error(make_message(objective, ": the aggregation scope counts ", given.sequences,
                             " sequences but this slice alone has ", slice.sequences, " with loss tokens"));
  return complete_scope(given, slice);
}

// The error for a non-finite input `what` of batch token `token` (token `slice_token` of the slice).
[[noreturn]] inline void throw_non_finite_input(const char* objective, const char* what, std::size_t token,
                                                std::size_t slice_token, double value) {
  throw data_error(make_message(objective, ": ", what, " of token ", token, " (slice token ", slice_token, ") is ", value));
}

// After a non-finite loss: the first non-finite input of a loss token, as an error.
template <class Real>
[[noreturn]] void throw_non_finite(const basic_objective_input<Real>& in, bool with_kl, const char* objective) {
  const auto& batch = in.batch;
  const std::size_t first_token = batch.sequence_begin(in.first_sequence);
  const auto mask = batch.loss_mask();
  for (std::size_t i = 0; i < in.logprobs.size(); ++i) {
    const std::size_t t = first_token + i;
    if (!mask[t]) continue;
    const Real entropy = in.entropy.empty() ? Real(0) : in.entropy[i];
    const objective_input bad = first_non_finite_input(in.logprobs[i], batch.old_logprobs()[t], batch.advantages()[t],
                                                       batch.ref_logprobs()[t], with_kl, entropy);
    const double values[] = {static_cast<double>(in.logprobs[i]), batch.old_logprobs()[t], batch.advantages()[t],
                             batch.ref_logprobs()[t], static_cast<double>(entropy)};
    if (bad != objective_input::none)
      throw_non_finite_input(objective, input_name(bad), t, i, values[static_cast<std::size_t>(bad)]);
  }
  throw data_error(make_message(objective, ": the loss is not finite although every input is"));
}

inline constexpr std::size_t sequences_per_chunk = 64;

template <class Real, bool WithKl, bool WithEntropy, class PolicyTerm>
objective_sums evaluate_slice(const PolicyTerm& policy, const objective_terms& terms,
                            const basic_objective_input<Real>& in, const basic_objective_output<Real>& out,
                            std::span<const std::size_t> sequence_loss_tokens, const aggregation_scope& totals) {
  const auto& batch = in.batch;
  const std::size_t first_token = batch.sequence_begin(in.first_sequence);
  const auto mask = batch.loss_mask();
  std::vector<objective_sums> chunks((in.sequence_count + sequences_per_chunk - 1) / sequences_per_chunk);
  for_each_chunk(in.sequence_count, sequences_per_chunk, [&](std::size_t chunk, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t s = in.first_sequence + i;
      const std::size_t begin = batch.sequence_begin(s), end = batch.sequence_end(s);
      const std::size_t local = begin - first_token;
      const std::size_t loss_tokens = sequence_loss_tokens[i];
      const sequence_arrays<Real> arrays{.logprobs = in.logprobs.data() + local,
                                         .entropy = WithEntropy ? in.entropy.data() + local : nullptr,
                                         .old_logprobs = batch.old_logprobs().data() + begin,
                                         .ref_logprobs = batch.ref_logprobs().data() + begin,
                                         .advantages = batch.advantages().data() + begin,
                                         .mask = mask.data() + begin,
                                         .policy_weights = in.policy_weights.empty() ? nullptr
                                                                                     : in.policy_weights.data() + local,
                                         .length = end - begin,
                                         .loss_tokens = loss_tokens};
      const aggregation_weights weight =
          loss_tokens ? aggregation_weights{token_weight(terms.aggregation, terms.constant_divisor, totals, loss_tokens),
                                            token_weight(terms.kl_mode(), terms.constant_divisor, totals, loss_tokens)}
                      : aggregation_weights{};
      evaluate_sequence<Real, WithKl, WithEntropy>(
          policy, terms, arrays, out.logprob_gradients.data() + local,
          out.entropy_gradients.empty() ? nullptr : out.entropy_gradients.data() + local, weight, chunks[chunk]);
    }
  });
  objective_sums total;
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

  // Each sequence's loss tokens, counted once: the slice's scope and the aggregation weights.
  const std::vector<std::size_t> loss_tokens = sequence_loss_tokens(in.batch, in.first_sequence, in.sequence_count);
  const aggregation_scope totals = resolve_scope(in.scope, scope_of(loss_tokens), objective);

  const bool with_entropy_values = !in.entropy.empty();
  objective_sums total;
  if (!with_kl)
    total = with_entropy_values ? evaluate_slice<Real, false, true>(policy, terms, in, out, loss_tokens, totals)
                                : evaluate_slice<Real, false, false>(policy, terms, in, out, loss_tokens, totals);
  else
    total = with_entropy_values ? evaluate_slice<Real, true, true>(policy, terms, in, out, loss_tokens, totals)
                                : evaluate_slice<Real, true, false>(policy, terms, in, out, loss_tokens, totals);
  if (!std::isfinite(total.loss)) throw_non_finite(in, with_kl, objective);
  return result_from_sums(total, PolicyTerm::reports_ratio, with_entropy_values);
}

}  // namespace rlft::detail
