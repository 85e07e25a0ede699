// REINFORCE++ (Hu, "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language
// Models", arXiv 2501.03262): no critic and no group baseline; the KL penalty is folded into
// per-token rewards r_t = 1[t = T]·R − β·KL_t (KL_t an estimate of KL(π_old ‖ π_ref) at token t,
// from the batch's old and reference log-probs; k1 = log π_old − log π_ref by default, as in
// InstructGPT-style reward shaping), the advantage is the discounted return
// G_t = Σ_{s>=t} γ^(s−t) r_s, and advantages are whitened over all loss tokens of the batch
// ((G − mean) / (std + ε), population std; or verl's (G − mean) / sqrt(sample variance + ε), or
// OpenRLHF's (G − mean) / sqrt(max(variance, ε)): the `whitening` option) to keep their scale
// stable without a critic.
// REINFORCE++-baseline (group_mean_baseline = true) first subtracts the group's mean reward
// from R, for the multi-sample-per-prompt setting. Dense rewards in batch.token_rewards() are
// added to r_t (zero unless the caller fills them).
#pragma once

#include <span>

#include "rlft/advantage/detail/discounted_returns.hpp"
#include "rlft/advantage/detail/group_outcomes.hpp"
#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/reward_scaling.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace rlft {

struct reinforce_plus_plus_advantage {
  double gamma = 1.0;  // in [0, 1]
  kl_penalty kl = {.coefficient = 0.0, .estimator = kl_estimator::k1};
  bool group_mean_baseline = false;  // REINFORCE++-baseline
  bool whiten = true;
  double whitening_epsilon = 1e-8;
  // What the whitening divides by (rlft/presets/verl.hpp and openrlhf.hpp choose the peers').
  whitening_scale whitening = whitening_scale::population_std_plus_epsilon;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  // Tokens inside a completion outside the loss: time steps, or carried over (verl).
  masked_token_steps masked_tokens = masked_token_steps::discounted;

  static constexpr const char* name = "reinforce++ advantage";  // in error messages

  // With the group-mean baseline, groups of one completion leave every outcome term 0.
  std::size_t minimum_group_size() const noexcept { return group_mean_baseline ? 2 : 1; }

  // The discounting these options describe (λ = 1: Monte-Carlo returns, no critic).
  detail::discounting discounting() const {
    return {.gamma = gamma, .lambda = 1.0, .kl = kl, .use_values = false, .whiten = whiten,
            .whitening_epsilon = whitening_epsilon, .whitening = whitening, .masked_tokens = masked_tokens};
  }

  // Throws rlft::error when an option is out of range or advantages is not batch.num_tokens()
  // long; rlft::data_error when a reward, token reward or (with β > 0) old or reference
  // log-prob of a loss token is NaN or infinite, or whitening meets a single loss token.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    const detail::discounting discount = discounting();
    detail::check_discounting(discount, name);
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    detail::check_finite_rewards(batch, name);
    const auto groups = detail::outcomes_of(batch, group_mean_baseline, equal_rewards);
    detail::discounted_advantages(batch, groups.outcome, groups.skip, discount, advantages, {}, name);
    return detail::summarize_groups(groups.equal_rewards, equal_rewards);
  }
};

static_assert(advantage_estimator<reinforce_plus_plus_advantage>);

}  // namespace rlft
