// Sampling pipelines on the device, one row of logits per thread-block cluster, drawing the
// token the CPU pipeline draws (rlft/sampling/): the same stage arithmetic in float (the
// element-wise stages' host-device formulas, temperature::scaled and the penalties'
// penalised), the same truncation rules, the same exponential race on the same Philox words
// (exponential_race.hpp).
//
// A pipeline is a short program of stages run against the row without materialising it:
//   - temperature and the penalties are element-wise: a candidate's value at stage s is its
//     logit pushed through the element-wise stages before s (the penalties look up how often
//     the token occurs in the row's history: a bitmap of the vocabulary and a hash table of
//     counts in shared memory);
//   - top-k, top-p and min-p become thresholds on the value at their stage (keep v >= θ,
//     or v − max >= log p for min-p, as the CPU compares); greedy fixes the token;
//   - the threshold of top-k is the k-th largest value and that of top-p the value at which
//     the mass of strictly larger candidates reaches p·S: both come out of a radix selection
//     on the values' ordered bit patterns, three passes of 11, 11 and 10 bits, counting
//     candidates (top-k) or adding their weights exp(v − max) in 2^-40 fixed point (top-p:
//     integer sums, so the result does not depend on the order of the additions);
//   - the draw is the exponential race: the candidate with the largest exp(v − m) / E_v,
//     E_v from word v % 4 of Philox block v / 4 of the row's stream, ties to the smaller id.
// No sort, and every pass reads the row once (from L2 after the first: 64 rows of 151936
// floats fit in an H200's L2). The cluster's blocks split the row; their partial results meet
// in distributed shared memory in rank order, so the result is the same from run to run.
//
// Against the CPU: the kept sets agree except where the CPU's double sums of float weights and
// the device's fixed-point sums straddle p·S (a relative difference of ~1e-12), and the
// winner agrees except where fused multiply-adds inside exp and log move the two largest keys
// across each other (see exponential_race.hpp): rare near-ties, which the tests identify.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cooperative_groups.h>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/elementary_functions.hpp"
#include "rlft/core/float_bits.hpp"
#include "rlft/core/host_device.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/sampling/exponential_race.hpp"
#include "rlft/sampling/max_and_flaws.hpp"
#include "rlft/sampling/penalties.hpp"
#include "rlft/sampling/sample_rows.hpp"
#include "rlft/sampling/temperature.hpp"

