// What GRPO's family divides a completion's centred reward by (rlft::grpo_advantage's scaling
// option): the group's standard deviation (DeepSeekMath), the batch's, or nothing (Dr. GRPO);
// what stands in for the moments of a group of one; and what the whitening of REINFORCE++ and
// GAE divides the centred advantages by.
#pragma once

namespace rlft {

enum class reward_scaling {
  group_std,  // divide by the group's standard deviation + ε (DeepSeekMath)
  batch_std,  // divide by the standard deviation of all rewards of the batch + ε
  none,       // mean-centre only (Dr. GRPO)
};

// A group of one completion has no sibling to compare with. rlft gives it no signal (advantage
// 0; trainers refuse such groups); verl lets mean 0 and standard deviation 1 stand in for its
// moments, so its advantage is its reward R, or R / (1 + ε) where the group std divides.
enum class singleton_group_policy {
  no_signal,
  zero_mean_unit_std,
};

enum class whitening_scale {
  population_std_plus_epsilon,        // std (divided by n) + ε: rlft's default
  sqrt_sample_variance_plus_epsilon,  // sqrt(variance (divided by n − 1) + ε): verl's masked_whiten
  sqrt_population_variance_at_least_epsilon,  // sqrt(max(variance (divided by n), ε)): OpenRLHF's
};

}  // namespace rlft
