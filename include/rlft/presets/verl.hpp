// verl's PPO actor loss and advantage estimators (verl 0.9) as rlft options:
//   rlft::presets::verl_advantage<adv_estimator>(algorithm)   algorithm.adv_estimator's function;
//   rlft::presets::verl_objective<loss_mode>(actor)           actor.policy_loss.loss_mode's loss
//                                                             plus kl_loss_coef · KL (use_kl_loss);
//   rlft::presets::verl_grpo<loss_mode>(actor, algorithm)     both, with GRPO advantages;
//   rlft::presets::verl_dapo()                                the DAPO recipe's settings.
// They compute what verl's core_algos functions compute, combined as its ppo_loss combines them
// (tests/presets/golden/peers.json, from tools/make_golden_peers.py, holds verl's own numbers):
//   vanilla   the clipped surrogate with dual clip at clip_ratio_c, log-ratio clamped at ±20;
//   gspo      the sequence's mean log-ratio, capped above at 10 (rlft: ±10, see below);
//   sapo      the soft gate, its policy term always aggregated as seq-mean-token-mean;
//   geo_mean  GMPO, the mean over sequences; cispo the clipped stop-gradient weight;
//   KL        kl_loss_type: kl (k1), abs, mse (k2), low_var_kl (k3, log-ratio ±20, value ≤ 10),
//             k3+ (k3's value, k2's gradient), aggregated by loss_agg_mode for every loss_mode;
//   agg       token-mean (the mini-batch's tokens: verl's global token count), token-sum,
//             seq-mean-token-mean, seq-mean-token-sum, seq-mean-token-sum-norm (÷
//             loss_scale_factor, or the padded response length when unset);
//   GRPO      (R − mean) / (std + 1e-6), std with n − 1; a group of one has mean 0 and std 1.
//   REINFORCE++, GAE: returns carried across masked tokens inside a completion
//             (masked_token_steps::carried), whitened by sqrt(sample variance + 1e-8).
// Difference that remains: verl's GSPO lets a sequence's mean log-ratio below −10 through (rlft
// clamps it, where the ratio is below 5e-5).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/gdpo_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/grpo_passk_advantage.hpp"
#include "rlft/advantage/opo_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"
#include "rlft/core/error.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"
#include "rlft/presets/peer_preset.hpp"