namespace rlft::kernels {

enum class stage_kind : std::uint8_t {
  temperature,
  repetition_penalty,
  presence_penalty,
  frequency_penalty,
  top_k,
  top_p,
  min_p,
  greedy,
};

struct sampling_stage {
  stage_kind kind = stage_kind::temperature;
  float parameter = 0.0f;      // T, θ, α, β or p
  float log_parameter = 0.0f;  // min-p: log p, computed on the host as the CPU computes it
  std::int64_t k = 0;          // top-k
};

inline constexpr int max_sampling_stages = 8;

struct sampling_program {
  sampling_stage stages[max_sampling_stages] = {};
  int count = 0;
  int first_penalty = max_sampling_stages;  // index of the first penalty stage (count if none)
};

// What went wrong with a row; code 0: nothing.
enum class row_fault : std::int32_t {
  none,
  bad_logit,             // index: the first NaN or +inf logit
  all_negative_infinity,
  processed_overflow,
  no_finite_candidate,
  history_out_of_range,  // index: the offending history token
  history_too_long,      // index: the history's length
};

struct row_status {
  row_fault fault;
  std::int64_t index;
};

struct sampling_arguments {
  const void* logits = nullptr;  // rows × vocabulary floats, or __nv_bfloat16 when `bfloat16`
  bool bfloat16 = false;
  std::size_t rows = 0;
  std::size_t vocabulary = 0;
  const std::int64_t* history_offsets = nullptr;  // null: no histories
  const token_id* history_tokens = nullptr;
  std::size_t max_history = 0;
  std::uint32_t hash_capacity = 0;  // a power of two >= 2·max_history, or 0 without penalties
  const sampling_key* keys = nullptr;
  std::uint64_t seed = 0;
  sampled_token* tokens = nullptr;
  row_status* statuses = nullptr;
  sampling_program program = {};
};

inline constexpr int radix_bins = 2048;  // 11 bits per round: 11 + 11 + 10 = 32


// Adds `amount` to the sum high · 2^32 + low with 32-bit additions only: add(word, value) adds
// and returns the word's previous value (atomicAdd on the device). The adds to a word are
// serialised, so each wrap-around of the low word is seen by exactly one of them, which carries
// it into the high word.
template <class Add>
RLFT_HOST_DEVICE void add_in_words(std::uint32_t& low, std::uint32_t& high, unsigned long long amount, Add&& add) {
  const auto low_part = static_cast<std::uint32_t>(amount);
  auto high_part = static_cast<std::uint32_t>(amount >> 32);
  if (low_part != 0) {
    const std::uint32_t before = add(low, low_part);
    if (before + low_part < before) ++high_part;  // the low word wrapped around
  }
  if (high_part != 0) add(high, high_part);
}

// The unsigned key that orders like the float (larger value, larger key) and back.
__device__ inline std::uint32_t value_key(float value) {
  return static_cast<std::uint32_t>(detail::ordered_key(detail::bits_of(value))) ^ 0x80000000u;
}
__device__ inline float key_value(std::uint32_t key) {
  return detail::float_of(static_cast<std::uint32_t>(detail::ordered_key(key ^ 0x80000000u)));
}

// The blocks of a cluster that share a row: combined results in rank order.
template <int Cluster>
struct row_team {
  __device__ unsigned rank() const {
    if constexpr (Cluster > 1) return cooperative_groups::this_cluster().block_rank();
    else return 0;
  }
  __device__ void sync() const {
    if constexpr (Cluster > 1) cooperative_groups::this_cluster().sync();
    else __syncthreads();
  }
  // The same object in block r's shared memory.
  template <class T>
  __device__ T* of_rank(T* local, unsigned r) const {
    if constexpr (Cluster > 1) return cooperative_groups::this_cluster().map_shared_rank(local, r);
    else return local;
  }
  // Combines one value per block (given by thread 0) over the cluster, in rank order; every
  // thread gets the result.
  template <class T, class Op>
  __device__ T combine(T value, T* slot, Op op) const {
    if (threadIdx.x == 0) *slot = value;
    sync();
    T result = *of_rank(slot, 0);
    for (unsigned r = 1; r < Cluster; ++r) result = op(result, *of_rank(slot, r));
    sync();  // the slots are reused
    return result;
  }
};

struct max_op {
  template <class T>
  __device__ T operator()(const T& a, const T& b) const { return a > b ? a : b; }
};
struct min_op {
  template <class T>
  __device__ T operator()(const T& a, const T& b) const { return a < b ? a : b; }
};
struct sum_op {
  template <class T>
  __device__ T operator()(const T& a, const T& b) const { return a + b; }
};

// A resolved truncation: how stage s filters the candidates.
enum class filter_kind : std::uint8_t { none, threshold, min_p, only };

template <int Threads, int Cluster, int QuadsInFlight>
struct row_sampler {
  static constexpr int bins_per_thread = radix_bins / Threads;
  static_assert(radix_bins % Threads == 0, "the radix bins must split evenly over the threads");
  using u64_reduce = cub::BlockReduce<unsigned long long, Threads>;
  using double_reduce = cub::BlockReduce<double, Threads>;
  using u64_scan = cub::BlockScan<unsigned long long, Threads>;

  struct shared_state {
    // A bin's amount is histogram_high · 2^32 + histogram_low. Shared memory has no 64-bit
    // atomic add (it compiles to a compare-and-swap loop, which serialises when many lanes of a
    // warp hit one bin); 32-bit adds are native, and a low word's wrap-around carries into the
    // high word (add_to_bin).
    std::uint32_t histogram_low[radix_bins];
    std::uint32_t histogram_high[radix_bins];
    union {
      typename u64_reduce::TempStorage u64;
      typename double_reduce::TempStorage f64;
      typename u64_scan::TempStorage scan;
    } temp;
    unsigned long long u64_slot;
    double f64_slot;
    unsigned long long found_digit, found_above;
    filter_kind filter[max_sampling_stages];
    float threshold[max_sampling_stages];  // threshold: v >= θ; min_p: the largest value
    std::int64_t only_token;

    __device__ unsigned long long bin_amount(int bin) const {
      return (static_cast<unsigned long long>(histogram_high[bin]) << 32) | histogram_low[bin];
    }
  };

  const sampling_arguments& args;
  shared_state& shared;
  std::uint32_t* bitmap;         // vocabulary bits: the token occurs in the history
  std::uint32_t* hash_keys;      // token + 1, 0 for an empty slot
  std::uint32_t* hash_counts;
  row_team<Cluster> team;
  std::size_t row;
  const void* logits;  // this row's
  std::size_t vocabulary;
  bool aligned;
  bool with_history;

