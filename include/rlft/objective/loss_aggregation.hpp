// How per-token losses ℓ_{i,t} (completion i, loss token t, n_i loss tokens) become one loss:
//   token_mean                          Σ_i Σ_t ℓ_{i,t} / Σ_i n_i          (DAPO, arXiv 2503.14476,
//                                       section 3.3: long completions weigh in per token);
//   sequence_mean_token_mean            (1/G) Σ_i (1/n_i) Σ_t ℓ_{i,t}      (GRPO, DeepSeekMath eq. 3);
//   sequence_mean_token_sum             (1/G) Σ_i Σ_t ℓ_{i,t};
//   sequence_mean_token_sum_normalized  (1/G) Σ_i Σ_t ℓ_{i,t} / C          (Dr. GRPO, arXiv 2503.20783:
//                                       a constant C, typically the generation length limit,
//                                       removes GRPO's length bias);
//   token_sum                           Σ_i Σ_t ℓ_{i,t}                    (no normaliser: the
//                                       learning rate absorbs the batch's size).
// G counts completions with at least one loss token (a fully masked completion has no mean).
// verl calls these token-mean, seq-mean-token-mean, seq-mean-token-sum,
// seq-mean-token-sum-norm and token-sum. Every weight is constant within a completion, so a micro-batch
// (a slice of sequences) contributes exactly its share of the mini-batch loss when it divides
// by the mini-batch's G and Σ n_i (aggregation_scope), which count_aggregation_scope gives.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft {

enum class loss_aggregation {
  token_mean,
  sequence_mean_token_mean,
  sequence_mean_token_sum,
  sequence_mean_token_sum_normalized,
  token_sum,
};

namespace detail {

// The loss tokens of each of sequences [first_sequence, first_sequence + sequence_count), which
// the caller has checked lie in the batch.
inline std::vector<std::size_t> sequence_loss_tokens(const rollout_batch& batch, std::size_t first_sequence,
                                                     std::size_t sequence_count) {
  const auto mask = batch.loss_mask();
  std::vector<std::size_t> counts(sequence_count);
  for (std::size_t i = 0; i < sequence_count; ++i) {
    std::size_t tokens = 0;  // a local sum: the byte loads may not alias it, so the loop vectorises
    for (std::size_t t = batch.sequence_begin(first_sequence + i); t < batch.sequence_end(first_sequence + i); ++t)
      tokens += mask[t];
    counts[i] = tokens;
  }
  return counts;
}

inline aggregation_scope scope_of(std::span<const std::size_t> sequence_loss_tokens) {
  aggregation_scope scope;
  for (const std::size_t tokens : sequence_loss_tokens) {
    scope.loss_tokens += tokens;
    scope.sequences += tokens > 0;
  }
  return scope;
}

}  // namespace detail

// Loss tokens and sequences with loss tokens among sequences [first_sequence, first_sequence +
// sequence_count) of the batch: the scope to pass to every slice of that mini-batch.
inline aggregation_scope count_aggregation_scope(const rollout_batch& batch, std::size_t first_sequence,
                                                 std::size_t sequence_count) {
  if (first_sequence + sequence_count > batch.num_sequences())
    throw error(detail::make_message("aggregation scope: sequences [", first_sequence, ", ",
                                     first_sequence + sequence_count, ") exceed the batch's ",
                                     batch.num_sequences()));
  return detail::scope_of(detail::sequence_loss_tokens(batch, first_sequence, sequence_count));
}

// The whole batch as one mini-batch.
inline aggregation_scope count_aggregation_scope(const rollout_batch& batch) {
  return count_aggregation_scope(batch, 0, batch.num_sequences());
}

namespace detail {

// The caller's scope, each member left at zero completed by the slice's own count. The CUDA
// objectives call it too.
RLFT_HOST_DEVICE inline aggregation_scope complete_scope(const aggregation_scope& given,
                                                         const aggregation_scope& slice) noexcept {
  return {.sequences = given.sequences ? given.sequences : slice.sequences,
          .loss_tokens = given.loss_tokens ? given.loss_tokens : slice.loss_tokens};
}

// The weight of each loss token of a completion with `sequence_tokens` loss tokens, given
// the mini-batch totals; the loss is Σ weight · ℓ_{i,t}. The CUDA objectives call it too.
RLFT_HOST_DEVICE inline double token_weight(loss_aggregation aggregation, double constant_divisor,
                                            const aggregation_scope& totals, std::size_t sequence_tokens) noexcept {
  const auto sequences = static_cast<double>(totals.sequences);
  switch (aggregation) {
    case loss_aggregation::token_mean: return 1.0 / static_cast<double>(totals.loss_tokens);
    case loss_aggregation::sequence_mean_token_mean:
      return 1.0 / (sequences * static_cast<double>(sequence_tokens));
    case loss_aggregation::sequence_mean_token_sum: return 1.0 / sequences;
    case loss_aggregation::token_sum: return 1.0;
    default: return 1.0 / (sequences * constant_divisor);
  }
}

// `option` names the aggregation in the message ("aggregation", or an objective's "kl_aggregation").
inline void check_aggregation(loss_aggregation aggregation, double constant_divisor, const char* objective,
                              const char* option = "aggregation") {
  check_option(aggregation == loss_aggregation::token_mean || aggregation == loss_aggregation::sequence_mean_token_mean ||
                   aggregation == loss_aggregation::sequence_mean_token_sum ||
                   aggregation == loss_aggregation::sequence_mean_token_sum_normalized ||
                   aggregation == loss_aggregation::token_sum,
               objective, option, "a loss_aggregation value");
  check_option(aggregation != loss_aggregation::sequence_mean_token_sum_normalized ||
                   (std::isfinite(constant_divisor) && constant_divisor > 0.0),
               objective, "constant_divisor", constant_divisor,
               "finite and > 0: sequence_mean_token_sum_normalized divides by a positive constant, typically the "
               "generation length limit");
}

}  // namespace detail
}  // namespace rlft
