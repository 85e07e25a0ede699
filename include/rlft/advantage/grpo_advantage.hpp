// GRPO's advantage with outcome supervision (DeepSeekMath, arXiv 2402.03300, section 4.1.2):
// every token of completion i gets Â_i = (R_i − mean(R_group)) / (std(R_group) + ε), the
// reward's z-score within the group of completions of the same prompt. The scaling is an
// option: the group's standard deviation (the paper), the standard deviation of all rewards of
// the batch (robust when a group's rewards barely differ; TRL's scale_rewards="batch"), or
// none (Dr. GRPO, rlft/advantage/dr_grpo_advantage.hpp). The paper leaves the estimator of std
// open; the default divides by n − 1 as torch.std does in TRL, verl and OpenRLHF. A group of
// one completion, or of equal rewards, gets exactly 0. The formula is
// detail::outcome_advantage, which the CUDA kernel shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {
namespace detail {

struct outcome_options {
  outcome_rule rule = outcome_rule::normalized;
  double epsilon = 1e-4;
  reward_scaling scaling = reward_scaling::group_std;
  bool unbiased_std = true;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
};

// GRPO's family on the CPU: one advantage per completion from its group's reward moments
// (detail::outcome_advantage), spread over its loss tokens.
inline advantage_summary outcome_advantages(const rollout_batch& batch, std::span<float> advantages,
                                            const outcome_options& options, std::string_view estimator) {
  check_epsilon(options.epsilon, estimator);
  check_token_span(batch, advantages.size(), estimator, "advantages");
  check_finite_rewards(batch, estimator);
  const auto rewards = batch.rewards().total();

  double batch_std = 0.0;
  if (options.scaling == reward_scaling::batch_std) {
    value_moments all;
    for (const float reward : rewards) all.add(reward);
    batch_std = all.standard_deviation(options.unbiased_std);
  }

  std::vector<double> sequence_advantages(batch.num_sequences());
  std::vector<std::uint8_t> equal_rewards(batch.num_groups());
  parallel_for(batch.num_groups(), [&](std::size_t g) {
    value_moments group;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) group.add(rewards[s]);
    equal_rewards[g] = group.all_equal();
    const double scale = reward_scale(options.scaling, group, batch_std, options.epsilon, options.unbiased_std);
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
      sequence_advantages[s] = outcome_advantage(options.rule, rewards[s], group, scale);
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

  // Groups of one completion leave every advantage 0: trainers reject them.
  std::size_t minimum_group_size() const noexcept { return 2; }

  // Throws rlft::error when epsilon is negative or not finite or advantages is not
  // batch.num_tokens() long; rlft::data_error when a reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return detail::outcome_advantages(
        batch, advantages,
        {.epsilon = epsilon, .scaling = scaling, .unbiased_std = unbiased_std, .equal_rewards = equal_rewards}, name);
  }
};

static_assert(advantage_estimator<grpo_advantage>);

}  // namespace rlft
