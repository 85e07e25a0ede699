// ReMax (Li et al., "ReMax: A Simple, Effective, and Efficient Reinforcement Learning Method
// for Aligning Large Language Models", arXiv 2310.10505, Algorithm 1): the baseline of a
// sampled completion is the reward of the greedy completion of the same prompt,
// A_i = R_i − R_greedy, on every token of i. The caller generates the greedy completion,
// scores it and stores its reward in batch.greedy_rewards() (one per group). A group carries
// no signal when every sampled reward equals the greedy one; that is what counts as a group of
// equal rewards here.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {

struct remax_advantage {
  equal_reward_policy equal_rewards = equal_reward_policy::keep;

  static constexpr const char* name = "remax advantage";  // in error messages

  // Throws rlft::error when advantages is not batch.num_tokens() long; rlft::data_error when a
  // reward or a greedy reward is NaN or infinite (NaN: batch.greedy_rewards() was never filled).
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    constexpr const char* estimator = name;
    detail::check_token_span(batch, advantages.size(), estimator, "advantages");
    detail::check_finite_rewards(batch, estimator);
    const auto greedy = batch.greedy_rewards();
    for (std::size_t g = 0; g < greedy.size(); ++g)
      if (!std::isfinite(greedy[g]))
        throw data_error(detail::make_message(estimator, ": greedy reward of group ", g, " is ", greedy[g],
                                         std::isnan(greedy[g]) ? " (fill batch.greedy_rewards())" : ""));
    const auto rewards = batch.rewards().total();

    std::vector<double> sequence_advantages(batch.num_sequences());
    std::vector<std::uint8_t> equal(batch.num_groups());
    parallel_for(batch.num_groups(), [&](std::size_t g) {
      bool all_equal = true;
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
        all_equal = all_equal && rewards[s] == greedy[g];
      equal[g] = all_equal;
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
        sequence_advantages[s] = double{rewards[s]} - greedy[g];
    });
    detail::broadcast_sequence_advantages(batch, sequence_advantages, advantages);
    return detail::summarize_groups(equal, equal_rewards);
  }
};

static_assert(advantage_estimator<remax_advantage>);

}  // namespace rlft
