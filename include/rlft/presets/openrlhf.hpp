// OpenRLHF's REINFORCE++ (OpenRLHF 0.11, --algo.advantage.estimator reinforce or
// reinforce_baseline) as rlft options: rlft::presets::openrlhf_reinforce_pp(config) returns the
// estimator and objective that compute the advantages of its experience maker and the loss and
// dL/d(log-prob) of its PolicyLoss (tests/presets/golden/peers.json, from
// tools/make_golden_peers.py, holds OpenRLHF's own numbers):
//   rewards     R on the last loss token − init_coef · KL(π_old ‖ π_ref) on every loss token, the
//               KL value clamped at ±10 (kl_estimator k1 by default, k2 or k3);
//   returns     discounted by gamma at every completion token (reinforce_baseline first
//               subtracts the group's mean reward and forces gamma to 1);
//   whitening   over all loss tokens of the batch: (G − mean) / sqrt(max(variance, 1e-8));
//   loss        the PPO clip (eps_clip, or eps_clip_low_high), dual clip when set, log-ratio
//               clamped at ±20; token-mean over the batch's loss tokens, or seq-mean-token-mean.
#pragma once

#include <optional>
#include <utility>

#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/presets/peer_preset.hpp"

namespace rlft::presets {

enum class openrlhf_estimator { reinforce, reinforce_baseline };
enum class openrlhf_kl_estimator { k1, k2, k3 };
enum class openrlhf_loss_agg_mode { token_mean, seq_mean_token_mean };

// The train_ppo_ray options that shape REINFORCE++, with OpenRLHF's names and defaults.
struct openrlhf_config {
  openrlhf_estimator estimator = openrlhf_estimator::reinforce;  // --algo.advantage.estimator
  double gamma = 1.0;                                            // --algo.advantage.gamma
  double kl_init_coef = 0.01;                                    // --algo.kl.init_coef
  openrlhf_kl_estimator kl_estimator = openrlhf_kl_estimator::k1;
  double eps_clip = 0.2;                                         // --actor.eps_clip
  std::optional<std::pair<double, double>> eps_clip_low_high = {};
  std::optional<double> dual_clip = {};
  openrlhf_loss_agg_mode loss_agg_mode = openrlhf_loss_agg_mode::token_mean;
};

inline peer_preset<reinforce_plus_plus_advantage, clipped_surrogate_objective> openrlhf_reinforce_pp(
    const openrlhf_config& config = {}) {
  const bool baseline = config.estimator == openrlhf_estimator::reinforce_baseline;
  // k1 and k2 are clamped in value only; k3's log-ratio clamp (δ <= 10) changes no value the
  // value clamp leaves, so rlft's ±20 agrees with it.
  const kl_estimator estimator = config.kl_estimator == openrlhf_kl_estimator::k1   ? kl_estimator::k1
                                 : config.kl_estimator == openrlhf_kl_estimator::k2 ? kl_estimator::k2
                                                                                    : kl_estimator::k3;
  const double log_ratio_bound = estimator == kl_estimator::k3 ? 20.0 : rlft::detail::max_log_ratio_bound;
  const auto [low, high] = config.eps_clip_low_high.value_or(std::pair{config.eps_clip, config.eps_clip});
  return {{.gamma = baseline ? 1.0 : config.gamma,
           .kl = {.coefficient = config.kl_init_coef > 0.0 ? config.kl_init_coef : 0.0,
                  .estimator = estimator,
                  .log_ratio_bound = log_ratio_bound,
                  .value_bound = 10.0},
           .group_mean_baseline = baseline,
           .whiten = true,
           .whitening_epsilon = 1e-8,
           .whitening = whitening_scale::sqrt_population_variance_at_least_epsilon},
          {.clip = {.epsilon_low = low, .epsilon_high = high, .dual_clip = config.dual_clip.value_or(0.0)},
           .aggregation = config.loss_agg_mode == openrlhf_loss_agg_mode::token_mean
                              ? loss_aggregation::token_mean
                              : loss_aggregation::sequence_mean_token_mean}};
}

}  // namespace rlft::presets
