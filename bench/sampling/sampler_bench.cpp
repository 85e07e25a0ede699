// Samplers on a batch of 64 rows × 151936 logits (Qwen2.5's vocabulary), the workload of one
// decoding step of 64 sequences, timed through rlft::sample_rows (wall clock; rows spread over
// OMP_NUM_THREADS threads). Beside them in the same run: top-p through a full sort of every row
// (what PyTorch users write: sort, cumulative softmax, cut, draw), the reference the partial
// selection of rlft::top_p must beat, and one plain read of all the logits, the floor.
//
// Two kinds of rows: "peaked" rows look like a language model's (64 plausible tokens 10 to 16
// nats above a Gaussian background of the whole vocabulary, so the 95% nucleus holds a few
// dozen tokens) and "flat" rows (standard normal logits; the nucleus holds most of the
// vocabulary), the worst case for truncation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rlft/rlft.hpp"

namespace {

constexpr std::size_t rows = 64;
constexpr std::size_t vocabulary = 151936;

enum class row_shape { peaked, flat };

std::vector<float> make_logits(row_shape shape) {
  std::vector<float> uniforms(rows * vocabulary * 2);
  rlft::fill_uniform(uniforms, 2026, 0);
  std::vector<float> logits(rows * vocabulary);
  for (std::size_t i = 0; i < logits.size(); ++i) {  // Box–Muller
    const double radius = std::sqrt(-2.0 * std::log(1.0 - static_cast<double>(uniforms[2 * i])));
    logits[i] = static_cast<float>(radius * std::cos(6.283185307179586 * uniforms[2 * i + 1]));
  }
  if (shape == row_shape::peaked) {
    rlft::philox_stream rng(2026, 1);
    for (std::size_t r = 0; r < rows; ++r) {
      float* row = logits.data() + r * vocabulary;
      for (std::size_t i = 0; i < vocabulary; ++i) row[i] *= 2.0f;
      for (int head = 0; head < 64; ++head) row[rng() % vocabulary] += 10.0f + 6.0f * rng.uniform();
    }
  }
  return logits;
}

const std::vector<float>& logits_of(row_shape shape) {
  static const std::vector<float> peaked = make_logits(row_shape::peaked);
  static const std::vector<float> flat = make_logits(row_shape::flat);
  return shape == row_shape::peaked ? peaked : flat;
}

// 256 tokens of history per row for the penalties.
const rlft::token_sequences& histories() {
  static const rlft::token_sequences sequences = [] {
    rlft::token_sequences result;
    rlft::philox_stream rng(7, 7);
    std::vector<rlft::token_id> history(256);
    for (std::size_t r = 0; r < rows; ++r) {
      for (auto& token : history) token = static_cast<rlft::token_id>(rng() % vocabulary);
      result.push_back(history);
    }
    return result;
  }();
  return sequences;
}

// items = rows; bytes = the logits read once.
void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(rows * vocabulary * sizeof(float)));
}

// The floor: one pass reading every logit of the batch (a sum), rows across the same threads.
void read_logits_once(benchmark::State& state) {
  const auto& logits = logits_of(row_shape::flat);
  std::vector<float> sums(rows);
  for (auto _ : state) {
    rlft::parallel_for(rows, [&](std::size_t r) {
      float lanes[16] = {};
      const float* row = logits.data() + r * vocabulary;
      for (std::size_t i = 0; i + 16 <= vocabulary; i += 16)
        for (std::size_t l = 0; l < 16; ++l) lanes[l] += row[i + l];
      float sum = 0.0f;
      for (const float lane : lanes) sum += lane;
      sums[r] = sum;
    });
    benchmark::DoNotOptimize(sums.data());
  }
  report(state);
}
BENCHMARK(read_logits_once)->UseRealTime();

template <class Sampler>
void sample_batch(benchmark::State& state, Sampler sampler, row_shape shape) {
  const auto& logits = logits_of(shape);
  std::vector<rlft::sampling_key> keys(rows);
  std::vector<rlft::sampled_token> tokens(rows);
  std::uint32_t step = 0;
  for (auto _ : state) {
    for (std::size_t r = 0; r < rows; ++r) keys[r] = {.sequence = r, .step = step};
    ++step;
    rlft::sample_rows(sampler, logits, vocabulary, histories(), keys, 42, tokens);
    benchmark::DoNotOptimize(tokens.data());
  }
  report(state);
}