  // Calls body(token, logit) for every entry of this block's share of the row, four
  // consecutive entries at a time (the quads of Philox blocks), QuadsInFlight quads loaded
  // before any is used so that enough loads are in flight.
  template <class Body>
  __device__ void for_each_quad(Body&& body) const {
    const std::size_t quads = (vocabulary + 3) / 4;
    constexpr std::size_t stride = std::size_t{Threads} * Cluster;
    for (std::size_t base = team.rank() * std::size_t{Threads} + threadIdx.x; base < quads;
         base += stride * QuadsInFlight) {
      float z[QuadsInFlight][4];
#pragma unroll
      for (int u = 0; u < QuadsInFlight; ++u) {
        const std::size_t q = base + u * stride;
        if (q >= quads) break;
        const std::size_t first = 4 * q;
        if (aligned && first + 4 <= vocabulary) {
          if (!args.bfloat16) {
            const float4 v = static_cast<const float4*>(logits)[q];
            z[u][0] = v.x, z[u][1] = v.y, z[u][2] = v.z, z[u][3] = v.w;
          } else {
            const uint2 v = static_cast<const uint2*>(logits)[q];
            const auto* pair = reinterpret_cast<const __nv_bfloat162*>(&v);
            const float2 a = __bfloat1622float2(pair[0]), b = __bfloat1622float2(pair[1]);
            z[u][0] = a.x, z[u][1] = a.y, z[u][2] = b.x, z[u][3] = b.y;
          }
        } else {
          for (int k = 0; k < 4; ++k) z[u][k] = first + k < vocabulary ? logit(first + k) : 0.0f;
        }
      }
#pragma unroll
      for (int u = 0; u < QuadsInFlight; ++u) {
        const std::size_t q = base + u * stride;
        if (q >= quads) break;
        body(q, z[u], static_cast<int>(vocabulary - 4 * q < 4 ? vocabulary - 4 * q : 4));
      }
    }
  }

  __device__ float logit(std::size_t token) const {
    return args.bfloat16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(logits)[token])
                         : static_cast<const float*>(logits)[token];
  }

  __device__ std::uint32_t history_count(std::uint32_t token) const {
    if (!((bitmap[token / 32] >> (token % 32)) & 1u)) return 0;
    const std::uint32_t mask = args.hash_capacity - 1;
    for (std::uint32_t slot = (token * 2654435761u) & mask;; slot = (slot + 1) & mask)
      if (hash_keys[slot] == token + 1) return hash_counts[slot];
  }

  // The value of `token` (raw logit z) at stage `limit`, or false when a filter before it
  // removes the token.
  __device__ bool value_at(std::uint32_t token, float z, int limit, float& value) const {
    const auto& program = args.program;
    float v = z;
    const std::uint32_t count = with_history && limit > program.first_penalty ? history_count(token) : 0;
    for (int s = 0; s < limit; ++s) {
      const sampling_stage& stage = program.stages[s];
      switch (stage.kind) {
        case stage_kind::temperature: v = temperature{stage.parameter}.scaled(v); break;
        case stage_kind::repetition_penalty:
          if (count > 0) v = repetition_penalty{stage.parameter}.penalised(v);
          break;
        case stage_kind::presence_penalty:
          if (count > 0) v = presence_penalty{stage.parameter}.penalised(v);
          break;
        case stage_kind::frequency_penalty:
          if (count > 0) v = frequency_penalty{stage.parameter}.penalised(v, count);
          break;
        default:
          switch (shared.filter[s]) {
            case filter_kind::threshold:
              if (!(v >= shared.threshold[s])) return false;
              break;
            case filter_kind::min_p:
              if (!(v - shared.threshold[s] >= stage.log_parameter)) return false;
              break;
            case filter_kind::only:
              if (token != shared.only_token) return false;
              break;
            case filter_kind::none: break;
          }
      }
    }
    value = v;
    return true;
  }

  // Calls body(token, value) for every candidate at stage `limit` in this block's share.
  template <class Body>
  __device__ void for_each_candidate(int limit, Body&& body) const {
    for_each_quad([&](std::size_t q, const float (&z)[4], int count) {
#pragma unroll
      for (int k = 0; k < 4 && k < count; ++k) {
        const auto token = static_cast<std::uint32_t>(4 * q + k);
        float value;
        if (value_at(token, z[k], limit, value)) body(token, value);
      }
    });
  }

