// Training metrics as JSON objects, one per step, for JSON Lines logs (rlft/io/jsonl.hpp) and
// plotting. Field names are stable: scripts read them. Timing fields all start with
// "seconds" or end in "per_second", so a comparison of two runs can leave them out.
#pragma once

#include <nlohmann/json.hpp>

#include "rlft/train/evaluation.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "rlft/train/reward_model_trainer.hpp"
#include "rlft/train/sft_trainer.hpp"

namespace rlft {

inline nlohmann::json to_json(const objective_metrics& m) {
  return {{"policy_loss", m.policy_loss},
          {"kl", m.kl_mean},
          {"entropy", m.entropy_mean},
          {"clip_fraction_low", m.clip_fraction_low},
          {"clip_fraction_high", m.clip_fraction_high},
          {"dual_clip_fraction", m.dual_clip_fraction},
          {"ratio_mean", m.ratio_mean},
          {"ratio_max", m.ratio_max},
          {"loss_tokens", m.tokens}};
}

// "rollout_correction" only where a correction ran (grpo_options::rollout_correction), "critic"
// only where a critic trained (grpo_trainer::set_critic).
inline nlohmann::json to_json(const grpo_step_metrics& m) {
  nlohmann::json rewards = nlohmann::json::object();
  for (const auto& r : m.rewards) rewards[r.name] = {{"mean", r.mean}, {"std", r.std}};
  nlohmann::json record = {{"step", m.step},
                           {"applied", m.applied},
                           {"skipped_because", m.skipped_because},
                           {"rewards", rewards},
                           {"completion_length", m.completion_length},
                           {"truncated_share", m.truncated_share},
                           {"equal_reward_group_share", m.equal_reward_group_share},
                           {"groups", m.groups},
                           {"sampling_rounds", m.sampling_rounds},
                           {"loss", m.loss},
                           {"objective", to_json(m.objective)},
                           {"gradient_norm", m.gradient_norm},
                           {"learning_rate", m.learning_rate},
                           {"updates", m.updates},
                           {"seconds_generate", m.seconds_generate},
                           {"seconds_score", m.seconds_score},
                           {"seconds_reference", m.seconds_reference},
                           {"seconds_train", m.seconds_train},
                           {"seconds_communicate", m.seconds_communicate},
                           {"seconds_total", m.seconds_total},
                           {"generated_tokens_per_second", m.generated_tokens_per_second}};
  if (m.critic.updates > 0)
    record["critic"] = {{"updates", m.critic.updates},
                        {"loss", m.critic.loss},
                        {"clip_fraction", m.critic.clip_fraction},
                        {"value_error", m.critic.value_error},
                        {"explained_variance", m.critic.explained_variance},
                        {"gradient_norm", m.critic.gradient_norm},
                        {"learning_rate", m.critic.learning_rate}};
  const auto& c = m.rollout_correction;
  if (c.tokens > 0)
    record["rollout_correction"] = {{"tokens", c.tokens},
                                    {"ratio_mean", c.ratio_mean},
                                    {"truncated_share", c.truncated_share},
                                    {"masked_share", c.masked_share},
                                    {"mismatch_kl", c.mismatch_kl}};
  return record;
}

namespace detail {

// What an optimiser update reports, added to a step's record.
inline nlohmann::json with_update(nlohmann::json record, const policy_update_report& update) {
  record["applied"] = update.applied;
  record["skipped_because"] = update.skipped_because;
  record["gradient_norm"] = update.gradient_norm;
  record["learning_rate"] = update.learning_rate;
  return record;
}

}  // namespace detail

inline nlohmann::json to_json(const sft_step_metrics& m) {
  return detail::with_update({{"step", m.step},
                              {"epoch", m.epoch},
                              {"loss", m.loss},
                              {"examples", m.examples},
                              {"loss_tokens", m.loss_tokens},
                              {"seconds", m.seconds}},
                             m.update);
}

inline nlohmann::json to_json(const reward_model_metrics& m) {
  return detail::with_update({{"step", m.step},
                              {"epoch", m.epoch},
                              {"loss", m.loss},
                              {"accuracy", m.accuracy},
                              {"mean_chosen", m.mean_chosen},
                              {"mean_rejected", m.mean_rejected},
                              {"pairs", m.pairs},
                              {"seconds", m.seconds}},
                             m.update);
}

inline nlohmann::json to_json(const evaluation_summary& s) {
  return {{"problems", s.problems},
          {"samples_per_problem", s.samples_per_problem},
          {"pass_at_1", s.pass_at_1},
          {"pass_at_1_standard_error", s.pass_at_1_standard_error},
          {"consensus_at_k", s.consensus_at_k},
          {"format_rate", s.format_rate},
          {"mean_length", s.mean_length}};
}

}  // namespace rlft
