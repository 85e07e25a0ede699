// Policy objectives on the device: loss, metrics and dL/d(log-prob) of a slice of a ragged
// batch, with the per-token formulas of the CPU path (the RLFT_HOST_DEVICE policy terms, KL
// estimators and aggregation weights of rlft/objective/), in two passes:
//   1. one warp per sequence counts its loss tokens (and, for GSPO, sums its log-ratios and
//      advantages into the sequence's term); each block writes its counts;
//   2. the token pass: each block first adds the sequence pass's counts (integers: the slice's
//      totals), then each thread takes a few consecutive tokens, loads all their inputs before
//      it computes (so that many loads are in flight), and writes each gradient once. Threads
//      keep running sums (losses already weighted by their sequence's aggregation weight); a
//      block reduces once, and the last block to finish adds the blocks' partials in block
//      order. The launch shape depends only on the slice, so results are the same from run to
//      run.
// Nothing needs zeroing before a launch (the sequence pass resets the token pass's count of
// finished blocks), so a call enqueues two kernels and no memset.
// The token pass's arithmetic is a host-device function (evaluate_tokens), which the host tests
// run over whole slices against the CPU objective.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <cub/block/block_reduce.cuh>
#include <cuda_runtime_api.h>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/grid.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"
#include "rlft/objective/detail/token_evaluation.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft::cuda {

// Launch shapes of the objective kernels, in one place (CUB's tuning headers are the model).
// Not yet timed against other shapes; each default says what chose it.
struct objective_tuning {
  // Token pass: threads per block, and consecutive tokens per thread. Four tokens make one
  // 16-byte load per input where the slice is aligned (LDG.E.128 in the SASS, against four
  // scalar loads), and let a thread issue all its loads before the sequence search.
  int threads = 256;
  int items = 4;
  // Token-pass blocks at most, beyond which threads loop over tiles: 2048 fills 132 SMs many
  // times over, while the last block's fixed-order sum of the partials stays short.
  unsigned max_blocks = 2048;
  // Sequence-pass blocks at most (one warp per sequence, a grid-stride loop beyond): every
  // token-pass block adds their counts itself, so this bounds that work too.
  unsigned max_sequence_blocks = 256;
};
inline constexpr objective_tuning default_objective_tuning{};
static_assert(default_objective_tuning.threads % 32 == 0 && default_objective_tuning.threads <= 1024 &&
              default_objective_tuning.max_blocks <= 65535);

}  // namespace rlft::cuda

