// GRPO's advantage with outcome supervision (DeepSeekMath, arXiv 2402.03300, section 4.1.2):
// every token of completion i gets Â_i = (R_i − mean(R_group)) / (std(R_group) + ε), the
// reward's z-score within the group of completions of the same prompt. The scaling is an
// option: the group's standard deviation (the paper), the standard deviation of all rewards of
// the batch (robust when a group's rewards barely differ; TRL's scale_rewards="batch"), or none (Dr. GRPO, rlft/advantage/dr_grpo_advantage.hpp). The paper
// leaves the estimator of std open; the default divides by n − 1 as torch.std does in TRL,
// verl and OpenRLHF. A group of one completion, or of equal rewards, gets exactly 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {

enum class reward_scaling {
  group_std,  // divide by the group's standard deviation + ε (DeepSeekMath)
  batch_std,  // divide by the standard deviation of all rewards of the batch + ε
  none,       // mean-centre only (Dr. GRPO)
};

namespace detail {

struct group_normalization {
  double epsilon = 1e-4;
  reward_scaling scaling = reward_scaling::group_std;
  bool unbiased_std = true;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
};

inline advantage_summary group_normalized_advantage(const rollout_batch& batch, std::span<float> advantages,
                                                    const group_normalization& options,
                                                    std::string_view estimator) {
  check_epsilon(options.epsilon, estimator);
  check_token_span(batch, advantages.size(), estimator, "advantages");
  check_finite_rewards(batch, estimator);
  const auto rewards = batch.rewards().total();

  double batch_std = 0.0;
  if (options.scaling == reward_scaling::batch_std) {
    moments all;
    for (const float reward : rewards) all.add(reward);
    batch_std = all.standard_deviation(options.unbiased_std);
  }

  std::vector<double> sequence_advantages(batch.num_sequences());
  std::vector<std::uint8_t> equal_rewards(batch.num_groups());
  parallel_for(batch.num_groups(), [&](std::size_t g) {
    moments group;
    float lowest = std::numeric_limits<float>::infinity(), highest = -lowest;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
      group.add(rewards[s]);
      lowest = std::min(lowest, rewards[s]);
      highest = std::max(highest, rewards[s]);
    }
    equal_rewards[g] = lowest == highest;
    const double scale = options.scaling == reward_scaling::group_std
                             ? group.standard_deviation(options.unbiased_std) + options.epsilon
                         : options.scaling == reward_scaling::batch_std ? batch_std + options.epsilon
                                                                        : 1.0;
    // Equal rewards: the numerator is exactly 0, and with ε = 0 so is the scale.
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
      sequence_advantages[s] = equal_rewards[g] ? 0.0 : (rewards[s] - group.mean) / scale;
  });
  broadcast_sequence_advantages(batch, sequence_advantages, advantages);
  return summarize_groups(equal_rewards, options.equal_rewards);
}

}  // namespace detail

struct grpo_advantage {
  double epsilon = 1e-4;  // as TRL; must be >= 0
  reward_scaling scaling = reward_scaling::group_std;
  bool unbiased_std = true;  // std divides by n − 1 (torch.std); false: by n
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "grpo advantage";  // in error messages

  // Throws rlft::error when epsilon is negative or not finite, advantages is not
  // batch.num_tokens() long, or a reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return detail::group_normalized_advantage(
        batch, advantages,
        {.epsilon = epsilon, .scaling = scaling, .unbiased_std = unbiased_std, .equal_rewards = equal_rewards}, name);
  }
};

static_assert(advantage_estimator<grpo_advantage>);

}  // namespace rlft