  template <class Op>
  __device__ unsigned long long combine_u64(unsigned long long mine, Op op) {
    const unsigned long long block = u64_reduce(shared.temp.u64).Reduce(mine, op);
    __syncthreads();
    return team.combine(block, &shared.u64_slot, op);
  }

  __device__ double combine_sum(double mine) {
    const double block = double_reduce(shared.temp.f64).Sum(mine);
    __syncthreads();
    return team.combine(block, &shared.f64_slot, sum_op{});
  }

  // Largest value and number of candidates at stage `limit`.
  __device__ void max_and_count(int limit, float& largest, unsigned long long& count) {
    unsigned long long best = value_key(-INFINITY), seen = 0;
    for_each_candidate(limit, [&](std::uint32_t, float v) {
      best = max_op{}(best, static_cast<unsigned long long>(value_key(v)));
      ++seen;
    });
    largest = key_value(static_cast<std::uint32_t>(combine_u64(best, max_op{})));
    count = combine_u64(seen, sum_op{});
  }

  // Adds `amount` to a bin. A candidate's amount is at most 2^40, so its high word plus a carry
  // is at most 257: a high word holds the bin's sum while a block's share of the row has fewer
  // than 2^24 candidates (the vocabulary is far below that).
  __device__ void add_to_bin(std::uint32_t bin, unsigned long long amount) {
    add_in_words(shared.histogram_low[bin], shared.histogram_high[bin], amount,
                 [](std::uint32_t& word, std::uint32_t value) { return atomicAdd(&word, value); });
  }

  // Radix selection of the key at which the amount of candidates from the top first reaches
  // `target`: amount 1 per candidate and target k (top-k's k-th largest value), or the
  // candidate's fixed-point weight and target fraction × total (top-p; the total is known
  // after the first round). Returns the key's value.
  template <class Amount>
  __device__ float select_threshold(int limit, Amount amount, double target, double fraction) {
    std::uint32_t prefix = 0, prefix_mask = 0;
    unsigned long long above_total = 0;
    for (int round = 0; round < 3; ++round) {
      for (int b = threadIdx.x; b < radix_bins; b += Threads) shared.histogram_low[b] = shared.histogram_high[b] = 0;
      __syncthreads();
      // Bits 31–21, 20–10, 9–0 (computed, not looked up: a table indexed by the round would
      // live in local memory).
      const int shift = round == 0 ? 21 : round == 1 ? 10 : 0;
      const std::uint32_t digit_mask = round == 2 ? 0x3ffu : 0x7ffu;
      for_each_candidate(limit, [&](std::uint32_t, float v) {
        const std::uint32_t key = value_key(v);
        if ((key & prefix_mask) == prefix) add_to_bin((key >> shift) & digit_mask, amount(v));
      });
      team.sync();  // every block's histogram is complete
      // Thread t holds the bins at descending positions t·n ... t·n + n − 1 (bin 2047 first),
      // each summed over the cluster in rank order.
      unsigned long long mine[bins_per_thread], thread_sum = 0;
      for (int j = 0; j < bins_per_thread; ++j) {
        const int bin = radix_bins - 1 - (static_cast<int>(threadIdx.x) * bins_per_thread + j);
        unsigned long long total = 0;
        for (unsigned r = 0; r < Cluster; ++r) total += team.of_rank(&shared, r)->bin_amount(bin);
        mine[j] = total;
        thread_sum += total;
      }
      unsigned long long before = 0, all = 0;
      u64_scan(shared.temp.scan).ExclusiveSum(thread_sum, before, all);
      if (round == 0 && fraction > 0.0) target = fraction * static_cast<double>(all);
      // Rounding may put a mass target past the total: the last non-empty bin holds it then.
      const double whole = static_cast<double>(above_total + all);
      const double reach = target < whole ? target : whole;
      for (int j = 0; j < bins_per_thread; ++j) {
        const unsigned long long start = above_total + before;
        if (mine[j] > 0 && static_cast<double>(start) < reach && reach <= static_cast<double>(start + mine[j])) {
          shared.found_digit =
              static_cast<unsigned long long>(radix_bins - 1 - (static_cast<int>(threadIdx.x) * bins_per_thread + j));
          shared.found_above = before;
        }
        before += mine[j];
      }
      team.sync();  // the digit is known, and no block reads another's histogram any more
      above_total += shared.found_above;
      prefix |= static_cast<std::uint32_t>(shared.found_digit) << shift;
      prefix_mask |= digit_mask << shift;
      __syncthreads();  // found_digit is rewritten in the next round
    }
    return key_value(prefix);
  }

