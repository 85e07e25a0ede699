// The whole CPU library in one include. CUDA specialisations live in <rlft/cuda/...> and
// kernels/ and come with the rlft::cuda target.
#pragma once

#include "rlft/version.hpp"

#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/parallel_for.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/reward_table.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"

#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/sampler.hpp"

#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/categorical.hpp"
#include "rlft/sampling/exponential_race.hpp"
#include "rlft/sampling/greedy.hpp"
#include "rlft/sampling/min_p.hpp"
#include "rlft/sampling/penalties.hpp"
#include "rlft/sampling/pipeline.hpp"
#include "rlft/sampling/sample_rows.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/sampling/top_k.hpp"
#include "rlft/sampling/top_p.hpp"
