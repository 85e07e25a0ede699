// GDPO, group reward-decoupled normalisation (Liu et al., arXiv 2601.05242), as verl's `gdpo`
// estimator computes it: with several rewards (accuracy, format, length, ...), GRPO's z-score of
// their sum lets the reward with the largest spread drown the others. GDPO normalises each
// component k within its group first, sums with the component weights, then whitens over the
// batch's loss tokens:
//   A_{i,k} = (R_{i,k} − mean_g(R_k)) / (std_g(R_k) + ε),   S_i = Σ_k w_k·A_{i,k},
//   A_i = (S_i − μ) / sqrt(σ² + ε_w),   μ, σ² the mean and (n − 1) variance of S over loss tokens,
// on every loss token of i. The components are columns of the batch's reward table (raw scores,
// before a composition's weights); with none named, every column with weight 1. A component
// equal across a group contributes 0 there; a group where every component is equal counts as a
// group of equal rewards, and keeps its whitened value unless equal_rewards says otherwise.
// Groups need two completions at least, the whitening two loss tokens.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/advantage/detail/sequence_advantages.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft {

struct weighted_reward_component {
  std::string name;
  double weight = 1.0;
};

namespace detail {

// The whitening divides by the spread of the loss tokens' values: it needs two of them.
inline void check_gdpo_whitened_tokens(double loss_tokens) {
  if (loss_tokens < 2.0)
    throw data_error(make_message("gdpo advantage: the whitening needs at least two loss tokens, and the batch has ",
                                  loss_tokens));
}

// The error for a used reward component's non-finite score.
[[noreturn]] inline void throw_non_finite_component(std::string_view component, std::size_t sequence, float score) {
  throw data_error(make_message("gdpo advantage: reward component '", component, "' of sequence ", sequence, " is ",
                                score));
}

}  // namespace detail

struct gdpo_advantage {
  std::vector<weighted_reward_component> components = {};  // empty: every component, weight 1
  double epsilon = 1e-6;             // of the group std, as verl; must be >= 0
  bool unbiased_std = true;          // the group std divides by n − 1 (torch.std); false: by n
  double whitening_epsilon = 1e-8;   // ε_w, as verl's masked_whiten; must be >= 0
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  singleton_group_policy singletons = singleton_group_policy::no_signal;

  static constexpr const char* name = "gdpo advantage";  // in error messages

  std::size_t minimum_group_size() const noexcept {
    return singletons == singleton_group_policy::zero_mean_unit_std ? 1 : 2;
  }

  // Throws rlft::error on an out-of-range option, a component the reward table lacks, a batch
  // without components or advantages not batch.num_tokens() long; rlft::data_error when a used
  // component's score is NaN or infinite, or the batch has fewer than two loss tokens.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    detail::check_epsilon(epsilon, name);
    detail::check_option(std::isfinite(whitening_epsilon) && whitening_epsilon >= 0.0, name, "whitening_epsilon",
                         whitening_epsilon, "finite and >= 0");
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    const std::vector<used_component> used = used_components(batch);

    std::vector<double> sums(batch.num_sequences(), 0.0);
    std::vector<std::uint8_t> equal(batch.num_groups(), 1);
    for (const auto& component : used) {
      const auto scores = component.scores;
      const double weight = component.weight;
      parallel_for(batch.num_groups(), [&](std::size_t g) {
        detail::value_moments group;
        for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) group.add(scores[s]);
        equal[g] = equal[g] && group.all_equal();
        const double scale = detail::reward_scale(reward_scaling::group_std, group, 0.0, epsilon, unbiased_std, singletons);
        for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
          sums[s] += weight * detail::outcome_advantage(detail::outcome_rule::normalized, scores[s], group, scale,
                                                        singletons);
      });
    }

    // Whitening over loss tokens: each sequence's value counts once per loss token.
    const std::vector<std::size_t> lengths = detail::sequence_loss_tokens(batch, 0, batch.num_sequences());
    double tokens = 0.0, total = 0.0;
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      tokens += static_cast<double>(lengths[s]);
      total += static_cast<double>(lengths[s]) * sums[s];
    }
    detail::check_gdpo_whitened_tokens(tokens);
    const double mean = total / tokens;
    double squared_deviations = 0.0;
    for (std::size_t s = 0; s < batch.num_sequences(); ++s)
      squared_deviations += static_cast<double>(lengths[s]) * (sums[s] - mean) * (sums[s] - mean);
    // All-equal sums with ε_w = 0: every numerator is 0, and so is every advantage.
    const double spread = std::sqrt(squared_deviations / (tokens - 1.0) + whitening_epsilon);
    const double scale = spread > 0.0 ? 1.0 / spread : 0.0;
    for (std::size_t g = 0; g < batch.num_groups(); ++g)
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
        sums[s] = equal[g] && detail::zeroes_equal_groups(equal_rewards) ? 0.0 : (sums[s] - mean) * scale;
    detail::broadcast_sequence_advantages(batch, sums, advantages);
    return detail::summarize_groups(equal, equal_rewards);
  }

  // The components combined, as (index in the reward table, weight): the listed ones, or every
  // component with weight 1. Throws rlft::error for a non-finite weight, a name the table lacks,
  // or no component at all. The CUDA estimator calls it with the device batch's names.
  std::vector<std::pair<std::size_t, double>> chosen_components(std::span<const std::string> names) const {
    std::vector<std::pair<std::size_t, double>> chosen;
    if (components.empty())
      for (std::size_t c = 0; c < names.size(); ++c) chosen.emplace_back(c, 1.0);
    for (const auto& component : components) {
      detail::check_option(std::isfinite(component.weight), name, "components[].weight", component.weight, "finite");
      const auto found = std::find(names.begin(), names.end(), component.name);
      if (found == names.end())
        throw error(detail::make_message(name, ": the batch has no reward component named '", component.name, "'"));
      chosen.emplace_back(static_cast<std::size_t>(found - names.begin()), component.weight);
    }
    if (chosen.empty()) throw error(detail::make_message(name, ": the batch has no reward components to normalise"));
    return chosen;
  }

 private:
  struct used_component {
    std::span<const float> scores;
    double weight;
    std::string_view name;
  };

  std::vector<used_component> used_components(const rollout_batch& batch) const {
    const auto& table = batch.rewards();
    std::vector<used_component> used;
    for (const auto& [index, weight] : chosen_components(table.component_names()))
      used.push_back({table.component(index), weight, table.component_name(index)});
    for (const auto& component : used)
      for (std::size_t s = 0; s < component.scores.size(); ++s)
        if (!std::isfinite(component.scores[s])) detail::throw_non_finite_component(component.name, s, component.scores[s]);
    return used;
  }
};

static_assert(advantage_estimator<gdpo_advantage>);

}  // namespace rlft
