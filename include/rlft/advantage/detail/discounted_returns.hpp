// The token-level machinery shared by REINFORCE++ and GAE: per-token rewards
//   r_t = token_rewards[t] + 1[t = last completion token]·outcome − β·KL_t   (KL on loss tokens),
// discounted advantages A_t = Σ_l (γλ)^l δ_{t+l} with δ_t = r_t + γV_{t+1} − V_t (V ≡ 0 and
// λ = 1 give REINFORCE++'s returns G_t = Σ_{s>=t} γ^(s−t) r_s), the critic's targets A_t + V_t,
// and whitening over all loss tokens of the batch. Every completion token is a time step, loss
// token or not (tool output in the middle of a completion still passes the return back), or,
// with masked_token_steps::carried, only the loss tokens are: the others leave the return and
// the next value as they are and add their reward; advantages and targets are written on loss
// tokens and are 0 elsewhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/masked_tokens.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace rlft::detail {

struct discounting {
  double gamma = 1.0;
  double lambda = 1.0;
  kl_penalty kl = {};
  bool use_values = false;
  bool whiten = false;
  double whitening_epsilon = 1e-8;
  whitening_scale whitening = whitening_scale::population_std_plus_epsilon;
  masked_token_steps masked_tokens = masked_token_steps::discounted;
};

// What whitening divides the centred advantages by, on the CPU and in the CUDA kernel.
RLFT_HOST_DEVICE inline double whitening_spread(const value_moments& all, whitening_scale scale, double epsilon) noexcept {
  if (scale == whitening_scale::population_std_plus_epsilon) return all.standard_deviation(false) + epsilon;
  if (scale == whitening_scale::sqrt_population_variance_at_least_epsilon) {
    const double population = all.standard_deviation(false);
    return sqrt(population * population > epsilon ? population * population : epsilon);
  }
  const double sample = all.standard_deviation(true);
  return sqrt(sample * sample + epsilon);
}

// r_t: the dense reward of token t, plus the completion's outcome on its last token, minus
// β·KL_t on loss tokens (0 elsewhere).
RLFT_HOST_DEVICE inline double step_reward(float dense_reward, double outcome_here, double kl_term) noexcept {
  return dense_reward + outcome_here - kl_term;
}

// δ_t = r_t + γ·V_{t+1} − V_t, the TD error (V ≡ 0 without a critic). The advantage is
// A_t = δ_t + γλ·A_{t+1}: a sequential loop on the CPU, a scan of affine maps on the device.
RLFT_HOST_DEVICE inline double temporal_difference(double reward, double next_value, double value,
                                                   double gamma) noexcept {
  return reward + gamma * next_value - value;
}

inline void check_discounting(const discounting& options, const char* estimator) {
  check_option(options.gamma >= 0.0 && options.gamma <= 1.0, estimator, "gamma", options.gamma, "in [0, 1]");
  check_option(options.lambda >= 0.0 && options.lambda <= 1.0, estimator, "lambda", options.lambda, "in [0, 1]");
  check_option(std::isfinite(options.whitening_epsilon) && options.whitening_epsilon >= 0.0, estimator,
               "whitening_epsilon", options.whitening_epsilon, "finite and >= 0");
  check_kl_penalty(options.kl, estimator);
}

enum class token_input { token_reward, value, old_logprob, ref_logprob };

// A non-finite per-token input: which token, and in which array.
struct bad_token_input {
  std::size_t token = no_bad_token;
  token_input what = token_input::token_reward;
};

// The per-token arrays a scan reads, from batch token `first` on (the whole batch on the CPU; a
// downloaded sequence in the CUDA estimators' error reports).
struct scan_inputs {
  std::size_t first = 0;
  std::span<const float> token_rewards = {};
  std::span<const float> values = {};
  std::span<const float> old_logprobs = {};
  std::span<const float> ref_logprobs = {};
  std::span<const std::uint8_t> loss_mask = {};
};

