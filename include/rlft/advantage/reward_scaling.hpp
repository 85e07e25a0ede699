// What GRPO's family divides a completion's centred reward by (rlft::grpo_advantage's scaling
// option): the group's standard deviation (DeepSeekMath), the batch's, or nothing (Dr. GRPO);
// and what the whitening of REINFORCE++ and GAE divides the centred advantages by.
#pragma once

namespace rlft {

enum class reward_scaling {
  group_std,  // divide by the group's standard deviation + ε (DeepSeekMath)
  batch_std,  // divide by the standard deviation of all rewards of the batch + ε
  none,       // mean-centre only (Dr. GRPO)
};

enum class whitening_scale {
  population_std_plus_epsilon,  // std (divided by n) + ε: rlft's default, OpenRLHF's
  sqrt_sample_variance_plus_epsilon,  // sqrt(variance (divided by n − 1) + ε): verl's masked_whiten
};

}  // namespace rlft
