// Policy objectives on the device: loss, metrics and dL/d(log-prob) of a slice of a ragged
// batch in one fused pass, with the per-token formulas of the CPU path (the RLFT_HOST_DEVICE
// policy terms, KL estimators and aggregation weights of rlft/objective/). One block per
// sequence: it counts the sequence's loss tokens (and, for GSPO, sums its log-ratios and
// advantages), evaluates every token once — reading the log-probs, old and reference log-probs,
// advantages, mask and entropies once and writing each gradient once — and leaves the
// sequence's sums in a partials array; the last block to finish adds the partials in sequence
// order, so the result is the same from run to run. When the caller gives no aggregation scope,
// a pre-pass counts the slice's loss tokens and sequences (one byte per token).
#pragma once

#include <cstddef>
#include <cstdint>

#include <cub/block/block_reduce.cuh>
#include <cuda_runtime_api.h>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft::kernels {

// The sums of a sequence, and of a slice: detail::partial_sums plus the number of sequences
// with loss tokens (for the scope check). Counts are doubles (exact below 2^53), so one
// reduction operator covers every member.
struct objective_sums {
  double loss;
  double policy_loss;
  double kl;
  double entropy;
  double ratio;
  double ratio_max;
  double clipped_low;
  double clipped_high;
  double held_at_bound;
  double tokens;
  double sequences;
};

struct add_objective_sums {
  __device__ objective_sums operator()(const objective_sums& a, const objective_sums& b) const {
    return {a.loss + b.loss,
            a.policy_loss + b.policy_loss,
            a.kl + b.kl,
            a.entropy + b.entropy,
            a.ratio + b.ratio,
            a.ratio_max > b.ratio_max ? a.ratio_max : b.ratio_max,
            a.clipped_low + b.clipped_low,
            a.clipped_high + b.clipped_high,
            a.held_at_bound + b.held_at_bound,
            a.tokens + b.tokens,
            a.sequences + b.sequences};
  }
};

// Loss tokens and sequences with loss tokens of a slice (the aggregation scope it spans).
struct slice_counts {
  unsigned long long loss_tokens;
  unsigned long long sequences;
};

// Everything the objective kernel reads besides the policy term, by value.
struct objective_arguments {
  cuda::device_batch_view batch;
  std::size_t first_sequence = 0;
  std::size_t sequence_count = 0;
  const float* logprobs = nullptr;  // slice layout
  const float* entropy = nullptr;   // nullable
  float* logprob_gradients = nullptr;
  float* entropy_gradients = nullptr;  // nullable
  float kl_coefficient = 0.0f;         // β in the token's float arithmetic (0: no KL term)
  double kl_coefficient_exact = 0.0;   // β in the loss's double arithmetic
  kl_estimator estimator = kl_estimator::k3;
  float kl_bound = 20.0f;
  double entropy_coefficient = 0.0;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  double constant_divisor = 0.0;
  aggregation_scope scope = {};       // the caller's, or zero members for "count the slice"
  const slice_counts* counted = nullptr;  // the pre-pass's counts (for zero members of scope)
  objective_sums* partials = nullptr;     // sequence_count entries
  unsigned int* finished_blocks = nullptr;  // 0 before the launch; 0 again after it
  objective_sums* result = nullptr;
};

// A policy term with a per-sequence prologue (GSPO's sequence ratio).
template <class PolicyTerm>
concept sequence_level_term = requires(const PolicyTerm& policy) { policy.from_sums(0.0, 0.0, 1.0); };

// ---------------------------------------------------------------------------------------------
// kernels

// One warp per sequence: its loss tokens, added to the slice totals.
__global__ void count_slice_loss_tokens(cuda::device_batch_view batch, std::size_t first_sequence,
                                        std::size_t sequence_count, slice_counts* counts) {
  const std::size_t warp = (blockIdx.x * std::size_t{blockDim.x} + threadIdx.x) / 32;
  const unsigned lane = threadIdx.x % 32;
  if (warp >= sequence_count) return;
  const std::size_t s = first_sequence + warp;
  const auto begin = static_cast<std::size_t>(batch.sequence_offsets[s]);
  const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
  unsigned tokens = 0;
  for (std::size_t t = begin + lane; t < end; t += 32) tokens += batch.loss_mask[t] != 0;
  for (int offset = 16; offset > 0; offset /= 2) tokens += __shfl_down_sync(0xffffffffu, tokens, offset);
  if (lane == 0 && tokens > 0) {
    atomicAdd(&counts->loss_tokens, static_cast<unsigned long long>(tokens));
    atomicAdd(&counts->sequences, 1ull);
  }
}

