// GRPO's advantage with outcome supervision (DeepSeekMath, arXiv 2402.03300, section 4.1.2):
// every token of completion i gets Â_i = (R_i − mean(R_group)) / (std(R_group) + ε), the
// reward's z-score within the group of completions of the same prompt. The scaling is an
// option: the group's standard deviation (the paper), the standard deviation of all rewards of
// the batch (robust when a group's rewards barely differ; TRL's scale_rewards="batch"), or
// none (Dr. GRPO, rlft/advantage/dr_grpo_advantage.hpp). The paper leaves the estimator of std
// open; the default divides by n − 1 as torch.std does in TRL, verl and OpenRLHF. A group of
// one completion (unless `singletons` says otherwise), or of equal rewards, gets exactly 0. The formula is
// detail::outcome_advantage, which the CUDA kernel shares.
#pragma once

#include <cstddef>
#include <span>

#include "rlft/advantage/detail/outcome_estimator.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/concepts/advantage_estimator.hpp"

namespace rlft {

struct grpo_advantage {
  double epsilon = 1e-4;  // as TRL; must be >= 0
  reward_scaling scaling = reward_scaling::group_std;
  bool unbiased_std = true;  // std divides by n − 1 (torch.std); false: by n
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  singleton_group_policy singletons = singleton_group_policy::no_signal;

  static constexpr const char* name = "grpo advantage";  // in error messages

  // Groups of one completion get advantage 0 unless stand-in moments give them a signal;
  // without, trainers reject them.
  std::size_t minimum_group_size() const noexcept {
    return singletons == singleton_group_policy::zero_mean_unit_std ? 1 : 2;
  }

  // Throws rlft::error when epsilon is negative or not finite or advantages is not
  // batch.num_tokens() long; rlft::data_error when a reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return detail::outcome_advantages(
        batch, advantages,
        {.epsilon = epsilon,
         .scaling = scaling,
         .unbiased_std = unbiased_std,
         .equal_rewards = equal_rewards,
         .singletons = singletons},
        name);
  }
};

static_assert(advantage_estimator<grpo_advantage>);

}  // namespace rlft