  __device__ void resolve(int stage, filter_kind kind, float threshold) {
    if (threadIdx.x == 0) {
      shared.filter[stage] = kind;
      shared.threshold[stage] = threshold;
    }
    __syncthreads();
  }

  __device__ void finish(row_fault fault, std::int64_t index, const sampled_token& token = {}) const {
    if (team.rank() != 0 || threadIdx.x != 0) return;
    args.statuses[row] = {fault, index};
    if (fault == row_fault::none) args.tokens[row] = token;
  }

  // Counts the history's tokens into the bitmap and the hash table; false (with the row's
  // status written) when the history is too long or holds a token outside the vocabulary.
  __device__ bool load_history() {
    const auto begin = static_cast<std::size_t>(args.history_offsets[row]);
    const auto end = static_cast<std::size_t>(args.history_offsets[row + 1]);
    if (begin == end) return true;
    if (end - begin > args.max_history) {
      finish(row_fault::history_too_long, static_cast<std::int64_t>(end - begin));
      return false;
    }
    const std::size_t words = (vocabulary + 31) / 32;
    for (std::size_t i = threadIdx.x; i < words; i += Threads) bitmap[i] = 0;
    for (std::size_t i = threadIdx.x; i < args.hash_capacity; i += Threads) hash_keys[i] = hash_counts[i] = 0;
    __syncthreads();
    const std::uint32_t mask = args.hash_capacity - 1;
    long long lowest = 0x7fffffffll, highest = -1;
    for (std::size_t h = begin + threadIdx.x; h < end; h += Threads) {
      const token_id token = args.history_tokens[h];
      lowest = min_op{}(lowest, static_cast<long long>(token));
      highest = max_op{}(highest, static_cast<long long>(token));
      if (token < 0 || static_cast<std::size_t>(token) >= vocabulary) continue;
      const auto id = static_cast<std::uint32_t>(token);
      atomicOr(&bitmap[id / 32], 1u << (id % 32));
      for (std::uint32_t slot = (id * 2654435761u) & mask;; slot = (slot + 1) & mask) {
        const std::uint32_t previous = atomicCAS(&hash_keys[slot], 0u, id + 1);
        if (previous == 0u || previous == id + 1) {
          atomicAdd(&hash_counts[slot], 1u);
          break;
        }
      }
    }
    // Offsets keep the extremes non-negative for the unsigned reductions.
    constexpr long long offset = 0x80000000ll;
    const long long low = static_cast<long long>(u64_reduce(shared.temp.u64).Reduce(
                              static_cast<unsigned long long>(lowest + offset), min_op{})) - offset;
    __syncthreads();
    const long long high = static_cast<long long>(u64_reduce(shared.temp.u64).Reduce(
                               static_cast<unsigned long long>(highest + offset), max_op{})) - offset;
    if (threadIdx.x == 0) shared.u64_slot = static_cast<unsigned long long>(low < 0 ? low + offset : high + offset);
    __syncthreads();
    const long long reported = static_cast<long long>(shared.u64_slot) - offset;
    __syncthreads();
    if (reported < 0 || reported >= static_cast<long long>(vocabulary)) {
      // Every block of the cluster saw the whole history and decides alike.
      finish(row_fault::history_out_of_range, reported);
      return false;
    }
    return true;
  }

  // What the stages leave for the draw: the largest candidate value and the number of
  // candidates at the current stage (each only while known), and whether greedy chose the token.
  struct stage_walk {
    float largest;
    bool largest_known;
    unsigned long long count;
    bool count_known;
    bool fixed;
  };

  // The exponential race's sums and winner, combined over the cluster.
  struct race_result {
    double raw_total;           // Σ exp(z − raw maximum) over the row
    double total;               // Σ exp(v − shift) over the candidates
    unsigned long long winner;  // the largest race key · 2^32 + (0xffffffff − token)
  };

  // run() and its steps are force-inlined: the compiler may leave a body this long a call, and
  // a step left a call takes the shared state through a generic pointer (its shared-memory
  // atomics become generic ones) and the locals passed to it by reference to local memory.
  __device__ __forceinline__ void run() {
    if (threadIdx.x < max_sampling_stages) shared.filter[threadIdx.x] = filter_kind::none;
    float raw_max = 0.0f;
    if (!check_raw_row(raw_max) || !read_history()) return;
    stage_walk walk = walk_stages(raw_max);
    draw(raw_max, walk);
  }