template <class PolicyTerm, int Threads>
__global__ void __launch_bounds__(Threads) policy_objective(PolicyTerm policy, objective_arguments args) {
  using sums_reduce = cub::BlockReduce<objective_sums, Threads>;
  struct prologue_sums {
    double log_ratio;
    double advantage;
    unsigned tokens;
  };
  using prologue_reduce = cub::BlockReduce<prologue_sums, Threads>;
  __shared__ union {
    typename sums_reduce::TempStorage sums;
    typename prologue_reduce::TempStorage prologue;
  } storage;
  __shared__ prologue_sums sequence;
  __shared__ bool last_block;

  const auto& batch = args.batch;
  const std::size_t first_token = static_cast<std::size_t>(batch.sequence_offsets[args.first_sequence]);
  const aggregation_scope totals{
      .sequences = args.scope.sequences ? args.scope.sequences : static_cast<std::size_t>(args.counted->sequences),
      .loss_tokens =
          args.scope.loss_tokens ? args.scope.loss_tokens : static_cast<std::size_t>(args.counted->loss_tokens)};
  const bool with_kl = args.kl_coefficient_exact > 0.0;

  for (std::size_t i = blockIdx.x; i < args.sequence_count; i += gridDim.x) {
    const std::size_t s = args.first_sequence + i;
    const auto begin = static_cast<std::size_t>(batch.sequence_offsets[s]);
    const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    const std::size_t local = begin - first_token;

    // The sequence's loss tokens (and GSPO's sums over them).
    prologue_sums mine{0.0, 0.0, 0u};
    for (std::size_t t = begin + threadIdx.x; t < end; t += Threads) {
      if (!batch.loss_mask[t]) continue;
      ++mine.tokens;
      if constexpr (sequence_level_term<PolicyTerm>) {
        mine.log_ratio += static_cast<double>(args.logprobs[local + (t - begin)]) - batch.old_logprobs[t];
        mine.advantage += batch.advantages[t];
      }
    }
    const prologue_sums reduced = prologue_reduce(storage.prologue).Reduce(mine, [](const auto& a, const auto& b) {
      return prologue_sums{a.log_ratio + b.log_ratio, a.advantage + b.advantage, a.tokens + b.tokens};
    });
    if (threadIdx.x == 0) sequence = reduced;
    __syncthreads();
    const prologue_sums whole = sequence;
    const std::size_t loss_tokens = whole.tokens;
    const double weight =
        loss_tokens ? detail::token_weight(args.aggregation, args.constant_divisor, totals, loss_tokens) : 0.0;
    const auto token_weight = static_cast<float>(weight);
    const auto entropy_gradient = -token_weight * static_cast<float>(args.entropy_coefficient);
    const auto state = [&] {
      if constexpr (sequence_level_term<PolicyTerm>)
        return policy.from_sums(whole.log_ratio, whole.advantage, loss_tokens ? static_cast<double>(loss_tokens) : 1.0);
      else
        return typename PolicyTerm::no_state{};
    }();

    objective_sums own{};
    double kl_total = 0.0;
    for (std::size_t t = begin + threadIdx.x; t < end; t += Threads) {
      const std::size_t slice_token = local + (t - begin);
      const bool on = batch.loss_mask[t] != 0;
      float gradient = 0.0f;
      if (on) {
        const float logprob = args.logprobs[slice_token];
        const auto term = policy.token(state, logprob, batch.old_logprobs[t], batch.advantages[t]);
        float derivative = term.derivative;
        if (with_kl) {
          const auto kl = estimate_kl(args.estimator, logprob, batch.ref_logprobs[t], args.kl_bound);
          derivative = derivative + args.kl_coefficient * kl.derivative;
          kl_total += kl.value;
        }
        if (args.entropy) own.entropy += args.entropy[slice_token];
        gradient = token_weight * derivative;
        own.policy_loss += term.loss;
        if constexpr (PolicyTerm::reports_ratio) {
          own.ratio += term.ratio;
          own.ratio_max = term.ratio > own.ratio_max ? term.ratio : own.ratio_max;
        }
        own.clipped_low += term.clipped_low;
        own.clipped_high += term.clipped_high;
        own.held_at_bound += term.held_at_bound;
      }
      args.logprob_gradients[slice_token] = gradient;
      if (args.entropy_gradients) args.entropy_gradients[slice_token] = on ? entropy_gradient : 0.0f;
    }
    own.kl = kl_total;
    objective_sums total = sums_reduce(storage.sums).Reduce(own, add_objective_sums{});
    if (threadIdx.x == 0) {
      // As the CPU: the sequence's loss is weighted once, from its unweighted sums.
      total.loss = weight * (total.policy_loss + args.kl_coefficient_exact * total.kl -
                             args.entropy_coefficient * total.entropy);
      total.policy_loss *= weight;
      total.tokens = static_cast<double>(loss_tokens);
      total.sequences = loss_tokens > 0 ? 1.0 : 0.0;
      args.partials[i] = total;
    }
    __syncthreads();  // `storage` and `sequence` are reused by the next sequence
  }

  // The last block adds the partials in a fixed order: thread j takes j, j + Threads, ...
  __threadfence();
  if (threadIdx.x == 0) last_block = atomicAdd(args.finished_blocks, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  objective_sums mine{};
  for (std::size_t i = threadIdx.x; i < args.sequence_count; i += Threads) {
    // Written by other blocks: read through L2 (ld.cg), not from this SM's L1.
    const double* fields = reinterpret_cast<const double*>(args.partials + i);
    objective_sums part;
    double* into = reinterpret_cast<double*>(&part);
    for (std::size_t f = 0; f < sizeof(objective_sums) / sizeof(double); ++f) into[f] = __ldcg(fields + f);
    mine = add_objective_sums{}(mine, part);
  }
  const objective_sums total = sums_reduce(storage.sums).Reduce(mine, add_objective_sums{});
  if (threadIdx.x == 0) {
    *args.result = total;
    *args.finished_blocks = 0;
  }
}

// The first non-finite input of a loss token of the slice, as slice token · 8 + which input
// (in the CPU's order: 0 log-prob, 1 old log-prob, 2 advantage, 3 reference log-prob, 4 entropy).
__global__ void first_non_finite_objective_input(objective_arguments args, unsigned long long* first) {
  const auto& batch = args.batch;
  const std::size_t first_token = static_cast<std::size_t>(batch.sequence_offsets[args.first_sequence]);
  const std::size_t tokens =
      static_cast<std::size_t>(batch.sequence_offsets[args.first_sequence + args.sequence_count]) - first_token;
  const bool with_kl = args.kl_coefficient_exact > 0.0;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < tokens;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const std::size_t t = first_token + i;
    if (!batch.loss_mask[t]) continue;
    unsigned kind = 8;
    if (!isfinite(args.logprobs[i])) kind = 0;
    else if (!isfinite(batch.old_logprobs[t])) kind = 1;
    else if (!isfinite(batch.advantages[t])) kind = 2;
    else if (with_kl && !isfinite(batch.ref_logprobs[t])) kind = 3;
    else if (args.entropy && !isfinite(args.entropy[i])) kind = 4;
    if (kind < 8) atomicMin(first, static_cast<unsigned long long>(i) * 8 + kind);
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// Launch shapes of the objective kernels.
struct objective_tuning {
  int threads = 256;       // per block, one sequence at a time
  int max_blocks = 65535;  // beyond this many sequences, blocks loop over them
  int count_threads = 256;  // the scope pre-pass: eight sequences (warps) per block
};
inline constexpr objective_tuning default_objective_tuning{};

// The pre-pass; `counts` must hold zeros before the launch.
inline void launch_count_slice_loss_tokens(const device_batch_view& batch, std::size_t first_sequence,
                                           std::size_t sequence_count, kernels::slice_counts* counts,
                                           cudaStream_t stream) {
  constexpr int threads = default_objective_tuning.count_threads;
  const std::size_t blocks = (sequence_count * 32 + threads - 1) / threads;
  kernels::count_slice_loss_tokens<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(batch, first_sequence,
                                                                                          sequence_count, counts);
  RLFT_CUDA_CHECK_LAUNCH();
}

template <class PolicyTerm>
void launch_policy_objective(const PolicyTerm& policy, const kernels::objective_arguments& args, cudaStream_t stream) {
  constexpr objective_tuning tuning = default_objective_tuning;
  const std::size_t blocks = args.sequence_count < std::size_t(tuning.max_blocks) ? args.sequence_count
                                                                                    : std::size_t(tuning.max_blocks);
  kernels::policy_objective<PolicyTerm, tuning.threads>
      <<<static_cast<unsigned>(blocks), tuning.threads, 0, stream>>>(policy, args);
  RLFT_CUDA_CHECK_LAUNCH();
}

// `first` must hold ~0 before the launch.
inline void launch_first_non_finite_objective_input(const kernels::objective_arguments& args, std::size_t tokens,
                                                    unsigned long long* first, cudaStream_t stream) {
  constexpr int threads = 256;
  const std::size_t needed = (tokens + threads - 1) / threads;
  const unsigned blocks = static_cast<unsigned>(needed < 4096 ? (needed > 0 ? needed : 1) : 4096);
  kernels::first_non_finite_objective_input<<<blocks, threads, 0, stream>>>(args, first);
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