// Top-p the sorting way: sort the row by decreasing probability, accumulate, cut at p, draw
// one uniform against the cumulative mass of the kept prefix.
rlft::sampled_token sort_top_p(std::span<const float> logits, float top, rlft::philox_stream& rng,
                               std::vector<std::int32_t>& order, std::vector<double>& cumulative) {
  order.resize(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b]; });
  const float shift = logits[order[0]];
  cumulative.resize(logits.size());
  double total = 0.0;
  for (std::size_t i = 0; i < order.size(); ++i) cumulative[i] = total += std::exp(logits[order[i]] - shift);
  std::size_t kept = 1;
  while (kept < order.size() && cumulative[kept - 1] < top * total) ++kept;
  const double target = rng.uniform() * cumulative[kept - 1];
  const auto chosen = static_cast<std::size_t>(
      std::upper_bound(cumulative.begin(), cumulative.begin() + static_cast<std::ptrdiff_t>(kept), target) -
      cumulative.begin());
  const std::size_t index = std::min(chosen, kept - 1);
  const auto token = order[index];
  const double weight = std::exp(logits[token] - shift);
  return {.token = token,
          .logprob = static_cast<float>(std::log(weight / cumulative[kept - 1])),
          .raw_logprob = static_cast<float>(std::log(weight / total))};
}

void full_sort_top_p(benchmark::State& state, row_shape shape) {
  const auto& logits = logits_of(shape);
  std::vector<rlft::sampled_token> tokens(rows);
  std::uint32_t step = 0;
  for (auto _ : state) {
    rlft::parallel_for(rows, [&](std::size_t r) {
      thread_local std::vector<std::int32_t> order;
      thread_local std::vector<double> cumulative;
      rlft::philox_stream rng(42, r, step);
      tokens[r] = sort_top_p(std::span(logits).subspan(r * vocabulary, vocabulary), 0.95f, rng, order, cumulative);
    });
    ++step;
    benchmark::DoNotOptimize(tokens.data());
  }
  report(state);
}

using rlft::categorical, rlft::greedy, rlft::min_p, rlft::temperature, rlft::top_k, rlft::top_p;

#define RLFT_SAMPLER_BENCHMARK(name, sampler, shape) \
  BENCHMARK_CAPTURE(sample_batch, name##_##shape, sampler, row_shape::shape)->UseRealTime()

#define RLFT_SAMPLER_BENCHMARKS(shape)                                                         \
  RLFT_SAMPLER_BENCHMARK(categorical, categorical{}, shape);                                   \
  RLFT_SAMPLER_BENCHMARK(greedy, greedy{}, shape);                                             \
  RLFT_SAMPLER_BENCHMARK(temperature_0_6, temperature{0.6f}, shape);                           \
  RLFT_SAMPLER_BENCHMARK(top_k_50, top_k{50}, shape);                                          \
  RLFT_SAMPLER_BENCHMARK(top_p_0_95, top_p{0.95f}, shape);                                     \
  RLFT_SAMPLER_BENCHMARK(min_p_0_05, min_p{0.05f}, shape);                                     \
  RLFT_SAMPLER_BENCHMARK(repetition_penalty_1_1, rlft::repetition_penalty{1.1f}, shape);       \
  RLFT_SAMPLER_BENCHMARK(presence_penalty_0_5, rlft::presence_penalty{0.5f}, shape);           \
  RLFT_SAMPLER_BENCHMARK(frequency_penalty_0_5, rlft::frequency_penalty{0.5f}, shape);         \
  RLFT_SAMPLER_BENCHMARK(temperature_0_6_top_p_0_95, temperature{0.6f} | top_p{0.95f}, shape); \
  BENCHMARK_CAPTURE(full_sort_top_p, full_sort_top_p_0_95_##shape, row_shape::shape)->UseRealTime()

RLFT_SAMPLER_BENCHMARKS(peaked);
RLFT_SAMPLER_BENCHMARKS(flat);

}  // namespace