namespace rlft::presets {

enum class verl_loss_mode { vanilla, gspo, sapo, geo_mean, cispo };
enum class verl_loss_agg_mode { token_mean, token_sum, seq_mean_token_mean, seq_mean_token_sum, seq_mean_token_sum_norm };
enum class verl_kl_loss_type { kl, abs, mse, low_var_kl, k3_plus };
enum class verl_adv_estimator { grpo, rloo, opo, grpo_passk, reinforce_plus_plus, gae, gdpo };

// actor_rollout_ref.actor's options that shape the loss, with verl's names and defaults.
struct verl_actor_config {
  double clip_ratio_low = 0.2;
  double clip_ratio_high = 0.2;
  double clip_ratio_c = 3.0;  // dual clip (vanilla)
  verl_loss_agg_mode loss_agg_mode = verl_loss_agg_mode::token_mean;
  std::optional<double> loss_scale_factor = {};  // seq-mean-token-sum-norm's divisor
  std::size_t response_length = 0;  // data.max_response_length: the divisor when loss_scale_factor is unset
  bool use_kl_loss = false;
  double kl_loss_coef = 0.001;
  verl_kl_loss_type kl_loss_type = verl_kl_loss_type::low_var_kl;
  double tau_pos = 1.0;  // sapo
  double tau_neg = 1.05;
};

// algorithm's options that shape the advantages.
struct verl_algorithm_config {
  double gamma = 1.0;  // reinforce_plus_plus, gae
  double lam = 1.0;    // gae
  bool norm_adv_by_std_in_grpo = true;
  std::vector<weighted_reward_component> gdpo_reward_components = {};  // gdpo_reward_keys and _weights
};

namespace detail {

inline loss_aggregation verl_aggregation(verl_loss_agg_mode mode) {
  switch (mode) {
    case verl_loss_agg_mode::token_sum: return loss_aggregation::token_sum;
    case verl_loss_agg_mode::seq_mean_token_mean: return loss_aggregation::sequence_mean_token_mean;
    case verl_loss_agg_mode::seq_mean_token_sum: return loss_aggregation::sequence_mean_token_sum;
    case verl_loss_agg_mode::seq_mean_token_sum_norm: return loss_aggregation::sequence_mean_token_sum_normalized;
    default: return loss_aggregation::token_mean;
  }
}

inline double verl_constant_divisor(const verl_actor_config& actor) {
  if (actor.loss_agg_mode != verl_loss_agg_mode::seq_mean_token_sum_norm) return 0.0;
  if (actor.loss_scale_factor) return *actor.loss_scale_factor;
  if (actor.response_length == 0)
    throw error("verl preset: seq-mean-token-sum-norm without loss_scale_factor divides by the padded response "
                "length; set response_length (data.max_response_length) or loss_scale_factor");
  return static_cast<double>(actor.response_length);
}

// verl clamps only low_var_kl (and k3+'s value); the others get rlft's widest log-ratio bound.
inline kl_penalty verl_kl(const verl_actor_config& actor) {
  const double coefficient = actor.use_kl_loss ? actor.kl_loss_coef : 0.0;
  constexpr double unclamped = rlft::detail::max_log_ratio_bound;
  switch (actor.kl_loss_type) {
    case verl_kl_loss_type::kl: return {coefficient, kl_estimator::k1, unclamped, 0.0};
    case verl_kl_loss_type::abs: return {coefficient, kl_estimator::abs, unclamped, 0.0};
    case verl_kl_loss_type::mse: return {coefficient, kl_estimator::k2, unclamped, 0.0};
    case verl_kl_loss_type::k3_plus: return {coefficient, kl_estimator::k3_plus, 20.0, 10.0};
    default: return {coefficient, kl_estimator::k3, 20.0, 10.0};
  }
}

}  // namespace detail

template <verl_adv_estimator Estimator>
auto verl_advantage(const verl_algorithm_config& algorithm = {}) {
  constexpr auto singletons = singleton_group_policy::zero_mean_unit_std;
  if constexpr (Estimator == verl_adv_estimator::grpo) {
    return grpo_advantage{.epsilon = 1e-6,
                          .scaling = algorithm.norm_adv_by_std_in_grpo ? reward_scaling::group_std : reward_scaling::none,
                          .unbiased_std = true,
                          .singletons = singletons};
  } else if constexpr (Estimator == verl_adv_estimator::rloo) {
    return rloo_advantage{};
  } else if constexpr (Estimator == verl_adv_estimator::opo) {
    return opo_advantage{.singletons = singletons};
  } else if constexpr (Estimator == verl_adv_estimator::grpo_passk) {
    return grpo_passk_advantage{.epsilon = 1e-6, .normalize = algorithm.norm_adv_by_std_in_grpo};
  } else if constexpr (Estimator == verl_adv_estimator::reinforce_plus_plus) {
    return reinforce_plus_plus_advantage{.gamma = algorithm.gamma,
                                         .whitening_epsilon = 1e-8,
                                         .whitening = whitening_scale::sqrt_sample_variance_plus_epsilon,
                                         .masked_tokens = masked_token_steps::carried};
  } else if constexpr (Estimator == verl_adv_estimator::gae) {
    return gae_advantage{.gamma = algorithm.gamma,
                         .lambda = algorithm.lam,
                         .whiten = true,
                         .whitening_epsilon = 1e-8,
                         .whitening = whitening_scale::sqrt_sample_variance_plus_epsilon,
                         .masked_tokens = masked_token_steps::carried};
  } else {
    if (!algorithm.norm_adv_by_std_in_grpo)
      throw error("verl_advantage<gdpo>: rlft's gdpo_advantage always divides each component by its group's std; "
                  "norm_adv_by_std_in_grpo = false is not reproduced");
    return gdpo_advantage{.components = algorithm.gdpo_reward_components,
                          .epsilon = 1e-6,
                          .whitening_epsilon = 1e-8,
                          .singletons = singletons};
  }
}

template <verl_loss_mode Loss>
auto verl_objective(const verl_actor_config& actor = {}) {
  const kl_penalty kl = detail::verl_kl(actor);
  const loss_aggregation aggregation = detail::verl_aggregation(actor.loss_agg_mode);
  const double divisor = detail::verl_constant_divisor(actor);
  const clip_range clip{.epsilon_low = actor.clip_ratio_low, .epsilon_high = actor.clip_ratio_high};
  if constexpr (Loss == verl_loss_mode::vanilla) {
    clip_range dual = clip;
    dual.dual_clip = actor.clip_ratio_c;
    return clipped_surrogate_objective{.clip = dual, .kl = kl, .aggregation = aggregation, .constant_divisor = divisor};
  } else if constexpr (Loss == verl_loss_mode::gspo) {
    return gspo_objective{.clip = clip, .kl = kl, .aggregation = aggregation, .constant_divisor = divisor,
                          .log_ratio_bound = 10.0};
  } else if constexpr (Loss == verl_loss_mode::sapo) {
    return sapo_objective{.temperature_positive = actor.tau_pos, .temperature_negative = actor.tau_neg, .kl = kl,
                          .aggregation = loss_aggregation::sequence_mean_token_mean, .constant_divisor = divisor,
                          .kl_aggregation = aggregation};
  } else if constexpr (Loss == verl_loss_mode::geo_mean) {
    return gmpo_objective{.epsilon_low = actor.clip_ratio_low, .epsilon_high = actor.clip_ratio_high, .kl = kl,
                          .aggregation = loss_aggregation::sequence_mean_token_mean, .constant_divisor = divisor,
                          .kl_aggregation = aggregation};
  } else {
    return cispo_objective{.epsilon_low = actor.clip_ratio_low, .epsilon_high = actor.clip_ratio_high, .kl = kl,
                           .aggregation = aggregation, .constant_divisor = divisor};
  }
}

template <verl_loss_mode Loss = verl_loss_mode::vanilla>
auto verl_grpo(const verl_actor_config& actor = {}, const verl_algorithm_config& algorithm = {}) {
  using objective = decltype(verl_objective<Loss>(actor));
  return peer_preset<grpo_advantage, objective>{verl_advantage<verl_adv_estimator::grpo>(algorithm),
                                               verl_objective<Loss>(actor)};
}

// The DAPO recipe (recipe/dapo in verl): clip-higher 0.2 / 0.28, dual clip at 10, token-mean,
// no KL, GRPO advantages with the groups of equal rewards dropped. Its dynamic sampling is the
// trainer's grpo_options::max_sampling_rounds (refilling dropped groups), its overlong penalty
// the reward rlft::soft_overlong_punishment.
inline peer_preset<grpo_advantage, clipped_surrogate_objective> verl_dapo() {
  auto preset = verl_grpo({.clip_ratio_low = 0.2, .clip_ratio_high = 0.28, .clip_ratio_c = 10.0});
  preset.estimator.equal_rewards = equal_reward_policy::drop;
  return preset;
}

}  // namespace rlft::presets
