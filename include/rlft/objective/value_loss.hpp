// The critic's clipped value loss of PPO (Schulman et al., arXiv 1707.06347; the form TRL's
// PPOTrainer and verl's compute_value_loss use): per loss token, with V the critic's new value,
// V_old the value it gave when the rollouts were made (batch.values()) and R the return (GAE's
// A + V_old),
//   ℓ_t = ½·max((V − R)², (clip(V, V_old − ε, V_old + ε) − R)²),
// aggregated over the loss tokens by rlft::loss_aggregation (token mean by default, as verl).
// dℓ/dV follows torch.maximum: V − R where the unclipped term is the larger, the clipped term's
// (V − R inside the range, 0 outside) where it is, half of each on a tie.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

struct value_loss_options {
  double clip_range = 0.2;  // ε (TRL: 0.2, verl: 0.5); infinity: no clipping
  loss_aggregation aggregation = loss_aggregation::token_mean;
  double constant_divisor = 0.0;  // for sequence_mean_token_sum_normalized
};

// Over the loss tokens of one call: the loss is already aggregated over the scope, so calls
// on micro-batches of one mini-batch add up; clipped counts tokens whose clipped term was the
// larger (verl's vf_clipfrac numerator).
struct value_loss_sums {
  double loss = 0.0;
  std::size_t tokens = 0;
  std::size_t clipped = 0;
  double squared_error = 0.0;  // Σ (V − R)², for the mean squared error

  void add(const value_loss_sums& other) noexcept {
    loss += other.loss;
    tokens += other.tokens;
    clipped += other.clipped;
    squared_error += other.squared_error;
  }
};

// Sequences [first_sequence, first_sequence + sequence_count) of `batch`: `values` holds the
// critic's new V_t for the slice's tokens, `returns` R_t for the batch's; dvalues (slice tokens)
// receives dL/dV, 0 outside the loss. `scope` gives the aggregation's denominators (zeros: the
// slice's own). Throws rlft::error for out-of-range options or sizes, rlft::data_error naming
// the token for a non-finite value, old value or return of a loss token.
inline value_loss_sums clipped_value_loss(const rollout_batch& batch, std::size_t first_sequence,
                                          std::size_t sequence_count, std::span<const float> values,
                                          std::span<const float> returns, const aggregation_scope& scope,
                                          const value_loss_options& options, std::span<float> dvalues) {
  constexpr const char* owner = "clipped_value_loss";
  detail::check_option(options.clip_range > 0.0, owner, "clip_range", options.clip_range, "> 0 (infinity: no clipping)");
  detail::check_aggregation(options.aggregation, options.constant_divisor, owner);
  if (sequence_count == 0 || first_sequence + sequence_count > batch.num_sequences())
    throw error(detail::make_message(owner, ": sequences [", first_sequence, ", ", first_sequence + sequence_count,
                                     ") are not a non-empty slice of the batch's ", batch.num_sequences()));
  const std::size_t first_token = batch.sequence_begin(first_sequence);
  const std::size_t tokens = batch.sequence_end(first_sequence + sequence_count - 1) - first_token;
  if (values.size() != tokens || dvalues.size() != tokens || returns.size() != batch.num_tokens())
    throw error(detail::make_message(owner, ": ", values.size(), " values and ", dvalues.size(),
                                     " gradients for a slice of ", tokens, " tokens, ", returns.size(),
                                     " returns for a batch of ", batch.num_tokens()));
  const auto loss_tokens = detail::sequence_loss_tokens(batch, first_sequence, sequence_count);
  const aggregation_scope totals = detail::complete_scope(scope, detail::scope_of(loss_tokens));
  const auto mask = batch.loss_mask();
  const auto old_values = batch.values();
  const double epsilon = options.clip_range;
  value_loss_sums sums;
  for (std::size_t i = 0; i < sequence_count; ++i) {
    const std::size_t s = first_sequence + i;
    const double weight = loss_tokens[i] ? detail::token_weight(options.aggregation, options.constant_divisor, totals,
                                                                loss_tokens[i])
                                         : 0.0;
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) {
      const std::size_t local = t - first_token;
      dvalues[local] = 0.0f;
      if (!mask[t]) continue;
      const double value = values[local], old_value = old_values[t], target = returns[t];
      const auto refuse = [&](const char* what, double bad) {
        throw data_error(detail::make_message(owner, ": the ", what, " of token ", t, " is ", bad));
      };
      if (!std::isfinite(value)) refuse("value", value);
      if (!std::isfinite(old_value)) refuse("old value (batch.values())", old_value);
      if (!std::isfinite(target)) refuse("return", target);
      const double clipped_value = std::clamp(value, old_value - epsilon, old_value + epsilon);
      const double unclipped_loss = (value - target) * (value - target);
      const double clipped_loss = (clipped_value - target) * (clipped_value - target);
      const double inside = clipped_value == value ? 1.0 : 0.0;
      const double derivative = unclipped_loss > clipped_loss   ? value - target
                                : clipped_loss > unclipped_loss ? inside * (clipped_value - target)
                                                                : 0.5 * ((value - target) + inside * (clipped_value - target));
      sums.loss += weight * 0.5 * std::max(unclipped_loss, clipped_loss);
      dvalues[local] = static_cast<float>(weight * derivative);
      sums.tokens += 1;
      sums.clipped += clipped_loss > unclipped_loss;
      sums.squared_error += unclipped_loss;
    }
  }
  return sums;
}

}  // namespace rlft
