// GRPO with process supervision (DeepSeekMath, arXiv 2402.03300, section 4.1.3): a process
// reward model scores every reasoning step of every completion; all step rewards of a group
// are normalised together, r̃ = (r − mean(R_group)) / (std(R_group) + ε), and token t of
// completion i gets the sum of the normalised rewards of the steps of i that end at or after
// t: Â_{i,t} = Σ_{index(j) >= t} r̃_i^{index(j)}. Steps are marked in batch.step_ends() (1 on
// a step's last token) with the step's reward in batch.token_rewards() at that token; the
// outcome reward is not used. Tokens after a completion's last step end get 0. A group whose
// step rewards are all equal (a single step included) gets exactly 0. The std estimator
// follows grpo_advantage (n − 1 by default).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {
namespace detail {

// Sequence s (tokens [begin, end), completion from `completion` on) must mark steps only on
// completion tokens, with finite rewards, and have a step end if it has completion tokens. The
// arrays hold batch tokens from `first` on (the whole batch on the CPU; one downloaded
// sequence in the CUDA estimator's error report).
inline void check_sequence_steps(std::span<const std::uint8_t> step_ends, std::span<const float> step_rewards,
                                 std::size_t first, std::size_t s, std::size_t begin, std::size_t completion,
                                 std::size_t end, const char* estimator) {
  for (std::size_t t = begin; t < completion; ++t)
    if (step_ends[t - first])
      throw error(make_message(estimator, ": token ", t, " (sequence ", s,
                               ") is marked as a step end but belongs to the prompt"));
  bool has_step = false;
  for (std::size_t t = completion; t < end; ++t) {
    if (!step_ends[t - first]) continue;
    has_step = true;
    if (!std::isfinite(step_rewards[t - first]))
      throw data_error(make_message(estimator, ": step reward of token ", t, " (sequence ", s, ") is ",
                               step_rewards[t - first]));
  }
  if (!has_step && completion < end)
    throw error(make_message(estimator, ": sequence ", s,
                             " has completion tokens but no step end (mark each step's last token in "
                             "batch.step_ends())"));
}

}  // namespace detail

struct process_supervision_advantage {
  double epsilon = 1e-4;  // must be >= 0
  bool unbiased_std = true;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "process supervision advantage";  // in error messages

  // Throws rlft::error when epsilon is out of range, advantages is not batch.num_tokens()
  // long, a step end lies on a prompt token or a non-empty completion has no step end;
  // rlft::data_error when a step reward is NaN or infinite.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    detail::check_epsilon(epsilon, name);
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    check_steps(batch, name);

    const auto step_ends = batch.step_ends();
    const auto step_rewards = batch.token_rewards();
    const auto mask = batch.loss_mask();
    std::vector<std::uint8_t> equal(batch.num_groups());
    parallel_for(batch.num_groups(), [&](std::size_t g) {
      const std::size_t first_token = batch.sequence_begin(batch.group_begin(g));
      const std::size_t last_token = batch.sequence_end(batch.group_end(g) - 1);
      detail::value_moments group;
      for (std::size_t t = first_token; t < last_token; ++t)
        if (step_ends[t]) group.add(step_rewards[t]);
      equal[g] = group.all_equal();
      const double scale = group.standard_deviation(unbiased_std) + epsilon;
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
        double later_steps = 0.0;  // Σ of normalised rewards of steps ending at or after t
        for (std::size_t t = batch.sequence_end(s); t-- > batch.sequence_begin(s);) {
          if (step_ends[t]) later_steps += detail::normalized_step_reward(step_rewards[t], group, scale);
          advantages[t] = mask[t] ? static_cast<float>(later_steps) : 0.0f;
        }
      }
    });
    return detail::summarize_groups(equal, equal_rewards);
  }

 private:
  static void check_steps(const rollout_batch& batch, const char* estimator) {
    for (std::size_t s = 0; s < batch.num_sequences(); ++s)
      detail::check_sequence_steps(batch.step_ends(), batch.token_rewards(), 0, s, batch.sequence_begin(s),
                                   batch.sequence_begin(s) + batch.prompt_length(s), batch.sequence_end(s), estimator);
  }
};

static_assert(advantage_estimator<process_supervision_advantage>);

}  // namespace rlft
