// Importance-sampling corrections for rollouts sampled by another engine (vLLM, SGLang, a
// quantised server), whose log-probs differ from the trainer's: with ρ_t = π_old(o_t)/π_sampling(o_t)
// = exp(old log-prob − sampling log-prob) of each loss token,
//   truncated importance sampling (TIS; Yao et al., "Your efficient RL framework secretly brings
//   you off-policy RL training", 2025): the policy term of token t is weighted by min(ρ, cap),
//   with ρ the token's ratio or its sequence's, Π_t ρ_t;
//   masked importance sampling (MIS; IcePop of the Ring-1T report, 2025; verl's rejection
//   sampling): tokens, or whole sequences, whose ratio lies outside [low, high] leave the loss
//   (their loss mask is cleared, so the aggregation does not count them either); a sequence's
//   ratio is Π_t ρ_t, or its geometric mean exp(mean log ρ_t).
// The two combine as verl's rollout_is and rollout_rs do (IcePop: token weights and a token
// mask). The weights go to the objective as objective_input::policy_weights: they scale the
// policy term, not the KL or entropy terms, as verl's rollout_is_weights scale pg_losses.
// Log-ratios are clamped to ±20 before the exponential, as everywhere in rlft. With rlft's own
// generator the sampling and old log-probs are equal bit for bit, every ρ is exactly 1, and the
// correction changes nothing (a cap and a band that hold 1 keep every weight 1 and every token).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace rlft {

enum class ratio_level {
  token,     // each token's own ratio
  sequence,  // the product of the sequence's token ratios
  geometric  // its geometric mean (masks only)
};

struct truncated_importance_sampling {
  ratio_level level = ratio_level::token;  // token or sequence
  double cap = 2.0;                        // > 0; infinity: plain importance weights
};

struct masked_importance_sampling {
  ratio_level level = ratio_level::token;
  double low = 0.5;   // ratios in [low, high] stay; 0 <= low <= high
  double high = 2.0;  // may be infinity
};

struct rollout_correction {
  std::optional<truncated_importance_sampling> truncate = {};
  std::optional<masked_importance_sampling> mask = {};
};

// Over the loss tokens before masking.
struct rollout_correction_report {
  std::size_t tokens = 0;
  double ratio_mean = 0.0;       // mean ρ_t
  double truncated_share = 0.0;  // share of tokens whose weight the cap lowered
  double masked_share = 0.0;     // share of tokens taken out of the loss
  double mismatch_kl = 0.0;      // mean of ρ_t − 1 − log ρ_t: the k3 estimate of KL(π_sampling ‖ π_old)
                                 // (rlft/objective/kl_estimator.hpp)
};

namespace detail {

inline constexpr double rollout_log_ratio_bound = 20.0;

inline void check_rollout_correction(const rollout_correction& correction) {
  constexpr const char* owner = "rollout correction";
  if (correction.truncate) {
    const auto& t = *correction.truncate;
    check_option(t.level != ratio_level::geometric, owner, "truncate.level", "token or sequence");
    check_option(t.cap > 0.0 && !std::isnan(t.cap), owner, "truncate.cap", t.cap, "> 0 (infinity: no cap)");
  }
  if (correction.mask) {
    const auto& m = *correction.mask;
    check_option(m.low >= 0.0 && std::isfinite(m.low), owner, "mask.low", m.low, "finite and >= 0");
    check_option(m.high >= m.low && !std::isnan(m.high), owner, "mask.high", m.high, ">= mask.low");
  }
}

}  // namespace detail

// Writes the policy weight of every token of `batch` into `policy_weights` (1 where no
// truncation applies, and on tokens outside the loss) and clears the loss mask of the tokens a
// mask takes out. Throws rlft::error on an out-of-range option or a span of the wrong length,
// rlft::data_error naming the token when a loss token's sampling or old log-prob is not finite;
// the batch is unchanged then.
inline rollout_correction_report correct_rollouts(rollout_batch& batch, const rollout_correction& correction,
                                                  std::span<float> policy_weights) {
  detail::check_rollout_correction(correction);
  if (policy_weights.size() != batch.num_tokens())
    throw error(detail::make_message("rollout correction: ", policy_weights.size(), " policy weights given for a batch of ",
                                     batch.num_tokens(), " tokens"));
  const auto mask = batch.loss_mask();
  const auto sampling = batch.sampling_logprobs();
  const auto old = batch.old_logprobs();
  std::vector<double> log_ratios(batch.num_tokens(), 0.0);
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) {
    if (!mask[t]) continue;
    if (!std::isfinite(sampling[t]) || !std::isfinite(old[t]))
      throw data_error(detail::make_message("rollout correction: the ",
                                            std::isfinite(sampling[t]) ? "old" : "sampling", " log-prob of token ", t,
                                            " is ", std::isfinite(sampling[t]) ? old[t] : sampling[t]));
    log_ratios[t] = std::clamp(static_cast<double>(old[t]) - static_cast<double>(sampling[t]),
                               -detail::rollout_log_ratio_bound, detail::rollout_log_ratio_bound);
  }

  rollout_correction_report report;
  double ratio_sum = 0.0, kl_sum = 0.0, truncated = 0.0, masked = 0.0;
  std::fill(policy_weights.begin(), policy_weights.end(), 1.0f);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    const std::size_t begin = batch.sequence_begin(s), end = batch.sequence_end(s);
    double log_sum = 0.0, tokens = 0.0;
    for (std::size_t t = begin; t < end; ++t) {
      if (!mask[t]) continue;
      const double ratio = std::exp(log_ratios[t]);
      log_sum += log_ratios[t];
      tokens += 1.0;
      ratio_sum += ratio;
      kl_sum += detail::exp_minus_one_minus_x(log_ratios[t]).value;  // k3 = ρ − 1 − log ρ, without cancellation
    }
    if (tokens == 0.0) continue;
    report.tokens += static_cast<std::size_t>(tokens);
    const auto bounded_exp = [](double x) {
      return std::exp(std::clamp(x, -detail::rollout_log_ratio_bound, detail::rollout_log_ratio_bound));
    };
    const auto sequence_ratio = [&](ratio_level level) {
      return level == ratio_level::geometric ? bounded_exp(log_sum / tokens) : bounded_exp(log_sum);
    };
    if (correction.truncate) {
      const auto& tis = *correction.truncate;
      for (std::size_t t = begin; t < end; ++t) {
        if (!mask[t]) continue;
        const double ratio = tis.level == ratio_level::token ? std::exp(log_ratios[t]) : sequence_ratio(tis.level);
        truncated += ratio > tis.cap ? 1.0 : 0.0;
        policy_weights[t] = static_cast<float>(std::min(ratio, tis.cap));
      }
    }
    if (correction.mask) {
      const auto& mis = *correction.mask;
      const auto outside = [&](double ratio) { return ratio < mis.low || ratio > mis.high; };
      const bool whole = mis.level != ratio_level::token && outside(sequence_ratio(mis.level));
      for (std::size_t t = begin; t < end; ++t) {
        if (!mask[t] || !(whole || (mis.level == ratio_level::token && outside(std::exp(log_ratios[t]))))) continue;
        mask[t] = 0;
        masked += 1.0;
      }
    }
  }
  if (report.tokens > 0) {
    const auto tokens = static_cast<double>(report.tokens);
    report.ratio_mean = ratio_sum / tokens;
    report.mismatch_kl = kl_sum / tokens;
    report.truncated_share = truncated / tokens;
    report.masked_share = masked / tokens;
  }
  return report;
}

}  // namespace rlft
