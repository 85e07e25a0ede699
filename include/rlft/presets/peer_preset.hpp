// What a peer preset returns (rlft/presets/trl.hpp, rlft/presets/verl.hpp): the advantage
// estimator and the policy objective that reproduce one framework's configuration, ready for
// rlft::grpo_trainer or for calling directly.
#pragma once

#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/concepts/policy_objective.hpp"

namespace rlft::presets {

template <advantage_estimator Estimator, policy_objective Objective>
struct peer_preset {
  Estimator estimator;
  Objective objective;
};

}  // namespace rlft::presets
