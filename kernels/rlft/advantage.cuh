// Advantage estimators on the device, with the formulas of rlft/advantage/ (GRPO, Dr. GRPO,
// RLOO, OPO, GRPO pass@k, GDPO, REINFORCE++, GAE, process supervision) over the ragged batch:
//   - group statistics (count, sum, mean, squared deviations, lowest and highest value) of
//     REINFORCE++, GAE and process supervision come from one CUB segmented reduction whose
//     segments are the groups' sequences (outcome rewards) or the groups' tokens (step
//     rewards); the batch statistics of reward scaling and whitening are the same reduction
//     over one segment;
//   - discounted returns and GAE, and the suffix sums of process supervision, are reverse scans
//     of affine maps x ↦ a·x + b with CUB's block scan, one block per sequence, in double as
//     the CPU;
//   - outcome advantages (GRPO's family) need only their group's moments: one warp per
//     sequence reduces its group's rewards and writes the sequence's tokens, in one launch;
//     OPO's warp also sums its group's length-weighted rewards (after a launch that counts
//     each sequence's loss tokens), pass@k's finds the group's best and runner-up; GDPO runs
//     the warp once per reward component, summing per sequence, then whitens the sums with
//     moments over the loss tokens (a segmented reduction of one segment).
// The formulas are the CPU's own host-device functions: the moments and their merge
// (detail::value_moments), the outcome advantages (detail/outcome_advantage.hpp) and the
// discounted step (detail::step_reward, detail::temporal_difference); the kernels only map them.
// Statistics merge pairwise (Chan, Golub and LeVeque) in a fixed tree, so results are the same
// from run to run; against the CPU's sequential sums they differ in the last bits of a double,
// which the float advantages rarely see (within 2 ulp). Groups of equal rewards are detected
// by value_moments::all_equal, as on the CPU. Bad inputs mark the first offending
// sequence, or flag the group of a non-finite outcome reward; the host facade
// (rlft/cuda/advantage.hpp) turns them into the CPU's error.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_reduce.cuh>
#include <cuda_runtime_api.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "rlft/advantage/detail/discounted_returns.hpp"
#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/detail/outcome_advantage.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/grid.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace rlft::cuda {

// Launch shapes of the advantage kernels, in one place. Not yet timed against other shapes;
// what chose each default:
struct advantage_tuning {
  // Threads per block of every kernel: the outcome estimators put one warp on each sequence
  // (eight sequences a block), the scans one block on each sequence.
  int threads = 256;
  // Tokens per thread of a scan tile: 1024-token tiles, so a typical completion is one pass.
  int scan_items = 4;
};
inline constexpr advantage_tuning default_advantage_tuning{};

}  // namespace rlft::cuda