  // 1. The raw row: no NaN or +inf, not all −inf (detail::checked_row_max); its maximum. False,
  // with the row's status written, for a bad row.
  __device__ __forceinline__ bool check_raw_row(float& raw_max) {
    unsigned long long first_bad = ~0ull, best = value_key(-INFINITY);
    for_each_quad([&](std::size_t q, const float (&z)[4], int count) {
#pragma unroll
      for (int k = 0; k < 4 && k < count; ++k) {
        const std::uint32_t bits = detail::bits_of(z[k]);
        if (detail::is_nan_or_positive_infinity(bits))
          first_bad = min_op{}(first_bad, static_cast<unsigned long long>(4 * q + k));
        best = max_op{}(best, static_cast<unsigned long long>(value_key(z[k])));
      }
    });
    first_bad = combine_u64(first_bad, min_op{});
    if (first_bad != ~0ull) {
      finish(row_fault::bad_logit, static_cast<std::int64_t>(first_bad));
      return false;
    }
    raw_max = key_value(static_cast<std::uint32_t>(combine_u64(best, max_op{})));
    if (raw_max == -INFINITY) {
      finish(row_fault::all_negative_infinity, 0);
      return false;
    }
    return true;
  }

  // 2. The history, when a penalty stage reads it. False, with the row's status written, for a
  // bad history.
  __device__ __forceinline__ bool read_history() {
    const sampling_program& program = args.program;
    if (program.first_penalty < program.count && args.history_offsets) {
      if (!load_history()) return false;
      with_history = args.history_offsets[row + 1] > args.history_offsets[row];
    }
    return true;
  }

  // 3. The stages, in order: truncations become filters on the value at their stage.
  __device__ __forceinline__ stage_walk walk_stages(float raw_max) {
    const sampling_program& program = args.program;
    stage_walk walk{
        .largest = raw_max, .largest_known = true, .count = vocabulary, .count_known = true, .fixed = false};
    for (int s = 0; s < program.count && !walk.fixed; ++s) {
      const sampling_stage& stage = program.stages[s];
      switch (stage.kind) {
        case stage_kind::temperature:
          // Division by a positive number is monotone: the maximum moves with the values.
          walk.largest = temperature{stage.parameter}.scaled(walk.largest);
          break;
        case stage_kind::repetition_penalty:
        case stage_kind::presence_penalty:
        case stage_kind::frequency_penalty: walk.largest_known = false; break;
        case stage_kind::min_p: resolve_min_p(s, walk); break;
        case stage_kind::top_k: resolve_top_k(s, stage.k, walk); break;
        case stage_kind::top_p: resolve_top_p(s, stage.parameter, walk); break;
        case stage_kind::greedy: resolve_greedy(s, walk); break;
      }
    }
    return walk;
  }

  // The largest value and the number of candidates at stage s, counted.
  __device__ __forceinline__ void measure(int s, stage_walk& walk) {
    max_and_count(s, walk.largest, walk.count);
    walk.largest_known = walk.count_known = true;
  }

  // min-p: keep v − largest >= log p.
  __device__ __forceinline__ void resolve_min_p(int s, stage_walk& walk) {
    if (!walk.largest_known) measure(s, walk);
    resolve(s, filter_kind::min_p, walk.largest);
    walk.count_known = false;
  }

  // top-k: keep v >= the k-th largest value.
  __device__ __forceinline__ void resolve_top_k(int s, std::int64_t k, stage_walk& walk) {
    if (!walk.count_known) measure(s, walk);
    if (static_cast<unsigned long long>(k) >= walk.count) return;
    const float threshold = select_threshold(s, [](float) { return 1ull; }, static_cast<double>(k), 0.0);
    resolve(s, filter_kind::threshold, threshold);
    walk.count_known = false;
  }

  // top-p: keep v >= the value at which the weights of the larger candidates reach p·S.
  __device__ __forceinline__ void resolve_top_p(int s, float p, stage_walk& walk) {
    if (!walk.largest_known || !walk.count_known) measure(s, walk);
    if (walk.count <= 1) return;
    const float shift = walk.largest;
    const float threshold = select_threshold(
        s, [shift](float v) { return __float2ull_rn(detail::exp_nonpositive(v - shift) * 0x1p40f); }, 0.0,
        static_cast<double>(p));
    resolve(s, filter_kind::threshold, threshold);
    walk.count_known = false;
  }

