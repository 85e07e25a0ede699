// Generalized Advantage Estimation (Schulman, Moritz, Levine, Jordan and Abbeel,
// arXiv 1506.02438, eq. 16), the PPO-with-critic estimator: with per-token rewards
// r_t = 1[t = T]·R − β·KL_t (+ dense rewards from batch.token_rewards()) and the critic's
// values V_t from batch.values() (V_{T+1} = 0 after the last completion token),
//   δ_t = r_t + γ·V_{t+1} − V_t,   A_t = Σ_l (γλ)^l δ_{t+l},
// and the critic's regression targets (returns) are A_t + V_t, taken before the optional
// whitening of the advantages. KL_t is an estimate of KL(π_old ‖ π_ref) from the batch's old
// and reference log-probs (k1 by default, the InstructGPT-style penalty).
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

struct gae_advantage {
  double gamma = 1.0;    // discount, in [0, 1]
  double lambda = 0.95;  // bias/variance trade-off, in [0, 1]: 0 is one-step TD, 1 Monte Carlo
  kl_penalty kl = {.coefficient = 0.0, .estimator = kl_estimator::k1};
  bool whiten = false;
  double whitening_epsilon = 1e-8;
  // What the whitening divides by (verl: sqrt_sample_variance_plus_epsilon).
  whitening_scale whitening = whitening_scale::population_std_plus_epsilon;
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  // Tokens inside a completion outside the loss: time steps, or carried over (verl).
  masked_token_steps masked_tokens = masked_token_steps::discounted;

  static constexpr const char* name = "gae advantage";  // in error messages

  // The discounting these options describe (the critic's values in the TD errors).
  detail::discounting discounting() const {
    return {.gamma = gamma, .lambda = lambda, .kl = kl, .use_values = true, .whiten = whiten,
            .whitening_epsilon = whitening_epsilon, .whitening = whitening, .masked_tokens = masked_tokens};
  }

  // Advantages only. Throws like the overload below.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages) const {
    return estimate(batch, advantages, {});
  }

  // Advantages and the critic's targets (A_t + V_t on loss tokens, 0 elsewhere). Throws
  // rlft::error when an option is out of range or advantages or returns is not
  // batch.num_tokens() long; rlft::data_error when a reward, token reward, value of a
  // completion token or (with β > 0) old or reference log-prob of a loss token is NaN or
  // infinite (values start as NaN: fill batch.values()), or whitening meets a single loss
  // token.
  advantage_summary operator()(const rollout_batch& batch, std::span<float> advantages,
                               std::span<float> returns) const {
    detail::check_token_span(batch, returns.size(), name, "returns");
    return estimate(batch, advantages, returns);
  }

 private:
  advantage_summary estimate(const rollout_batch& batch, std::span<float> advantages,
                             std::span<float> returns) const {
    const detail::discounting discount = discounting();
    detail::check_discounting(discount, name);
    detail::check_token_span(batch, advantages.size(), name, "advantages");
    detail::check_finite_rewards(batch, name);
    const auto groups = detail::outcomes_of(batch, false, equal_rewards);
    detail::discounted_advantages(batch, groups.outcome, groups.skip, discount, advantages, returns, name);
    return detail::summarize_groups(groups.equal_rewards, equal_rewards);
  }
};

static_assert(advantage_estimator<gae_advantage>);

}  // namespace rlft
