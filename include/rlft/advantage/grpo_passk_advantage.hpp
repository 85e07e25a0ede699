// GRPO for pass@k (verl's `grpo_passk` estimator, which cites arXiv 2503.19595): only the best
// completion of each group is reinforced, by how much it beats the runner-up,
//   A_best = (R_max − R_second) / (std(R_group) + ε),   every other completion 0,
// on every loss token (without `normalize`, the difference itself). The training signal rewards a
// group for having one excellent answer, not for raising its average: what pass@k measures. The
// best is the first completion with the highest reward; with a tie for first the difference is 0.
// std divides by n − 1 by default, as torch.std. Groups need two completions at least.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft {

struct grpo_passk_advantage {
  double epsilon = 1e-6;     // as verl; must be >= 0
  bool normalize = true;     // divide by the group's std + ε (verl's norm_adv_by_std_in_grpo)
  bool unbiased_std = true;  // std divides by n − 1 (torch.std); false: by n
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "grpo pass@k advantage";  // in error messages

  std::size_t minimum_group_size() const noexcept { return 2; }

  // Throws rlft::error when epsilon is negative or not finite or advantages is not
  // batch.num_tokens() long; rlft::data_error when a reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    detail::check_epsilon(epsilon, name);
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    detail::check_finite_rewards(batch, name);
    const auto rewards = batch.rewards().total();
    std::vector<double> sequence_advantages(batch.num_sequences(), 0.0);
    std::vector<std::uint8_t> equal(batch.num_groups());
    parallel_for(batch.num_groups(), [&](std::size_t g) {
      detail::value_moments group;
      std::size_t best = batch.group_begin(g);
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
        group.add(rewards[s]);
        if (rewards[s] > rewards[best]) best = s;
      }
      equal[g] = group.all_equal();
      double second = -std::numeric_limits<double>::infinity();
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
        if (s != best && rewards[s] > second) second = rewards[s];
      sequence_advantages[best] = detail::best_margin_advantage(true, rewards[best], second, group, normalize,
                                                                unbiased_std, epsilon);
    });
    detail::broadcast_sequence_advantages(batch, sequence_advantages, advantages);
    return detail::summarize_groups(equal, equal_rewards);
  }
};

static_assert(advantage_estimator<grpo_passk_advantage>);

}  // namespace rlft