namespace rlft::kernels {

// The sums of a slice and their reduction operator, shared with the CPU objectives.
using objective_sums = detail::objective_sums;
using add_objective_sums = detail::add_objective_sums;

// Loss tokens and sequences with loss tokens (the aggregation scope a slice spans).
struct slice_counts {
  unsigned long long loss_tokens;
  unsigned long long sequences;
};

struct add_slice_counts {
  RLFT_HOST_DEVICE slice_counts operator()(const slice_counts& a, const slice_counts& b) const {
    return {a.loss_tokens + b.loss_tokens, a.sequences + b.sequences};
  }
};

// What the passes of one launch hand on: each sequence-pass block's counts, and the token
// pass's count of finished blocks (zeroed by the sequence pass).
struct objective_scratch {
  slice_counts sequence_blocks[cuda::default_objective_tuning.max_sequence_blocks];
  unsigned int finished_blocks;
};

// Everything the objective kernels read besides the policy term, by value.
struct objective_arguments {
  cuda::device_batch_view batch;
  std::size_t first_sequence = 0;
  std::size_t sequence_count = 0;
  const float* logprobs = nullptr;  // slice layout
  const float* entropy = nullptr;   // nullable
  const float* policy_weights = nullptr;  // slice layout; nullable: every weight 1
  float* logprob_gradients = nullptr;
  float* entropy_gradients = nullptr;  // nullable
  float kl_coefficient = 0.0f;         // β in the token's float arithmetic (0: no KL term)
  double kl_coefficient_exact = 0.0;   // β in the loss's double arithmetic
  kl_estimator estimator = kl_estimator::k3;
  float kl_bound = 20.0f;
  float kl_value_bound = 10.0f;  // infinity for none
  bool kl_importance_weighted = false;
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  loss_aggregation kl_aggregation = loss_aggregation::sequence_mean_token_mean;  // the KL term's
  double constant_divisor = 0.0;
  aggregation_scope scope = {};         // the caller's, or zero members for "count the slice"
  objective_scratch* scratch = nullptr;
  unsigned sequence_blocks = 1;         // the sequence pass's grid
  objective_sums* partials = nullptr;   // one per block of the token pass (objective_blocks)
  objective_sums* result = nullptr;
};

// A policy term with a per-sequence prologue (the sequence ratio of GSPO, GSPO-token and GMPO):
// the sums over its loss tokens of sequence_log_ratio(log-ratio, advantage) and the advantage.
template <class PolicyTerm>
concept sequence_level_term = requires(const PolicyTerm& policy) {
  policy.from_sums(0.0, 0.0, 1.0);
  policy.sequence_log_ratio(0.0, 0.0);
};

template <class PolicyTerm>
struct term_state {
  using type = typename PolicyTerm::no_state;
};
template <sequence_level_term PolicyTerm>
struct term_state<PolicyTerm> {
  using type = typename PolicyTerm::sequence_state;
};

// What the token pass needs of a sequence of the slice.
template <class PolicyTerm>
struct sequence_facts {
  unsigned loss_tokens = 0;
  typename term_state<PolicyTerm>::type state = {};
};

// A sequence's loss tokens, and for a sequence-level term the sums over them of its summand of
// the log-ratio and of the advantage.
struct sequence_sums {
  unsigned loss_tokens = 0;
  double log_ratio = 0.0;
  double advantage = 0.0;
};

RLFT_HOST_DEVICE inline std::size_t slice_first_token(const objective_arguments& args) {
  return static_cast<std::size_t>(args.batch.sequence_offsets[args.first_sequence]);
}

RLFT_HOST_DEVICE inline std::size_t slice_tokens(const objective_arguments& args) {
  return static_cast<std::size_t>(args.batch.sequence_offsets[args.first_sequence + args.sequence_count]) -
         slice_first_token(args);
}

// The sums over tokens begin + first, begin + first + stride, ... of batch sequence s (a warp's
// lane `first` of 32, or every token with first 0 and stride 1).
template <class PolicyTerm>
RLFT_HOST_DEVICE sequence_sums sum_sequence([[maybe_unused]] const PolicyTerm& policy, const objective_arguments& args,
                                            std::size_t s, std::size_t first, std::size_t stride) {
  const auto& batch = args.batch;
  const auto begin = static_cast<std::size_t>(batch.sequence_offsets[s]);
  const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
  const float* logprobs = args.logprobs + (begin - slice_first_token(args));
  sequence_sums sums;
  for (std::size_t t = begin + first; t < end; t += stride) {
    if (!batch.loss_mask[t]) continue;
    ++sums.loss_tokens;
    if constexpr (sequence_level_term<PolicyTerm>) {
      const double advantage = batch.advantages[t];
      sums.log_ratio += policy.sequence_log_ratio(static_cast<double>(logprobs[t - begin]) - batch.old_logprobs[t], advantage);
      sums.advantage += advantage;
    }
  }
  return sums;
}

template <class PolicyTerm>
RLFT_HOST_DEVICE sequence_facts<PolicyTerm> facts_of(const PolicyTerm& policy, const sequence_sums& sums) {
  sequence_facts<PolicyTerm> facts;
  facts.loss_tokens = sums.loss_tokens;
  if constexpr (sequence_level_term<PolicyTerm>)
    facts.state = policy.from_sums(sums.log_ratio, sums.advantage, sums.loss_tokens ? double(sums.loss_tokens) : 1.0);
  return facts;
}

// The denominators of the aggregation: the caller's scope, completed by the slice's counts.
RLFT_HOST_DEVICE inline aggregation_scope totals_of(const objective_arguments& args, const slice_counts& counts) {
  return detail::complete_scope(args.scope, {.sequences = static_cast<std::size_t>(counts.sequences),
                                             .loss_tokens = static_cast<std::size_t>(counts.loss_tokens)});
}

// The slice sequence (index into the slice) holding slice token `token`: the last one whose
// first token is at or before it.
RLFT_HOST_DEVICE inline std::size_t sequence_of_token(const objective_arguments& args, std::size_t token) {
  const std::int64_t* offsets = args.batch.sequence_offsets + args.first_sequence;
  const auto target = static_cast<std::int64_t>(slice_first_token(args) + token);
  std::size_t low = 0, high = args.sequence_count;
  while (high - low > 1) {
    const std::size_t middle = (low + high) / 2;
    if (offsets[middle] <= target) low = middle;
    else high = middle;
  }
  return low;  // offsets[low] <= target < offsets[low + 1]: never an empty sequence
}

// Copies `Count` consecutive values starting at `from` into `to` in one load: `from` must be
// aligned to the whole copy (a float4 or a 32-bit word on the device; memcpy on the host).
template <int Count, class T>
RLFT_HOST_DEVICE void load_vector(const T* from, T (&to)[Count]) {
#ifdef __CUDA_ARCH__
  static_assert(sizeof(T) * Count == 16 || sizeof(T) * Count == 4, "a float4 or a 32-bit word");
  if constexpr (sizeof(T) * Count == 16) {
    const float4 v = *reinterpret_cast<const float4*>(from);
    std::memcpy(to, &v, sizeof to);
  } else {
    const std::uint32_t v = *reinterpret_cast<const std::uint32_t*>(from);
    std::memcpy(to, &v, sizeof to);
  }
#else
  std::memcpy(to, from, sizeof to);
#endif
}

// Four floats to `to` (16-byte aligned) in one store.
RLFT_HOST_DEVICE inline void store_vector(const float (&from)[4], float* to) {
#ifdef __CUDA_ARCH__
  *reinterpret_cast<float4*>(to) = make_float4(from[0], from[1], from[2], from[3]);
#else
  std::memcpy(to, from, sizeof from);
#endif
}

RLFT_HOST_DEVICE inline bool aligned_to(const void* pointer, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(pointer) % bytes == 0;
}

// Whether four tokens of the slice starting at a multiple of four take one vector access per
// array: every array's address at slice token 0 is aligned to the access, which then holds at
// slice tokens 4, 8, ... as well. (Tested per call: hoisted out of the token loop, the flag
// cost the token pass a block per SM, ptxas -v.)
RLFT_HOST_DEVICE inline bool vector_aligned(const objective_arguments& args) {
  const auto& batch = args.batch;
  const std::size_t t0 = slice_first_token(args);
  return aligned_to(batch.loss_mask + t0, 4) && aligned_to(args.logprobs, 16) &&
         aligned_to(batch.old_logprobs + t0, 16) && aligned_to(batch.advantages + t0, 16) &&
         (args.kl_coefficient_exact == 0.0 || aligned_to(batch.ref_logprobs + t0, 16)) &&
         (args.entropy == nullptr || aligned_to(args.entropy, 16)) &&
         (args.policy_weights == nullptr || aligned_to(args.policy_weights, 16)) && aligned_to(args.logprob_gradients, 16) &&
         (args.entropy_gradients == nullptr || aligned_to(args.entropy_gradients, 16));
}

// Slice tokens [first, first + Items) ∩ [first, end), `first` a multiple of Items: loads every
// input first, then evaluates each token, writes its gradients and adds to `own`. With
// vector_aligned and all four tokens in the slice, each input takes one vector load and each
// output one vector store.
template <int Items, class PolicyTerm>
RLFT_HOST_DEVICE void evaluate_tokens(const PolicyTerm& policy, const objective_arguments& args,
                                      const sequence_facts<PolicyTerm>* facts, const aggregation_scope& totals,
                                      std::size_t first, std::size_t end, objective_sums& own) {
  const auto& batch = args.batch;
  const std::size_t first_token = slice_first_token(args);
  const bool with_kl = args.kl_coefficient_exact > 0.0;
  float logprob[Items] = {}, old_logprob[Items] = {}, ref_logprob[Items] = {}, advantage[Items] = {},
        entropy[Items] = {}, policy_weight[Items] = {};
  for (int k = 0; k < Items; ++k) policy_weight[k] = 1.0f;
  bool on[Items] = {};
  // The loads first: they do not wait for the sequence search.
  const std::size_t t0 = first_token + first;
  const bool vector = Items == 4 && first + 4 <= end && vector_aligned(args);
  if (vector) {
    if constexpr (Items == 4) {
      std::uint8_t mask[4];
      load_vector(batch.loss_mask + t0, mask);
      for (int k = 0; k < 4; ++k) on[k] = mask[k] != 0;
      load_vector(args.logprobs + first, logprob);
      load_vector(batch.old_logprobs + t0, old_logprob);
      load_vector(batch.advantages + t0, advantage);
      if (with_kl) load_vector(batch.ref_logprobs + t0, ref_logprob);
      if (args.entropy) load_vector(args.entropy + first, entropy);
      if (args.policy_weights) load_vector(args.policy_weights + first, policy_weight);
    }
  } else {
    for (int k = 0; k < Items; ++k) {
      const std::size_t token = first + k;
      if (token >= end) break;
      const std::size_t t = first_token + token;
      on[k] = batch.loss_mask[t] != 0;
      logprob[k] = args.logprobs[token];
      old_logprob[k] = batch.old_logprobs[t];
      advantage[k] = batch.advantages[t];
      ref_logprob[k] = with_kl ? batch.ref_logprobs[t] : 0.0f;
      entropy[k] = args.entropy ? args.entropy[token] : 0.0f;
      policy_weight[k] = args.policy_weights ? args.policy_weights[token] : 1.0f;
    }
  }
  std::size_t sequence[Items] = {};  // the tokens' sequences, indices into the slice
  std::size_t i = sequence_of_token(args, first);
  for (int k = 0; k < Items; ++k) {
    const std::size_t t = first_token + first + k;
    if (first + k >= end) break;
    while (static_cast<std::size_t>(batch.sequence_offsets[args.first_sequence + i + 1]) <= t) ++i;
    sequence[k] = i;
  }
  float gradient[Items] = {}, entropy_gradient[Items] = {};
  const detail::token_kl<float> kl{.enabled = with_kl,
                                   .estimator = args.estimator,
                                   .coefficient = args.kl_coefficient,
                                   .log_ratio_bound = args.kl_bound,
                                   .value_bound = args.kl_value_bound,
                                   .importance_weighted = args.kl_importance_weighted};
  for (int k = 0; k < Items; ++k) {
    const std::size_t token = first + k;
    if (token >= end) break;
    if (on[k]) {
      const sequence_facts<PolicyTerm> f = facts[sequence[k]];
      const detail::aggregation_weights weight{
          detail::token_weight(args.aggregation, args.constant_divisor, totals, f.loss_tokens),
          detail::token_weight(args.kl_aggregation, args.constant_divisor, totals, f.loss_tokens)};
      const auto evaluation =
          detail::evaluate_token(policy, f.state, logprob[k], old_logprob[k], ref_logprob[k], advantage[k], kl,
                                 policy_weight[k]);
      gradient[k] = static_cast<float>(weight.policy) * evaluation.derivative;
      if (with_kl && weight.kl != weight.policy)
        gradient[k] += detail::kl_reweighting(weight, kl, args.kl_coefficient_exact, logprob[k], old_logprob[k],
                                              ref_logprob[k]);
      entropy_gradient[k] = detail::entropy_gradient<float>(weight.policy, args.entropy_coefficient);
      detail::token_sums<float> sums;
      sums.template add<PolicyTerm::reports_ratio>(evaluation, true, entropy[k]);
      own.add_weighted(weight, sums.totals(), args.kl_coefficient_exact, args.entropy_coefficient);
    }
  }
  if (vector) {
    if constexpr (Items == 4) {
      store_vector(gradient, args.logprob_gradients + first);
      if (args.entropy_gradients) store_vector(entropy_gradient, args.entropy_gradients + first);
    }
    return;
  }
  for (int k = 0; k < Items && first + k < end; ++k) {
    args.logprob_gradients[first + k] = gradient[k];
    if (args.entropy_gradients) args.entropy_gradients[first + k] = entropy_gradient[k];
  }
}

// ---------------------------------------------------------------------------------------------
// kernels

// The sum of a warp's values in every lane (a butterfly: lanes combine the same pairs, so all
// hold the same bits).
template <class T>
__device__ T warp_sum(T value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Pass 1: one warp per sequence.
template <class PolicyTerm, int Threads>
__global__ void __launch_bounds__(Threads)
    objective_sequence_pass(PolicyTerm policy, objective_arguments args, sequence_facts<PolicyTerm>* facts) {
  using reduce = cub::BlockReduce<unsigned long long, Threads>;
  __shared__ typename reduce::TempStorage storage;
  constexpr unsigned warps_per_block = Threads / 32;
  const unsigned lane = threadIdx.x % 32;
  // Lane 0 of each warp carries its sequences' loss tokens in the high half and the number of
  // them with loss tokens in the low half of one 64-bit value: one reduction gives both totals.
  unsigned long long mine = 0;
  for (std::size_t i = blockIdx.x * std::size_t{warps_per_block} + threadIdx.x / 32; i < args.sequence_count;
       i += std::size_t{gridDim.x} * warps_per_block) {
    sequence_sums sums = sum_sequence(policy, args, args.first_sequence + i, lane, 32);
    sums.loss_tokens = warp_sum(sums.loss_tokens);
    if constexpr (sequence_level_term<PolicyTerm>) {
      sums.log_ratio = warp_sum(sums.log_ratio);
      sums.advantage = warp_sum(sums.advantage);
    }
    if (lane == 0) {
      facts[i] = facts_of(policy, sums);
      mine += (static_cast<unsigned long long>(sums.loss_tokens) << 32) | (sums.loss_tokens > 0);
    }
  }
  const unsigned long long block = reduce(storage).Sum(mine);
  if (threadIdx.x == 0) {
    args.scratch->sequence_blocks[blockIdx.x] = {block >> 32, block & 0xffffffffull};
    if (blockIdx.x == 0) args.scratch->finished_blocks = 0;
  }
}

// Pass 2: Items consecutive tokens per thread, tiles of Threads·Items tokens per block.
template <class PolicyTerm, int Threads, int Items>
__global__ void __launch_bounds__(Threads) objective_token_pass(PolicyTerm policy, objective_arguments args,
                                                                const sequence_facts<PolicyTerm>* facts) {
  using sums_reduce = cub::BlockReduce<objective_sums, Threads>;
  using counts_reduce = cub::BlockReduce<slice_counts, Threads>;
  __shared__ union {
    typename sums_reduce::TempStorage sums;
    typename counts_reduce::TempStorage counts;
  } storage;
  __shared__ slice_counts counts;
  __shared__ bool last_block;
  const std::size_t tokens = slice_tokens(args);
  constexpr std::size_t tile = std::size_t{Threads} * Items;

  slice_counts own_counts{};
  for (unsigned i = threadIdx.x; i < args.sequence_blocks; i += Threads)
    own_counts = add_slice_counts{}(own_counts, args.scratch->sequence_blocks[i]);
  own_counts = counts_reduce(storage.counts).Reduce(own_counts, add_slice_counts{});
  if (threadIdx.x == 0) counts = own_counts;
  __syncthreads();
  const aggregation_scope totals = totals_of(args, counts);

  objective_sums own{};
  for (std::size_t first = blockIdx.x * tile + threadIdx.x * std::size_t{Items}; first < tokens;
       first += std::size_t{gridDim.x} * tile)
    evaluate_tokens<Items>(policy, args, facts, totals, first, tokens, own);
  const objective_sums block = sums_reduce(storage.sums).Reduce(own, add_objective_sums{});
  if (threadIdx.x == 0) args.partials[blockIdx.x] = block;

  // The last block adds the partials in a fixed order: thread j takes j, j + Threads, ...
  __threadfence();
  if (threadIdx.x == 0) last_block = atomicAdd(&args.scratch->finished_blocks, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  objective_sums mine{};
  for (std::size_t i = threadIdx.x; i < gridDim.x; i += Threads) {
    // Written by other blocks: read through L2 (ld.cg), not from this SM's L1.
    const double* fields = reinterpret_cast<const double*>(args.partials + i);
    objective_sums part;
    double* into = reinterpret_cast<double*>(&part);
    for (std::size_t f = 0; f < sizeof(objective_sums) / sizeof(double); ++f) into[f] = __ldcg(fields + f);
    mine = add_objective_sums{}(mine, part);
  }
  __syncthreads();  // `storage` is reused
  objective_sums total = sums_reduce(storage.sums).Reduce(mine, add_objective_sums{});
  if (threadIdx.x == 0) {
    total.tokens = static_cast<double>(counts.loss_tokens);  // the token pass's loss tokens
    total.sequences = static_cast<double>(counts.sequences);
    *args.result = total;
  }
}

// The first non-finite input of a loss token of the slice, as slice token · 8 + which input
// (detail::objective_input, tested in the CPU's order).
__global__ void first_non_finite_objective_input(objective_arguments args, unsigned long long* first) {
  const auto& batch = args.batch;
  const std::size_t first_token = slice_first_token(args), tokens = slice_tokens(args);
  const bool with_kl = args.kl_coefficient_exact > 0.0;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < tokens;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const std::size_t t = first_token + i;
    if (!batch.loss_mask[t]) continue;
    const detail::objective_input bad = detail::first_non_finite_input(
        args.logprobs[i], batch.old_logprobs[t], batch.advantages[t], with_kl ? batch.ref_logprobs[t] : 0.0f, with_kl,
        args.entropy ? args.entropy[i] : 0.0f);
    if (bad != detail::objective_input::none)
      atomicMin(first, static_cast<unsigned long long>(i) * 8 + static_cast<unsigned>(bad));
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// Blocks of the token pass for a slice of `tokens` tokens: as many partial sums as it needs.
inline unsigned objective_blocks(std::size_t tokens) {
  constexpr auto tuning = default_objective_tuning;
  return grid_blocks(tokens, std::size_t(tuning.threads) * tuning.items, tuning.max_blocks);
}

// Blocks of the sequence pass for a slice of `sequences` sequences: one warp per sequence.
inline unsigned objective_sequence_blocks(std::size_t sequences) {
  constexpr auto tuning = default_objective_tuning;
  return grid_blocks(sequences, tuning.threads / 32, tuning.max_sequence_blocks);
}

// Where a launch's temporaries lie in one allocation of `bytes` (256-byte aligned pieces): the
// scratch at 0, the token pass's partials, the sequences' facts.
struct objective_temporaries {
  std::size_t partials_at = 0;
  std::size_t facts_at = 0;
  std::size_t bytes = 0;
};

template <class PolicyTerm>
objective_temporaries objective_temporaries_of(std::size_t tokens, std::size_t sequences) {
  const auto aligned = [](std::size_t bytes) { return (bytes + 255) / 256 * 256; };
  objective_temporaries layout;
  layout.partials_at = aligned(sizeof(kernels::objective_scratch));
  layout.facts_at = layout.partials_at + aligned(objective_blocks(tokens) * sizeof(kernels::objective_sums));
  layout.bytes = layout.facts_at + sequences * sizeof(kernels::sequence_facts<PolicyTerm>);
  return layout;
}

// Both passes over a slice of `tokens` tokens; `temporary` holds objective_temporaries_of's
// bytes, uninitialised.
template <class PolicyTerm>
void launch_policy_objective(const PolicyTerm& policy, kernels::objective_arguments args, std::size_t tokens,
                             unsigned char* temporary, cudaStream_t stream) {
  const auto layout = objective_temporaries_of<PolicyTerm>(tokens, args.sequence_count);
  args.scratch = reinterpret_cast<kernels::objective_scratch*>(temporary);
  args.partials = reinterpret_cast<kernels::objective_sums*>(temporary + layout.partials_at);
  auto* facts = reinterpret_cast<kernels::sequence_facts<PolicyTerm>*>(temporary + layout.facts_at);
  constexpr auto tuning = default_objective_tuning;
  args.sequence_blocks = objective_sequence_blocks(args.sequence_count);
  kernels::objective_sequence_pass<PolicyTerm, tuning.threads>
      <<<args.sequence_blocks, tuning.threads, 0, stream>>>(policy, args, facts);
  RLFT_CUDA_CHECK_LAUNCH();
  kernels::objective_token_pass<PolicyTerm, tuning.threads, tuning.items>
      <<<objective_blocks(tokens), tuning.threads, 0, stream>>>(policy, args, facts);
  RLFT_CUDA_CHECK_LAUNCH();
}

// `first` must hold ~0 before the launch.
inline void launch_first_non_finite_objective_input(const kernels::objective_arguments& args, std::size_t tokens,
                                                    unsigned long long* first, cudaStream_t stream) {
  constexpr int threads = 256;
  kernels::first_non_finite_objective_input<<<grid_blocks(tokens, threads, 4096), threads, 0, stream>>>(args, first);
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
