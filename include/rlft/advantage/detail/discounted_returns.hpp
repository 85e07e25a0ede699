// The token-level machinery shared by REINFORCE++ and GAE: per-token rewards
//   r_t = token_rewards[t] + 1[t = last completion token]·outcome − β·KL_t   (KL on loss tokens),
// discounted advantages A_t = Σ_l (γλ)^l δ_{t+l} with δ_t = r_t + γV_{t+1} − V_t (V ≡ 0 and
// λ = 1 give REINFORCE++'s returns G_t = Σ_{s>=t} γ^(s−t) r_s), the critic's targets A_t + V_t,
// and whitening over all loss tokens of the batch. Every completion token is a time step, loss
// token or not (tool output in the middle of a completion still passes the return back);
// advantages and targets are written on loss tokens and are 0 elsewhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
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
};

inline void check_discounting(const discounting& options, const char* estimator) {
  check_option(options.gamma >= 0.0 && options.gamma <= 1.0, estimator, "gamma", options.gamma, "in [0, 1]");
  check_option(options.lambda >= 0.0 && options.lambda <= 1.0, estimator, "lambda", options.lambda, "in [0, 1]");
  check_option(std::isfinite(options.whitening_epsilon) && options.whitening_epsilon >= 0.0, estimator,
               "whitening_epsilon", options.whitening_epsilon, "finite and >= 0");
  check_kl_penalty(options.kl, estimator);
}

enum class token_input { token_reward, value, old_logprob, ref_logprob };

// The first non-finite per-token input a sequence's scan met.
struct bad_token_input {
  std::size_t token = no_bad_token;
  token_input what = token_input::token_reward;
};

[[noreturn]] inline void throw_bad_token_input(const rollout_batch& batch, bad_token_input bad,
                                               const char* estimator) {
  const char* names[] = {"token reward", "value", "old log-prob", "reference log-prob"};
  const std::span<const float> arrays[] = {batch.token_rewards(), batch.values(), batch.old_logprobs(),
                                           batch.ref_logprobs()};
  const auto index = static_cast<std::size_t>(bad.what);
  throw error(make_message(estimator, ": ", names[index], " of token ", bad.token, " (sequence ",
                           sequence_of_token(batch, bad.token), ") is ", arrays[index][bad.token],
                           bad.what == token_input::value ? " (fill batch.values())" : ""));
}

// Fills advantages (and returns, unless empty) for every sequence; sequences with skip[s] = 1
// get zero advantages and stay out of the whitening statistics (their critic targets are
// still written: the critic can learn from them). outcome[s] is the reward placed on the
// last completion token of s. Throws rlft::error naming the first non-finite input it read.
inline void discounted_advantages(const rollout_batch& batch, std::span<const double> outcome,
                                  std::span<const std::uint8_t> skip, const discounting& options,
                                  std::span<float> advantages, std::span<float> returns,
                                  const char* estimator) {
  const auto mask = batch.loss_mask();
  const auto token_rewards = batch.token_rewards();
  const auto values = batch.values();
  const auto old_logprobs = batch.old_logprobs();
  const auto ref_logprobs = batch.ref_logprobs();
  const bool with_kl = options.kl.coefficient > 0.0;
  const auto beta = static_cast<float>(options.kl.coefficient);
  const auto bound = static_cast<float>(options.kl.log_ratio_bound);
  const double gamma = options.gamma, gamma_lambda = options.gamma * options.lambda;

  std::vector<moments> sequence_moments(batch.num_sequences());
  std::vector<bad_token_input> bad(batch.num_sequences());
  parallel_for(batch.num_sequences(), [&](std::size_t s) {
    const std::size_t begin = batch.sequence_begin(s), end = batch.sequence_end(s);
    const std::size_t completion_begin = begin + batch.prompt_length(s);
    for (std::size_t t = begin; t < completion_begin; ++t) advantages[t] = 0.0f;
    if (!returns.empty())
      for (std::size_t t = begin; t < end; ++t) returns[t] = 0.0f;
    const auto flag = [&](std::size_t t, token_input what) {
      if (t < bad[s].token) bad[s] = {t, what};
    };
    double next_value = 0.0, running = 0.0;
    for (std::size_t t = end; t-- > completion_begin;) {
      double reward = token_rewards[t];
      if (!std::isfinite(token_rewards[t])) flag(t, token_input::token_reward);
      if (t + 1 == end) reward += outcome[s];
      if (with_kl && mask[t]) {
        if (!std::isfinite(old_logprobs[t])) flag(t, token_input::old_logprob);
        if (!std::isfinite(ref_logprobs[t])) flag(t, token_input::ref_logprob);
        reward -= double{beta} * estimate_kl(options.kl.estimator, old_logprobs[t], ref_logprobs[t], bound).value;
      }
      double value = 0.0;
      if (options.use_values) {
        value = values[t];
        if (!std::isfinite(values[t])) flag(t, token_input::value);
      }
      running = reward + gamma * next_value - value + gamma_lambda * running;
      next_value = value;
      advantages[t] = mask[t] && !skip[s] ? static_cast<float>(running) : 0.0f;
      if (!returns.empty() && mask[t]) returns[t] = static_cast<float>(running + value);
    }
    if (options.whiten && !skip[s])
      for (std::size_t t = completion_begin; t < end; ++t)
        if (mask[t]) sequence_moments[s].add(advantages[t]);
  });

  bad_token_input first;
  for (const auto& b : bad)
    if (b.token < first.token) first = b;
  if (first.token != no_bad_token) throw_bad_token_input(batch, first, estimator);

  if (!options.whiten) return;
  moments all;
  for (const auto& m : sequence_moments) all.merge(m);
  const double mean = all.mean;
  // All-equal advantages with ε = 0: the numerators are exactly 0, and so is the result.
  const double spread = all.standard_deviation(false) + options.whitening_epsilon;
  const double scale = spread > 0.0 ? 1.0 / spread : 0.0;
  parallel_for(batch.num_sequences(), [&](std::size_t s) {
    if (skip[s]) return;
    for (std::size_t t = batch.sequence_begin(s) + batch.prompt_length(s); t < batch.sequence_end(s); ++t)
      if (mask[t]) advantages[t] = static_cast<float>((advantages[t] - mean) * scale);
  });
}

}  // namespace rlft::detail
