// Which device policy term serves which objective type, with the option checks of the CPU path.
// An objective without an entry here stops compilation with a message naming the supported ones.
#pragma once

#include "rlft/cuda/detail/dependent_false.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/gspo_token_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"

namespace rlft::cuda::detail {

template <class Objective>
struct device_objective {
  static_assert(dependent_false<Objective>,
                "no CUDA specialisation of this policy objective: rlft::cuda::evaluate_objective supports "
                "rlft::clipped_surrogate_objective, gspo_objective, gspo_token_objective, gmpo_objective, "
                "cispo_objective, sapo_objective and reinforce_objective");
};

// The objectives with an importance ratio: the CPU's checks and term, in float.
template <>
struct device_objective<clipped_surrogate_objective> {
  static auto term(const clipped_surrogate_objective& objective) {
    return rlft::detail::checked_ratio_term<rlft::detail::token_clipped_surrogate, float>(
        objective, clipped_surrogate_objective::name);
  }
};

template <>
struct device_objective<gspo_objective> {
  static auto term(const gspo_objective& objective) {
    return rlft::detail::checked_ratio_term<rlft::detail::sequence_clipped_surrogate, float>(objective,
                                                                                           gspo_objective::name);
  }
};

template <>
struct device_objective<gspo_token_objective> {
  static auto term(const gspo_token_objective& objective) {
    return rlft::detail::checked_ratio_term<rlft::detail::token_advantage_sequence_surrogate, float>(
        objective, gspo_token_objective::name);
  }
};

// The objectives that build and check their own term.
template <class Objective>
  requires requires(const Objective& objective) { objective.template term<float>(); }
struct device_objective<Objective> {
  static auto term(const Objective& objective) { return objective.template term<float>(); }
};

template <>
struct device_objective<reinforce_objective> {
  static auto term(const reinforce_objective&) { return rlft::detail::log_likelihood_term<float>{}; }
};

}  // namespace rlft::cuda::detail
