// Which device policy term serves which objective type, with the option checks of the CPU path.
// An objective without an entry here stops compilation with a message naming the supported ones.
#pragma once

#include "rlft/cuda/detail/dependent_false.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/detail/objective_evaluation.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"

namespace rlft::cuda::detail {

template <class Objective>
struct device_objective {
  static_assert(dependent_false<Objective>,
                "no CUDA specialisation of this policy objective: rlft::cuda::evaluate_objective supports "
                "rlft::clipped_surrogate_objective, rlft::gspo_objective and rlft::reinforce_objective");
};

// The objectives with an importance ratio: the CPU's checks, then the term in float.
template <template <class> class RatioTerm, class Objective>
RatioTerm<float> ratio_term(const Objective& objective, const char* name) {
  rlft::detail::check_clip_range(objective.clip, name);
  rlft::detail::check_log_ratio_bound(objective.log_ratio_bound, name);
  return {ratio_bounds<float>(objective.clip), static_cast<float>(objective.log_ratio_bound)};
}

template <>
struct device_objective<clipped_surrogate_objective> {
  static constexpr const char* name = clipped_surrogate_objective::name;
  static auto term(const clipped_surrogate_objective& objective) {
    return ratio_term<rlft::detail::token_clipped_surrogate>(objective, name);
  }
};

template <>
struct device_objective<gspo_objective> {
  static constexpr const char* name = gspo_objective::name;
  static auto term(const gspo_objective& objective) {
    return ratio_term<rlft::detail::sequence_clipped_surrogate>(objective, name);
  }
};

template <>
struct device_objective<reinforce_objective> {
  static constexpr const char* name = reinforce_objective::name;
  static auto term(const reinforce_objective&) { return rlft::detail::log_likelihood_term<float>{}; }
};

}  // namespace rlft::cuda::detail