namespace rlft::kernels {

// The statistics every reduction here combines (rlft/advantage/detail/moments.hpp, shared with
// the CPU estimators).
using value_moments = detail::value_moments;

__host__ __device__ inline value_moments no_values() { return {}; }

__host__ __device__ inline value_moments one_value(float value) {
  value_moments moments;
  moments.add(value);
  return moments;
}

struct merge_moments {
  __host__ __device__ value_moments operator()(value_moments a, const value_moments& b) const {
    a.merge(b);
    return a;
  }
};

// Item i of a reduction: values[i] where select is null or select[i] != 0, or parts[i] when
// parts is given (merging per-sequence moments).
struct moments_of_item {
  const float* values = nullptr;
  const std::uint8_t* select = nullptr;
  const value_moments* parts = nullptr;
  __device__ value_moments operator()(std::int64_t i) const {
    if (parts) return parts[i];
    if (select && !select[i]) return no_values();
    return one_value(values[i]);
  }
};

// Sequence i's value counted once per loss token (GDPO's whitening over loss tokens): the
// moments of weights[i] copies of values[i], none for weight 0.
struct weighted_moments_of_item {
  const double* values = nullptr;
  const double* weights = nullptr;
  __device__ value_moments operator()(std::int64_t i) const {
    if (weights[i] == 0.0) return no_values();
    value_moments copies;
    copies.count = weights[i];
    copies.sum = weights[i] * values[i];
    copies.mean = values[i];
    copies.lowest = copies.highest = static_cast<float>(values[i]);
    return copies;
  }
};

// Where segment g starts: group_offsets[g] (sequences), or the first token of that sequence
// when sequence_offsets is given; with no group_offsets, the single segment [0, total).
struct segment_start {
  const std::int64_t* group_offsets = nullptr;
  const std::int64_t* sequence_offsets = nullptr;
  std::int64_t total = 0;
  __device__ std::int64_t operator()(std::int64_t g) const {
    if (!group_offsets) return g == 0 ? 0 : total;
    const std::int64_t s = group_offsets[g];
    return sequence_offsets ? sequence_offsets[s] : s;
  }
};

// x ↦ a·x + b; combining an earlier map (in scan order) with a later one applies the earlier
// first. The scans run backwards in time: y_t = b_t + a_t·y_{t+1}.
struct affine_map {
  double a;
  double b;
};

struct compose_affine {
  __host__ __device__ affine_map operator()(const affine_map& earlier, const affine_map& later) const {
    return {earlier.a * later.a, later.b + later.a * earlier.b};
  }
};

// What an estimator writes for each group: its rewards are all equal, and (estimators of
// outcome rewards) one of them is not finite.
inline constexpr std::uint8_t group_equal_rewards = 1;
inline constexpr std::uint8_t group_bad_reward = 2;

// The flags of a group of outcome rewards with moments `rewards` (a non-finite reward makes
// the sum non-finite).
__device__ inline std::uint8_t reward_group_flags(const value_moments& rewards) {
  return (rewards.all_equal() ? group_equal_rewards : 0) | (isfinite(rewards.sum) ? 0 : group_bad_reward);
}

// Marks of bad inputs: the smallest offending sequence of each kind (~0 for none).
struct advantage_errors {
  unsigned long long first_bad_scan;
  unsigned long long first_bad_steps;
};


// The group of sequence s (binary search over the group offsets).
__device__ inline std::size_t group_of(const cuda::device_batch_view& batch, std::size_t s) {
  std::size_t low = 0, high = batch.num_groups;
  while (high - low > 1) {
    const std::size_t middle = (low + high) / 2;
    if (static_cast<std::size_t>(batch.group_offsets[middle]) <= s) low = middle;
    else high = middle;
  }
  return low;
}

// Calls emit(t, y_t) for t in [first, end), with y_t = element(t).b + element(t).a·y_{t+1} and
// y_end = 0, in tiles of Threads·Items tokens from the end. Every thread of the block calls it.
template <int Threads, int Items, class TempStorage, class Element, class Emit>
__device__ void reverse_affine_scan(std::size_t first, std::size_t end, TempStorage& storage, Element element,
                                    Emit emit) {
  using scan = cub::BlockScan<affine_map, Threads>;
  constexpr std::size_t tile = std::size_t{Threads} * Items;
  affine_map running{1.0, 0.0};
  for (std::size_t tile_end = end; tile_end > first; tile_end = tile_end > first + tile ? tile_end - tile : first) {
    affine_map items[Items];
    for (int k = 0; k < Items; ++k) {
      const std::size_t back = std::size_t{threadIdx.x} * Items + k;  // position from tile_end − 1 down
      items[k] = back < tile_end - first ? element(tile_end - 1 - back) : affine_map{1.0, 0.0};
    }
    affine_map aggregate;
    scan(storage).InclusiveScan(items, items, running, compose_affine{}, aggregate);
    for (int k = 0; k < Items; ++k) {
      const std::size_t back = std::size_t{threadIdx.x} * Items + k;
      if (back < tile_end - first) emit(tile_end - 1 - back, items[k].b);
    }
    running = compose_affine{}(running, aggregate);
    __syncthreads();  // the scan's storage is reused by the next tile
  }
}

// ---------------------------------------------------------------------------------------------
// kernels

struct outcome_arguments {
  cuda::device_batch_view batch;
  const value_moments* batch_rewards = nullptr;  // all rewards (batch_std scaling)
  float* advantages = nullptr;
  std::uint8_t* group_flags = nullptr;  // group_equal_rewards | group_bad_reward
  detail::outcome_rule rule = detail::outcome_rule::normalized;
  reward_scaling scaling = reward_scaling::group_std;
  double epsilon = 0.0;
  bool unbiased_std = true;
  singleton_group_policy singletons = singleton_group_policy::no_signal;
};

// The moments of values[first, end) in every lane of a warp: lane k folds values k, k + 32, ...
// in order, lane 0 merges the lanes in a fixed tree, and its result is shared, so every warp
// that reduces the same values gets the same bits.
__device__ inline value_moments warp_moments(const float* values, std::size_t first, std::size_t end) {
  const unsigned lane = threadIdx.x % 32;
  value_moments own = no_values();
  for (std::size_t i = first + lane; i < end; i += 32) own = merge_moments{}(own, one_value(values[i]));
  const auto shuffle = [](const value_moments& m, auto&& move) {
    value_moments moved;
    moved.count = move(m.count);
    moved.sum = move(m.sum);
    moved.mean = move(m.mean);
    moved.squared_deviations = move(m.squared_deviations);
    moved.lowest = move(m.lowest);
    moved.highest = move(m.highest);
    return moved;
  };
  for (int offset = 16; offset > 0; offset /= 2)
    own = merge_moments{}(own, shuffle(own, [offset](auto x) { return __shfl_down_sync(0xffffffffu, x, offset); }));
  return shuffle(own, [](auto x) { return __shfl_sync(0xffffffffu, x, 0); });
}

// One warp per sequence for the estimators of GRPO's family: the warp reduces its group's
// rewards itself (a group's sequences all get the same moments), the first sequence of a group
// writes the group's flags, and advantage(s, first, end, group) goes on the sequence's loss
// tokens (0 on its other tokens). Without group_flags the rewards are not read (no moments).
template <int Threads, class Advantage>
__device__ void for_each_sequence_warp(const cuda::device_batch_view& batch, float* advantages,
                                       std::uint8_t* group_flags, Advantage advantage) {
  constexpr unsigned warps_per_block = Threads / 32;
  const unsigned lane = threadIdx.x % 32;
  for (std::size_t s = blockIdx.x * std::size_t{warps_per_block} + threadIdx.x / 32; s < batch.num_sequences;
       s += std::size_t{gridDim.x} * warps_per_block) {
    const std::size_t g = group_of(batch, s);
    const auto first = static_cast<std::size_t>(batch.group_offsets[g]);
    const auto end = static_cast<std::size_t>(batch.group_offsets[g + 1]);
    const value_moments group = group_flags ? warp_moments(batch.rewards, first, end) : no_values();
    if (group_flags && lane == 0 && s == first) group_flags[g] = reward_group_flags(group);
    const auto value = static_cast<float>(advantage(s, first, end, group));
    const auto sequence_end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    for (std::size_t t = static_cast<std::size_t>(batch.sequence_offsets[s]) + lane; t < sequence_end; t += 32)
      advantages[t] = batch.loss_mask[t] ? value : 0.0f;
  }
}

// GRPO, Dr. GRPO and RLOO.
template <int Threads>
__global__ void __launch_bounds__(Threads) outcome_advantages(outcome_arguments args) {
  const auto& batch = args.batch;
  for_each_sequence_warp<Threads>(batch, args.advantages, args.group_flags,
                                  [&](std::size_t s, std::size_t, std::size_t, const value_moments& group) {
    const double batch_std = args.scaling == reward_scaling::batch_std
                                 ? args.batch_rewards->standard_deviation(args.unbiased_std)
                                 : 0.0;
    const double scale =
        detail::reward_scale(args.scaling, group, batch_std, args.epsilon, args.unbiased_std, args.singletons);
    return detail::outcome_advantage(args.rule, batch.rewards[s], group, scale, args.singletons);
  });
}

// A double summed over the lanes of a warp in a fixed tree, shared with every lane.
__device__ inline double warp_sum(double own) {
  for (int offset = 16; offset > 0; offset /= 2) own += __shfl_down_sync(0xffffffffu, own, offset);
  return __shfl_sync(0xffffffffu, own, 0);
}

// The loss tokens of each sequence, one warp per sequence (OPO's completion lengths).
template <int Threads>
__global__ void __launch_bounds__(Threads) count_loss_tokens(cuda::device_batch_view batch, double* loss_tokens) {
  constexpr unsigned warps_per_block = Threads / 32;
  const unsigned lane = threadIdx.x % 32;
  for (std::size_t s = blockIdx.x * std::size_t{warps_per_block} + threadIdx.x / 32; s < batch.num_sequences;
       s += std::size_t{gridDim.x} * warps_per_block) {
    double own = 0.0;
    const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    for (std::size_t t = static_cast<std::size_t>(batch.sequence_offsets[s]) + lane; t < end; t += 32)
      own += batch.loss_mask[t] ? 1.0 : 0.0;
    const double total = warp_sum(own);
    if (lane == 0) loss_tokens[s] = total;
  }
}

struct group_baseline_arguments {
  cuda::device_batch_view batch;
  const double* loss_tokens = nullptr;  // OPO: per sequence
  float* advantages = nullptr;
  std::uint8_t* group_flags = nullptr;  // group_equal_rewards | group_bad_reward
  singleton_group_policy singletons = singleton_group_policy::no_signal;  // OPO
  bool normalize = true;  // pass@k
  bool unbiased_std = true;
  double epsilon = 0.0;
};

// OPO: the warp also sums its group's length-weighted rewards.
template <int Threads>
__global__ void __launch_bounds__(Threads) opo_advantages(group_baseline_arguments args) {
  const auto& batch = args.batch;
  for_each_sequence_warp<Threads>(batch, args.advantages, args.group_flags,
                                  [&](std::size_t s, std::size_t first, std::size_t end, const value_moments& group) {
    double weighted = 0.0, tokens = 0.0;
    for (std::size_t j = first + threadIdx.x % 32; j < end; j += 32) {
      weighted += args.loss_tokens[j] * batch.rewards[j];
      tokens += args.loss_tokens[j];
    }
    return detail::length_weighted_advantage(batch.rewards[s], group, warp_sum(weighted), warp_sum(tokens),
                                             args.singletons);
  });
}

// The group's first completion with the highest reward, over the lanes of a warp.
__device__ inline std::size_t warp_best(const float* rewards, std::size_t first, std::size_t end) {
  std::size_t best = first;
  for (std::size_t j = first + threadIdx.x % 32; j < end; j += 32)
    if (rewards[j] > rewards[best] || (rewards[j] == rewards[best] && j < best)) best = j;
  for (int offset = 16; offset > 0; offset /= 2) {
    const auto other = static_cast<std::size_t>(__shfl_down_sync(0xffffffffu, static_cast<unsigned long long>(best), offset));
    if (rewards[other] > rewards[best] || (rewards[other] == rewards[best] && other < best)) best = other;
  }
  return static_cast<std::size_t>(__shfl_sync(0xffffffffu, static_cast<unsigned long long>(best), 0));
}

// GRPO pass@k: the warp also finds its group's best completion and runner-up.
template <int Threads>
__global__ void __launch_bounds__(Threads) passk_advantages(group_baseline_arguments args) {
  const auto& batch = args.batch;
  for_each_sequence_warp<Threads>(batch, args.advantages, args.group_flags,
                                  [&](std::size_t s, std::size_t first, std::size_t end, const value_moments& group) {
    const std::size_t best = warp_best(batch.rewards, first, end);
    double runner_up = -INFINITY;
    for (std::size_t j = first + threadIdx.x % 32; j < end; j += 32)
      if (j != best && batch.rewards[j] > runner_up) runner_up = batch.rewards[j];
    for (int offset = 16; offset > 0; offset /= 2)
      runner_up = fmax(runner_up, __shfl_down_sync(0xffffffffu, runner_up, offset));
    runner_up = __shfl_sync(0xffffffffu, runner_up, 0);
    return detail::best_margin_advantage(s == best, batch.rewards[best], runner_up, group, args.normalize,
                                         args.unbiased_std, args.epsilon);
  });
}

struct component_arguments {
  cuda::device_batch_view batch;
  const float* scores = nullptr;  // one reward component, per sequence
  double weight = 1.0;
  bool first_component = true;  // starts the sums and the group flags
  double* sums = nullptr;       // per sequence: Σ weight · normalised score
  std::uint8_t* group_flags = nullptr;
  double epsilon = 0.0;
  bool unbiased_std = true;
  singleton_group_policy singletons = singleton_group_policy::no_signal;
};

// GDPO, one component: one warp per sequence normalises the sequence's score in its group and
// adds it, weighted, to the sequence's sum. A group's flags: equal rewards when every component
// so far is equal, a bad reward when any is not finite.
template <int Threads>
__global__ void __launch_bounds__(Threads) add_normalized_component(component_arguments args) {
  constexpr unsigned warps_per_block = Threads / 32;
  const auto& batch = args.batch;
  for (std::size_t s = blockIdx.x * std::size_t{warps_per_block} + threadIdx.x / 32; s < batch.num_sequences;
       s += std::size_t{gridDim.x} * warps_per_block) {
    const std::size_t g = group_of(batch, s);
    const auto first = static_cast<std::size_t>(batch.group_offsets[g]);
    const value_moments group = warp_moments(args.scores, first, static_cast<std::size_t>(batch.group_offsets[g + 1]));
    if (threadIdx.x % 32 != 0) continue;
    if (s == first) {
      const std::uint8_t flags = reward_group_flags(group);
      args.group_flags[g] = args.first_component ? flags
                                                 : static_cast<std::uint8_t>((args.group_flags[g] & flags & group_equal_rewards) |
                                                                             ((args.group_flags[g] | flags) & group_bad_reward));
    }
    const double scale =
        detail::reward_scale(reward_scaling::group_std, group, 0.0, args.epsilon, args.unbiased_std, args.singletons);
    const double normalized =
        detail::outcome_advantage(detail::outcome_rule::normalized, args.scores[s], group, scale, args.singletons);
    args.sums[s] = (args.first_component ? 0.0 : args.sums[s]) + args.weight * normalized;
  }
}

// GDPO's last step: (sum − mean) / sqrt(sample variance + ε) over the loss tokens (`all`, each
// sequence counted once per loss token), 0 for a group of equal rewards when the policy zeroes them.
template <int Threads>
__global__ void __launch_bounds__(Threads) whiten_component_sums(cuda::device_batch_view batch, const double* sums,
                                                                 const value_moments* all, double epsilon,
                                                                 const std::uint8_t* group_flags,
                                                                 bool zero_equal_groups, float* advantages) {
  const double spread = detail::whitening_spread(*all, whitening_scale::sqrt_sample_variance_plus_epsilon, epsilon);
  const double scale = spread > 0.0 ? 1.0 / spread : 0.0;
  for_each_sequence_warp<Threads>(batch, advantages, nullptr,
                                  [&](std::size_t s, std::size_t first, std::size_t, const value_moments&) {
    const bool zeroed = zero_equal_groups && (group_flags[group_of(batch, first)] & group_equal_rewards) != 0;
    return zeroed ? 0.0 : (sums[s] - all->mean) * scale;
  });
}

struct discount_arguments {
  cuda::device_batch_view batch;
  const value_moments* groups = nullptr;  // per group, over the rewards
  float* advantages = nullptr;
  float* returns = nullptr;  // nullable: GAE's critic targets
  std::uint8_t* group_flags = nullptr;  // group_equal_rewards | group_bad_reward
  std::uint8_t* skipped = nullptr;               // per sequence (for the whitening pass)
  value_moments* sequence_moments = nullptr;     // per sequence, when whitening
  advantage_errors* errors = nullptr;
  double gamma = 1.0;
  double gamma_lambda = 1.0;
  double kl_coefficient = 0.0;
  kl_estimator estimator = kl_estimator::k1;
  float kl_bound = 20.0f;
  float kl_value_bound = 10.0f;
  bool use_values = false;
  bool subtract_group_mean = false;
  bool zero_equal_groups = false;
  bool carry_masked = false;  // masked_token_steps::carried
};

// REINFORCE++ and GAE: one block per sequence.
template <int Threads, int Items>
__global__ void __launch_bounds__(Threads) discounted_advantages(discount_arguments args) {
  using moments_reduce = cub::BlockReduce<value_moments, Threads>;
  __shared__ union {
    typename cub::BlockScan<affine_map, Threads>::TempStorage scan;
    typename moments_reduce::TempStorage reduce;
  } storage;
  __shared__ double whole_count, whole_sum;  // a sequence's loss tokens and their advantages' sum
  const auto& batch = args.batch;
  const bool with_kl = args.kl_coefficient > 0.0;
  for (std::size_t s = blockIdx.x; s < batch.num_sequences; s += gridDim.x) {
    const std::size_t g = group_of(batch, s);
    const value_moments group = args.groups[g];
    const bool skip = group.all_equal() && args.zero_equal_groups;
    if (threadIdx.x == 0) {
      if (s == static_cast<std::size_t>(batch.group_offsets[g])) args.group_flags[g] = reward_group_flags(group);
      if (args.skipped) args.skipped[s] = skip;
    }
    const double outcome = detail::outcome_reward(batch.rewards[s], group, args.subtract_group_mean);
    const float keep = skip ? 0.0f : 1.0f;
    const auto begin = static_cast<std::size_t>(batch.sequence_offsets[s]);
    const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    const std::size_t completion = begin + static_cast<std::size_t>(batch.prompt_lengths[s]);
    for (std::size_t t = begin + threadIdx.x; t < completion; t += Threads) {
      args.advantages[t] = 0.0f;
      if (args.returns) args.returns[t] = 0.0f;
    }
    bool finite = true;
    const auto value_at = [&](std::size_t t) { return args.use_values ? double{batch.values[t]} : 0.0; };
    reverse_affine_scan<Threads, Items>(
        completion, end, storage.scan,
        [&](std::size_t t) {
          double kl_term = 0.0;
          if (with_kl && batch.loss_mask[t]) {
            const float old_logprob = batch.old_logprobs[t], ref_logprob = batch.ref_logprobs[t];
            kl_term = args.kl_coefficient * estimate_kl(args.estimator, old_logprob, ref_logprob, args.kl_bound, args.kl_value_bound).value;
            // The log-ratio clamp would hide an infinite log-prob from the return: test it here.
            finite = finite && isfinite(old_logprob) && isfinite(ref_logprob);
          }
          const double reward = detail::step_reward(batch.token_rewards[t], t + 1 == end ? outcome : 0.0, kl_term);
          // Carried over: no time step, the return passes across (detail::discounted_advantages).
          if (args.carry_masked && !batch.loss_mask[t]) return affine_map{1.0, reward};
          // The next time step: the next token, or with carry the next loss token (each loss
          // token searches the masked run after it once, so the search is linear overall).
          std::size_t next = t + 1;
          if (args.carry_masked && args.use_values)
            while (next < end && !batch.loss_mask[next]) ++next;
          const double next_value = next < end ? value_at(next) : 0.0;
          return affine_map{args.gamma_lambda, detail::temporal_difference(reward, next_value, value_at(t), args.gamma)};
        },
        [&](std::size_t t, double running) {
          finite = finite && isfinite(running);
          const float on = batch.loss_mask[t] ? 1.0f : 0.0f;
          args.advantages[t] = static_cast<float>(running) * on * keep;
          if (args.returns) args.returns[t] = static_cast<float>(running + value_at(t)) * on;
        });
    if (__syncthreads_or(!finite) && threadIdx.x == 0) atomicMin(&args.errors->first_bad_scan, static_cast<unsigned long long>(s));
    if (!args.sequence_moments) continue;
    // Whitening statistics of the sequence's loss tokens, two passes as detail::masked_moments.
    double sum = 0.0, count = 0.0;
    if (!skip)
      for (std::size_t t = completion + threadIdx.x; t < end; t += Threads)
        if (batch.loss_mask[t]) {
          sum += args.advantages[t];
          count += 1.0;
        }
    value_moments mine;
    mine.sum = sum;
    mine.count = count;
    const value_moments totals = moments_reduce(storage.reduce).Reduce(mine, merge_moments{});
    if (threadIdx.x == 0) {
      whole_count = totals.count;
      whole_sum = totals.sum;
    }
    __syncthreads();
    const double sequence_mean = whole_count > 0.0 ? whole_sum / whole_count : 0.0;
    double squares = 0.0;
    if (!skip)
      for (std::size_t t = completion + threadIdx.x; t < end; t += Threads)
        if (batch.loss_mask[t]) {
          const double deviation = args.advantages[t] - sequence_mean;
          squares += deviation * deviation;
        }
    __syncthreads();  // `storage.reduce` is reused
    mine = value_moments{};
    mine.sum = squares;
    const double squared_deviations = moments_reduce(storage.reduce).Reduce(mine, merge_moments{}).sum;
    if (threadIdx.x == 0) {
      value_moments sequence;
      if (whole_count > 0.0) {
        sequence.count = whole_count;
        sequence.sum = whole_sum;
        sequence.mean = sequence_mean;
        sequence.squared_deviations = squared_deviations;
      }
      args.sequence_moments[s] = sequence;
    }
    __syncthreads();
  }
}

// (A − mean) / spread (detail::whitening_spread) on the loss tokens of sequences that were not skipped.
__global__ void whiten_advantages(cuda::device_batch_view batch, const value_moments* all, double epsilon,
                                  whitening_scale scale_kind, const std::uint8_t* skipped, float* advantages) {
  const auto mean = static_cast<float>(all->mean);
  const double spread = detail::whitening_spread(*all, scale_kind, epsilon);
  const auto scale = static_cast<float>(spread > 0.0 ? 1.0 / spread : 0.0);
  for (std::size_t s = blockIdx.x; s < batch.num_sequences; s += gridDim.x) {
    if (skipped[s]) continue;
    const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    const auto completion = static_cast<std::size_t>(batch.sequence_offsets[s] + batch.prompt_lengths[s]);
    for (std::size_t t = completion + threadIdx.x; t < end; t += blockDim.x)
      advantages[t] = (advantages[t] - mean) * scale * static_cast<float>(batch.loss_mask[t]);
  }
}

struct process_arguments {
  cuda::device_batch_view batch;
  const value_moments* groups = nullptr;  // per group, over the step rewards
  float* advantages = nullptr;
  std::uint8_t* group_flags = nullptr;  // group_equal_rewards
  advantage_errors* errors = nullptr;
  double epsilon = 0.0;
  bool unbiased_std = true;
};

// Process supervision: one block per sequence, a reverse running sum of normalised step rewards.
template <int Threads, int Items>
__global__ void __launch_bounds__(Threads) process_advantages(process_arguments args) {
  __shared__ typename cub::BlockScan<affine_map, Threads>::TempStorage storage;
  const auto& batch = args.batch;
  for (std::size_t s = blockIdx.x; s < batch.num_sequences; s += gridDim.x) {
    const std::size_t g = group_of(batch, s);
    const value_moments group = args.groups[g];
    if (threadIdx.x == 0 && s == static_cast<std::size_t>(batch.group_offsets[g]))
      args.group_flags[g] = group.all_equal() ? group_equal_rewards : 0;
    const double scale = group.standard_deviation(args.unbiased_std) + args.epsilon;
    const auto begin = static_cast<std::size_t>(batch.sequence_offsets[s]);
    const auto end = static_cast<std::size_t>(batch.sequence_offsets[s + 1]);
    const std::size_t completion = begin + static_cast<std::size_t>(batch.prompt_lengths[s]);
    bool bad = false, has_step = false;
    for (std::size_t t = begin + threadIdx.x; t < end; t += Threads) {
      if (!batch.step_ends[t]) continue;
      has_step = true;
      bad = bad || t < completion || !isfinite(batch.token_rewards[t]);
    }
    has_step = __syncthreads_or(has_step);
    if (__syncthreads_or(bad) || (!has_step && completion < end))
      if (threadIdx.x == 0) atomicMin(&args.errors->first_bad_steps, static_cast<unsigned long long>(s));
    reverse_affine_scan<Threads, Items>(
        begin, end, storage,
        [&](std::size_t t) {
          return affine_map{
              1.0, batch.step_ends[t] ? detail::normalized_step_reward(batch.token_rewards[t], group, scale) : 0.0};
        },
        [&](std::size_t t, double later_steps) {
          args.advantages[t] = batch.loss_mask[t] ? static_cast<float>(later_steps) : 0.0f;
        });
  }
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// Moments of segments [start(g), start(g + 1)) of the items, for g < segments, by CUB's
// segmented reduction (temporary storage allocated in stream order).
template <class Items = kernels::moments_of_item>
void launch_segment_moments(const Items& items, const kernels::segment_start& start, std::size_t segments,
                            kernels::value_moments* out, cudaStream_t stream) {
  const thrust::counting_iterator<std::int64_t> zero(0), one(1);
  const auto in = thrust::make_transform_iterator(zero, items);
  const auto begins = thrust::make_transform_iterator(zero, start);
  const auto ends = thrust::make_transform_iterator(one, start);
  std::size_t bytes = 0;
  RLFT_CUDA_CHECK(cub::DeviceSegmentedReduce::Reduce(nullptr, bytes, in, out, static_cast<std::int64_t>(segments),
                                                     begins, ends, kernels::merge_moments{}, kernels::no_values(),
                                                     stream));
  device_buffer<std::byte> temporary(bytes, stream);
  RLFT_CUDA_CHECK(cub::DeviceSegmentedReduce::Reduce(temporary.data(), bytes, in, out,
                                                     static_cast<std::int64_t>(segments), begins, ends,
                                                     kernels::merge_moments{}, kernels::no_values(), stream));
}

inline void launch_outcome_advantages(const kernels::outcome_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::outcome_advantages<threads>
      <<<grid_blocks(args.batch.num_sequences, threads / 32), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_count_loss_tokens(const device_batch_view& batch, double* loss_tokens, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::count_loss_tokens<threads>
      <<<grid_blocks(batch.num_sequences, threads / 32), threads, 0, stream>>>(batch, loss_tokens);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_opo_advantages(const kernels::group_baseline_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::opo_advantages<threads><<<grid_blocks(args.batch.num_sequences, threads / 32), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_passk_advantages(const kernels::group_baseline_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::passk_advantages<threads><<<grid_blocks(args.batch.num_sequences, threads / 32), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_add_normalized_component(const kernels::component_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::add_normalized_component<threads>
      <<<grid_blocks(args.batch.num_sequences, threads / 32), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_whiten_component_sums(const device_batch_view& batch, const double* sums,
                                         const kernels::value_moments* all, double epsilon,
                                         const std::uint8_t* group_flags, bool zero_equal_groups, float* advantages,
                                         cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::whiten_component_sums<threads><<<grid_blocks(batch.num_sequences, threads / 32), threads, 0, stream>>>(
      batch, sums, all, epsilon, group_flags, zero_equal_groups, advantages);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_discounted_advantages(const kernels::discount_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::discounted_advantages<threads, default_advantage_tuning.scan_items>
      <<<grid_blocks(args.batch.num_sequences, 1), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_whiten_advantages(const device_batch_view& batch, const kernels::value_moments* all,
                                     double epsilon, whitening_scale scale, const std::uint8_t* skipped,
                                     float* advantages, cudaStream_t stream) {
  kernels::whiten_advantages<<<grid_blocks(batch.num_sequences, 1), default_advantage_tuning.threads, 0, stream>>>(
      batch, all, epsilon, scale, skipped, advantages);
  RLFT_CUDA_CHECK_LAUNCH();
}

inline void launch_process_advantages(const kernels::process_arguments& args, cudaStream_t stream) {
  constexpr int threads = default_advantage_tuning.threads;
  kernels::process_advantages<threads, default_advantage_tuning.scan_items>
      <<<grid_blocks(args.batch.num_sequences, 1), threads, 0, stream>>>(args);
  RLFT_CUDA_CHECK_LAUNCH();
}

}  // namespace rlft::cuda