  // greedy: the largest value, the smaller id among equals, is the only candidate left.
  __device__ __forceinline__ void resolve_greedy(int s, stage_walk& walk) {
    unsigned long long choice = 0;
    for_each_candidate(s, [&](std::uint32_t token, float v) {
      choice = max_op{}(choice, (static_cast<unsigned long long>(value_key(v)) << 32) | (0xffffffffu - token));
    });
    choice = combine_u64(choice, max_op{});
    if (threadIdx.x == 0) shared.only_token = 0xffffffffu - static_cast<std::uint32_t>(choice & 0xffffffffu);
    resolve(s, filter_kind::only, 0.0f);
    walk.fixed = true;
  }

  // 4. The draw: the exponential race over the candidates at the end of the pipeline.
  __device__ __forceinline__ void draw(float raw_max, stage_walk& walk) {
    const sampling_key key = args.keys[row];
    const philox_stream rng(args.seed, key.sequence, key.step);
    if (!walk.fixed && !walk.largest_known) max_and_count(args.program.count, walk.largest, walk.count);
    if (!walk.fixed && walk.largest == -INFINITY) return finish(row_fault::no_finite_candidate, 0);
    if (!walk.fixed && !isfinite(walk.largest)) return finish(row_fault::processed_overflow, 0);
    const race_result race = run_race(rng, raw_max, walk.largest, walk.fixed);
    if (team.rank() != 0 || threadIdx.x != 0) return;
    report(raw_max, walk.largest, walk.fixed, race);
  }

  // Every candidate's race key exp(v − shift) / E from `rng` (none after greedy) and the raw
  // row's normaliser, in one pass over the row.
  __device__ __forceinline__ race_result run_race(const philox_stream& rng, float raw_max, float shift, bool fixed) {
    double total = 0.0, raw_total = 0.0;
    unsigned long long race = 0;
    for_each_quad([&](std::size_t q, const float (&z)[4], int n) {
      float values[4];
      bool candidate[4], any = false;
#pragma unroll
      for (int k = 0; k < 4 && k < n; ++k) {
        raw_total += detail::exp_nonpositive(z[k] - raw_max);
        candidate[k] = !fixed && value_at(static_cast<std::uint32_t>(4 * q + k), z[k], args.program.count, values[k]);
        any = any || candidate[k];
      }
      if (!any) return;
      const philox_block words = rng.block(static_cast<std::uint32_t>(q));
#pragma unroll
      for (int k = 0; k < 4 && k < n; ++k) {
        if (!candidate[k]) continue;
        const float weight = detail::exp_nonpositive(values[k] - shift);
        total += weight;
        const std::uint32_t race_key = detail::bits_of(weight / exponential_variate(words.words[k]));
        const auto token = static_cast<std::uint32_t>(4 * q + k);
        race = max_op{}(race, (static_cast<unsigned long long>(race_key) << 32) | (0xffffffffu - token));
      }
    });
    race_result result;
    result.raw_total = combine_sum(raw_total);
    result.total = combine_sum(total);
    result.winner = combine_u64(race, max_op{});
    return result;
  }

  // The row's token and log-probabilities (or its fault), from thread 0 of rank 0.
  __device__ __forceinline__ void report(float raw_max, float shift, bool fixed, const race_result& race) const {
    const auto token = static_cast<std::uint32_t>(
        fixed ? shared.only_token : 0xffffffffu - static_cast<std::uint32_t>(race.winner & 0xffffffffu));
    const float z = logit(token);
    float value = 0.0f;
    value_at(token, z, args.program.count, value);
    if (fixed && value == -INFINITY) return finish(row_fault::no_finite_candidate, 0);
    if (fixed && !isfinite(value)) return finish(row_fault::processed_overflow, 0);
    // As detail::run_exponential_race and detail::sample_through: after greedy one candidate
    // remains, whose log-probability is log(1) = 0.
    const double logprob = fixed ? 0.0 : static_cast<double>(value - shift) - log(race.total);
    const double raw_logprob = static_cast<double>(z - raw_max) - log(race.raw_total);
    finish(row_fault::none, 0,
           {.token = static_cast<token_id>(token),
            .logprob = static_cast<float>(logprob),
            .raw_logprob = static_cast<float>(raw_logprob)});
  }
};