inline scan_inputs scan_inputs_of(const rollout_batch& batch) {
  return {.token_rewards = batch.token_rewards(),
          .values = batch.values(),
          .old_logprobs = batch.old_logprobs(),
          .ref_logprobs = batch.ref_logprobs(),
          .loss_mask = batch.loss_mask()};
}

// Whitening divides by the spread of the loss tokens' advantages: a batch with a single loss
// token has none, and its only advantage would silently become 0.
inline void check_whitened_tokens(double loss_tokens, const char* estimator) {
  if (loss_tokens == 1.0)
    throw data_error(make_message(estimator, ": whitening needs at least two loss tokens, and the batch has one "
                                             "(its advantage would be 0); turn whitening off for such batches"));
}

// The first non-finite input among completion tokens [completion_begin, end) of a scan, if
// any (called only after the scan went non-finite, so it can afford to look at each input
// separately).
inline bad_token_input first_bad_input(const scan_inputs& in, std::size_t completion_begin, std::size_t end,
                                       const discounting& options) {
  const bool with_kl = options.kl.coefficient > 0.0;
  for (std::size_t t = completion_begin; t < end; ++t) {
    const std::size_t i = t - in.first;
    if (!std::isfinite(in.token_rewards[i])) return {t, token_input::token_reward};
    if (options.use_values && !std::isfinite(in.values[i])) return {t, token_input::value};
    if (with_kl && in.loss_mask[i]) {
      if (!std::isfinite(in.old_logprobs[i])) return {t, token_input::old_logprob};
      if (!std::isfinite(in.ref_logprobs[i])) return {t, token_input::ref_logprob};
    }
  }
  return {};
}

// The error for sequence s, whose scan went non-finite.
[[noreturn]] inline void throw_non_finite_scan(const scan_inputs& in, std::size_t s, std::size_t completion_begin,
                                               std::size_t end, const discounting& options, const char* estimator) {
  const bad_token_input bad = first_bad_input(in, completion_begin, end, options);
  if (bad.token == no_bad_token)
    throw data_error(make_message(estimator, ": the discounted return of sequence ", s, " overflows"));
  const char* names[] = {"token reward", "value", "old log-prob", "reference log-prob"};
  const std::span<const float> arrays[] = {in.token_rewards, in.values, in.old_logprobs, in.ref_logprobs};
  const auto index = static_cast<std::size_t>(bad.what);
  throw data_error(make_message(estimator, ": ", names[index], " of token ", bad.token, " (sequence ", s, ") is ",
                           arrays[index][bad.token - in.first],
                           bad.what == token_input::value ? " (fill batch.values())" : ""));
}

