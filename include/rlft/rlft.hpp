// The whole CPU library in one include. CUDA specialisations live in <rlft/cuda/...> and
// kernels/ and come with the rlft::cuda target.
#pragma once

#include "rlft/version.hpp"

#include "rlft/core/error.hpp"
#include "rlft/core/fast_exp.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/reward_table.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"

#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/sampler.hpp"

#include "rlft/advantage/dr_grpo_advantage.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/process_supervision_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/advantage/remax_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"

#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/ratio_clipping.hpp"
#include "rlft/objective/reinforce_objective.hpp"