template <int Threads, int Cluster, int QuadsInFlight, int BlocksPerSm>
__global__ void __launch_bounds__(Threads, BlocksPerSm) sample_rows(sampling_arguments args) {
  using sampler = row_sampler<Threads, Cluster, QuadsInFlight>;
  __shared__ typename sampler::shared_state shared;
  extern __shared__ std::uint32_t history_tables[];  // bitmap, hash keys, hash counts
  const std::size_t row = blockIdx.x / Cluster;
  const std::size_t words = (args.vocabulary + 31) / 32;
  const std::size_t element = args.bfloat16 ? sizeof(__nv_bfloat16) : sizeof(float);
  const void* logits = static_cast<const unsigned char*>(args.logits) + row * args.vocabulary * element;
  sampler state{.args = args,
                .shared = shared,
                .bitmap = history_tables,
                .hash_keys = history_tables + words,
                .hash_counts = history_tables + words + args.hash_capacity,
                .team = {},
                .row = row,
                .logits = logits,
                .vocabulary = args.vocabulary,
                .aligned = reinterpret_cast<std::uintptr_t>(logits) % (4 * element) == 0,
                .with_history = false};
  state.run();
}

}  // namespace rlft::kernels

// ---------------------------------------------------------------------------------------------
// launchers

namespace rlft::cuda {

// Launch shape of the samplers: `cluster` blocks of `threads` share a row. Clusters of more
// than 8 blocks are beyond the portable size (an H200 runs 16). The default is the shape
// measured on an H200 (top-p over 64 × 151936, bench/RESULTS.md); the sample_top_p_shape
// benchmarks time the alternatives.
struct sampling_tuning {
  int threads = 512;
  int cluster = 4;
  int quads_in_flight = 4;  // float4 (or 4 × bf16) loads each thread issues before using them
  // Blocks an SM must be able to hold at once: more caps the registers per thread (65536 /
  // (threads · blocks)), trading spills for occupancy; unconstrained, the kernel uses no local
  // memory (ptxas -v).
  int blocks_per_sm = 1;
};
inline constexpr sampling_tuning default_sampling_tuning{};

// The dynamic shared memory of a launch: the vocabulary bitmap and the history hash table.
inline std::size_t sampling_history_bytes(std::size_t vocabulary, std::uint32_t hash_capacity) {
  return hash_capacity == 0 ? 0 : ((vocabulary + 31) / 32 + 2 * std::size_t{hash_capacity}) * sizeof(std::uint32_t);
}

// The hash table's size for histories of up to max_history tokens: a power of two at least
// twice as large (short probe runs), 0 when no penalty reads the histories.
inline std::uint32_t sampling_hash_capacity(std::size_t max_history, bool penalties) {
  if (!penalties || max_history == 0) return 0;
  std::uint32_t capacity = 32;
  while (capacity < 2 * max_history) capacity *= 2;
  return capacity;
}

template <sampling_tuning tuning = default_sampling_tuning>
void launch_sampling_kernel(const kernels::sampling_arguments& args, cudaStream_t stream) {
  static_assert(tuning.threads % 32 == 0 && tuning.threads <= 1024 && tuning.cluster >= 1 && tuning.cluster <= 16 &&
                tuning.blocks_per_sm >= 1 && tuning.threads * tuning.blocks_per_sm <= 2048);
  if (args.rows == 0) return;
  const auto kernel = kernels::sample_rows<tuning.threads, tuning.cluster, tuning.quads_in_flight, tuning.blocks_per_sm>;
  if constexpr (tuning.cluster > 8)
    RLFT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  const std::size_t dynamic = sampling_history_bytes(args.vocabulary, args.hash_capacity);
  if (dynamic > 0) {  // the penalties' tables: queried per launch, as the device may have changed
    int device = 0, optin = 0;
    RLFT_CUDA_CHECK(cudaGetDevice(&device));
    RLFT_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    cudaFuncAttributes attributes{};
    RLFT_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    if (attributes.sharedSizeBytes + dynamic > static_cast<std::size_t>(optin))
      throw error(rlft::detail::make_message("sample_rows: the penalties' tables for a vocabulary of ", args.vocabulary,
                                             " and histories of up to ", args.max_history, " tokens need ", dynamic,
                                             " bytes of shared memory; this device offers ",
                                             optin - static_cast<int>(attributes.sharedSizeBytes)));
    RLFT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(dynamic)));
  }
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(args.rows * tuning.cluster));
  config.blockDim = dim3(tuning.threads);
  config.dynamicSmemBytes = dynamic;
  config.stream = stream;
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = tuning.cluster;
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  config.attrs = &cluster;
  config.numAttrs = tuning.cluster > 1 ? 1 : 0;
  RLFT_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, args));
}

}  // namespace rlft::cuda
