// TRL's GRPOTrainer (TRL 1.16) as rlft options: rlft::presets::trl_grpo<loss_type>(config)
// returns the estimator and objective that compute the advantages, loss and dL/d(log-prob) of
// GRPOTrainer._compute_loss for one micro-batch per optimizer step
// (tests/presets/golden/peers.json, from tools/make_golden_peers.py, holds TRL's own numbers):
//   advantages     (R − mean_group) / (std + 1e-4), std the group's or the batch's (n − 1), or
//                  no division (scale_rewards "none");
//   ratio          exp(log π_θ − log π_old), unclamped (rlft clamps its log at ±80, where a
//                  float's exp ends); "sequence" importance sampling uses the sequence's mean
//                  log-ratio (GSPO, rlft::gspo_objective);
//   policy term    grpo/bnpo/dr_grpo/dapo: −min(r·A, clip(r, 1 − ε, 1 + ε_high)·A), r capped at
//                  delta when set (rlft's two-sided clip); cispo: −sg(min(r, ε_high))·A·log π_θ;
//                  sapo: the soft gate with sapo_temperature_pos/neg; no dual clip;
//   KL             β·k3, unclamped, times r when use_bias_correction_kl (TRL's default);
//   normaliser     grpo, sapo: the mean over sequences of each sequence's token mean;
//                  bnpo, dapo, cispo: all loss tokens; dr_grpo: sequences × max_completion_length.
// Differences that remain, outside TRL's usual use: TRL counts a completion without loss tokens
// in the grpo/sapo/dr_grpo sequence count (rlft leaves it out, as verl does; TRL's own
// completions always hold their EOS token); bnpo normalises each micro-batch by its own tokens
// when gradients accumulate (rlft by the mini-batch's, which is what dapo does in TRL).
#pragma once

#include <cstddef>
#include <optional>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/core/error.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"
#include "rlft/presets/peer_preset.hpp"

namespace rlft::presets {

enum class trl_loss_type { grpo, bnpo, dr_grpo, dapo, cispo, sapo };
enum class trl_importance_sampling_level { token, sequence };
enum class trl_scale_rewards { group, batch, none };

// GRPOConfig's options that shape the loss, with its names and defaults.
struct trl_grpo_config {
  double beta = 0.0;
  double epsilon = 0.2;
  std::optional<double> epsilon_high = {};  // unset: epsilon; cispo: the weight's cap itself (TRL suggests 5)
  std::optional<double> delta = {};         // two-sided clip
  trl_scale_rewards scale_rewards = trl_scale_rewards::group;
  bool use_bias_correction_kl = true;
  double sapo_temperature_pos = 1.0;
  double sapo_temperature_neg = 1.05;
  std::size_t max_completion_length = 256;
};

namespace detail {

// TRL applies no clamp of its own; rlft's widest keeps exp finite in float.
inline constexpr double trl_log_ratio_bound = rlft::detail::max_log_ratio_bound;

inline grpo_advantage trl_estimator(const trl_grpo_config& config) {
  const auto scaling = config.scale_rewards == trl_scale_rewards::group   ? reward_scaling::group_std
                       : config.scale_rewards == trl_scale_rewards::batch ? reward_scaling::batch_std
                                                                          : reward_scaling::none;
  return {.epsilon = 1e-4, .scaling = scaling, .unbiased_std = true};
}

inline kl_penalty trl_kl(const trl_grpo_config& config, trl_importance_sampling_level level) {
  if (config.beta != 0.0 && config.use_bias_correction_kl && level == trl_importance_sampling_level::sequence)
    throw error("trl_grpo: use_bias_correction_kl with importance_sampling_level \"sequence\" weights every token's "
                "KL by the sequence's ratio, which rlft does not reproduce; set use_bias_correction_kl = false");
  return {.coefficient = config.beta,
          .estimator = kl_estimator::k3,
          .log_ratio_bound = trl_log_ratio_bound,
          .value_bound = 0.0,
          .importance_weighted = config.use_bias_correction_kl};
}

constexpr loss_aggregation trl_aggregation(trl_loss_type loss) {
  switch (loss) {
    case trl_loss_type::bnpo:
    case trl_loss_type::dapo:
    case trl_loss_type::cispo: return loss_aggregation::token_mean;
    case trl_loss_type::dr_grpo: return loss_aggregation::sequence_mean_token_sum_normalized;
    default: return loss_aggregation::sequence_mean_token_mean;
  }
}

}  // namespace detail

// Throws rlft::error for a configuration rlft cannot reproduce (named in the message); the
// objectives check the numbers themselves when they run.
template <trl_loss_type Loss, trl_importance_sampling_level Level = trl_importance_sampling_level::token>
auto trl_grpo(const trl_grpo_config& config = {}) {
  constexpr auto aggregation = detail::trl_aggregation(Loss);
  const auto divisor = static_cast<double>(config.max_completion_length);
  const kl_penalty kl = detail::trl_kl(config, Level);
  const double epsilon_high = config.epsilon_high.value_or(config.epsilon);
  if constexpr (Loss == trl_loss_type::cispo) {
    static_assert(Level == trl_importance_sampling_level::token, "rlft's CISPO weights each token by its own ratio");
    if (!(epsilon_high >= 1.0))
      throw error(rlft::detail::make_message("trl_grpo<cispo>: epsilon_high ", epsilon_high,
                                             " caps the importance weight below 1; rlft's cispo_objective needs a "
                                             "cap >= 1 (TRL suggests 5)"));
    return peer_preset<grpo_advantage, cispo_objective>{
        detail::trl_estimator(config),
        {.epsilon_low = 1.0, .epsilon_high = epsilon_high - 1.0, .kl = kl, .aggregation = aggregation,
         .log_ratio_bound = detail::trl_log_ratio_bound}};
  } else if constexpr (Loss == trl_loss_type::sapo) {
    static_assert(Level == trl_importance_sampling_level::token, "rlft's SAPO gates each token by its own ratio");
    return peer_preset<grpo_advantage, sapo_objective>{
        detail::trl_estimator(config),
        {.temperature_positive = config.sapo_temperature_pos, .temperature_negative = config.sapo_temperature_neg,
         .kl = kl, .aggregation = aggregation, .log_ratio_bound = detail::trl_log_ratio_bound}};
  } else {
    const clip_range clip{.epsilon_low = config.epsilon, .epsilon_high = epsilon_high,
                          .two_sided = config.delta.value_or(0.0)};
    using objective = std::conditional_t<Level == trl_importance_sampling_level::token, clipped_surrogate_objective,
                                         gspo_objective>;
    return peer_preset<grpo_advantage, objective>{
        detail::trl_estimator(config),
        {.clip = clip, .kl = kl, .aggregation = aggregation, .constant_divisor = divisor,
         .log_ratio_bound = detail::trl_log_ratio_bound}};
  }
}

}  // namespace rlft::presets
