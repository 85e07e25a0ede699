// The advantage of one completion from its outcome reward and the statistics of its group, for
// the estimators of GRPO's family (rlft/advantage/grpo_advantage.hpp, dr_grpo_advantage.hpp,
// rloo_advantage.hpp, opo_advantage.hpp, grpo_passk_advantage.hpp) and their CUDA kernels
// (kernels/rlft/advantage.cuh) alike:
//   normalized      Â_i = (R_i − mean(R_group)) / scale       (DeepSeekMath, arXiv 2402.03300,
//                   section 4.1.2; scale 1 is Dr. GRPO, arXiv 2503.20783);
//   leave_one_out   Â_i = R_i − (Σ_j R_j − R_i) / (G − 1)     (RLOO, arXiv 2402.14740).
// A group whose rewards are all equal gets exactly 0 (with ε = 0 its scale is 0 too, and a
// group of one completion has no other to compare with, unless singleton_group_policy lets
// stand-in moments give it R / scale).
#pragma once

#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft::detail {

enum class outcome_rule { normalized, leave_one_out };

// Whether mean 0 and standard deviation 1 stand in for the group's moments (a group of one
// under singleton_group_policy::zero_mean_unit_std).
RLFT_HOST_DEVICE inline bool singleton_stand_in(singleton_group_policy policy, const value_moments& group) noexcept {
  return policy == singleton_group_policy::zero_mean_unit_std && group.count == 1.0;
}

// The divisor of a normalised advantage: the group's or the batch's standard deviation + ε, or 1.
RLFT_HOST_DEVICE inline double reward_scale(reward_scaling scaling, const value_moments& group, double batch_std,
                                            double epsilon, bool unbiased_std,
                                            singleton_group_policy singletons = singleton_group_policy::no_signal) noexcept {
  switch (scaling) {
    case reward_scaling::group_std:
      return (singleton_stand_in(singletons, group) ? 1.0 : group.standard_deviation(unbiased_std)) + epsilon;
    case reward_scaling::batch_std: return batch_std + epsilon;
    default: return 1.0;
  }
}

RLFT_HOST_DEVICE inline double outcome_advantage(outcome_rule rule, float reward, const value_moments& group,
                                                 double scale,
                                                 singleton_group_policy singletons = singleton_group_policy::no_signal) noexcept {
  if (singleton_stand_in(singletons, group)) return rule == outcome_rule::normalized ? reward / scale : reward;
  if (group.all_equal()) return 0.0;
  return rule == outcome_rule::normalized ? (reward - group.mean) / scale
                                          : reward - (group.sum - reward) / (group.count - 1.0);
}

// OPO (rlft/advantage/opo_advantage.hpp): R minus the group's rewards weighted by their
// completions' loss tokens (Σ_j l_j·R_j and Σ_j l_j); 0 for equal rewards or no loss tokens.
RLFT_HOST_DEVICE inline double length_weighted_advantage(float reward, const value_moments& group,
                                                         double weighted_rewards, double loss_tokens,
                                                         singleton_group_policy singletons) noexcept {
  if (singleton_stand_in(singletons, group)) return reward;
  return !group.all_equal() && loss_tokens > 0.0 ? reward - weighted_rewards / loss_tokens : 0.0;
}

// GRPO pass@k (rlft/advantage/grpo_passk_advantage.hpp): the best completion's margin over the
// runner-up, divided by the group's std + ε when normalising; 0 for every other completion, and
// in groups of one or of equal rewards.
RLFT_HOST_DEVICE inline double best_margin_advantage(bool is_best, float best, double runner_up,
                                                     const value_moments& group, bool normalize, bool unbiased_std,
                                                     double epsilon) noexcept {
  if (!is_best || group.count < 2.0 || group.all_equal()) return 0.0;
  const double margin = best - runner_up;
  return normalize ? margin / (group.standard_deviation(unbiased_std) + epsilon) : margin;
}

// The outcome reward REINFORCE++ and GAE place on a completion's last token: R_i, or
// R_i − mean(R_group) for REINFORCE++-baseline. The mean is the sum over the count (the equal
// value itself for a group of equal rewards, so the baseline leaves exactly 0).
RLFT_HOST_DEVICE inline double outcome_reward(float reward, const value_moments& group,
                                              bool subtract_group_mean) noexcept {
  if (!subtract_group_mean) return reward;
  const double mean = group.all_equal() ? double{group.lowest} : group.sum / group.count;
  return reward - mean;
}

// Process supervision (DeepSeekMath, section 4.1.3): a step reward normalised with all step
// rewards of its group; 0 in a group of equal step rewards.
RLFT_HOST_DEVICE inline double normalized_step_reward(float reward, const value_moments& group,
                                                      double scale) noexcept {
  return group.all_equal() ? 0.0 : (reward - group.mean) / scale;
}

}  // namespace rlft::detail