// Fills advantages (and returns, unless empty) for every sequence; sequences with skip[s] = 1
// get zero advantages and stay out of the whitening statistics (their critic targets are
// still written: the critic can learn from them). outcome[s] is the reward placed on the
// last completion token of s. Throws rlft::data_error naming the first non-finite input it read,
// and, when whitening, for a batch with a single loss token (before whitening the returns).
inline void discounted_advantages(const rollout_batch& batch, std::span<const double> outcome,
                                  std::span<const std::uint8_t> skip, const discounting& options,
                                  std::span<float> advantages, std::span<float> returns,
                                  const char* estimator) {
  std::vector<value_moments> sequence_moments(batch.num_sequences());
  std::vector<std::uint8_t> finite(batch.num_sequences(), 1);
  const auto scan_all = [&](auto estimator_constant, auto with_kl, auto with_values) {
    constexpr kl_estimator kl_kind = decltype(estimator_constant)::value;
    const std::uint8_t* const mask = batch.loss_mask().data();
    const float* const token_rewards = batch.token_rewards().data();
    const float* const values = batch.values().data();
    const float* const old_logprobs = batch.old_logprobs().data();
    const float* const ref_logprobs = batch.ref_logprobs().data();
    float* const advantage = advantages.data();
    float* const critic_target = returns.empty() ? nullptr : returns.data();
    const double beta = options.kl.coefficient;
    const auto bound = static_cast<float>(options.kl.log_ratio_bound);
    const auto value_bound = static_cast<float>(kl_value_bound(options.kl));
    const double gamma = options.gamma, gamma_lambda = options.gamma * options.lambda;
    const bool carry = options.masked_tokens == masked_token_steps::carried;
    parallel_for(batch.num_sequences(), [&](std::size_t s) {
      const std::size_t begin = batch.sequence_begin(s), end = batch.sequence_end(s);
      const std::size_t completion_begin = begin + batch.prompt_length(s);
      for (std::size_t t = begin; t < completion_begin; ++t) advantage[t] = 0.0f;
      if (critic_target)
        for (std::size_t t = begin; t < completion_begin; ++t) critic_target[t] = 0.0f;
      const float keep = skip[s] ? 0.0f : 1.0f;
      double next_value = 0.0, running = 0.0;
      bool all_finite = true;
      for (std::size_t t = end; t-- > completion_begin;) {
        double kl_term = 0.0;
        if constexpr (decltype(with_kl)::value) {
          const bool on = mask[t] != 0;
          kl_term = on ? beta * estimate_kl<kl_kind>(old_logprobs[t], ref_logprobs[t], bound, value_bound).value : 0.0;
          // The log-ratio clamp would hide an infinite log-prob from `running`: test it here.
          all_finite = all_finite && (!on || (std::isfinite(old_logprobs[t]) && std::isfinite(ref_logprobs[t])));
        }
        const double reward = step_reward(token_rewards[t], t + 1 == end ? outcome[s] : 0.0, kl_term);
        const double value = decltype(with_values)::value ? double{values[t]} : 0.0;
        if (carry && !mask[t]) {  // no time step: the return and the next value pass across
          running += reward;
        } else {
          running = temporal_difference(reward, next_value, value, gamma) + gamma_lambda * running;
          next_value = value;
        }
        all_finite = all_finite & std::isfinite(running);  // every other input flows into running
        const float on = mask[t] ? 1.0f : 0.0f;
        advantage[t] = static_cast<float>(running) * on * keep;
        if (critic_target) critic_target[t] = static_cast<float>(running + value) * on;
      }
      finite[s] = all_finite;
      if (options.whiten && !skip[s])
        sequence_moments[s] = masked_moments(advantage + completion_begin, mask + completion_begin,
                                             end - completion_begin);
    });
  };
  const bool with_kl = options.kl.coefficient > 0.0;
  with_kl_estimator(options.kl.estimator, [&](auto estimator_constant) {
    const auto by_values = [&](auto with_kl_constant) {
      if (options.use_values)
        scan_all(estimator_constant, with_kl_constant, std::true_type{});
      else
        scan_all(estimator_constant, with_kl_constant, std::false_type{});
    };
    if (with_kl)
      by_values(std::true_type{});
    else
      by_values(std::false_type{});
  });
  for (std::size_t s = 0; s < batch.num_sequences(); ++s)
    if (!finite[s])
      throw_non_finite_scan(scan_inputs_of(batch), s, batch.sequence_begin(s) + batch.prompt_length(s),
                            batch.sequence_end(s), options, estimator);

  if (!options.whiten) return;
  value_moments all;
  for (const auto& m : sequence_moments) all.merge(m);
  check_whitened_tokens(all.count, estimator);
  const auto mean = static_cast<float>(all.mean);
  // All-equal advantages with ε = 0: the numerators are exactly 0, and so is the result.
  const double spread = whitening_spread(all, options.whitening, options.whitening_epsilon);
  const auto scale = static_cast<float>(spread > 0.0 ? 1.0 / spread : 0.0);
  const std::uint8_t* const mask = batch.loss_mask().data();
  float* const advantage = advantages.data();
  parallel_for(batch.num_sequences(), [&](std::size_t s) {
    if (skip[s]) return;
    const std::size_t end = batch.sequence_end(s);
    for (std::size_t t = batch.sequence_begin(s) + batch.prompt_length(s); t < end; ++t)
      advantage[t] = (advantage[t] - mean) * scale * static_cast<float>(mask[t]);
  });
}

}  // namespace rlft::detail
