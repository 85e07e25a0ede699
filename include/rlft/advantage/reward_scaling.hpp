// What GRPO's family divides a completion's centred reward by (rlft::grpo_advantage's scaling
// option): the group's standard deviation (DeepSeekMath), the batch's, or nothing (Dr. GRPO).
#pragma once

namespace rlft {

enum class reward_scaling {
  group_std,  // divide by the group's standard deviation + ε (DeepSeekMath)
  batch_std,  // divide by the standard deviation of all rewards of the batch + ε
  none,       // mean-centre only (Dr. GRPO)
};

}  // namespace rlft
