// One GRPO step's advantage and loss on the CPU: rlft::grpo_advantage plus
// rlft::clipped_surrogate_objective (value and dL/d(log-prob)) over 1,048,576 tokens in 4096
// ragged sequences (256 groups of 16), in R1-Zero's setting (ε 0.2, k3 KL with β = 0.001,
// sequence-mean-token-mean). The work is a few flops per byte, so the limit is memory
// traffic: the run also measures a plain copy of the same number of bytes (and of a buffer
// far larger than the last-level cache), and a straightforward scalar loop with std::exp as a
// C++ user would write it, so ns/token, GB/s and both ratios come from one run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/gspo_token_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"

#include "grpo_workload.hpp"

namespace {

using rlft_bench::bytes_per_token;
using rlft_bench::r1_objective;
using rlft_bench::sequences;
using rlft_bench::total_tokens;

const rlft::grpo_advantage& estimator = rlft_bench::r1_estimator;

struct workload {
  rlft::rollout_batch batch;
  std::vector<float> logprobs;
  std::vector<float> gradients;
};

workload make_workload() {
  auto w = rlft_bench::make_grpo_workload();
  return {std::move(w.batch), std::move(w.logprobs), std::vector<float>(total_tokens)};
}

workload& shared_workload() {
  static workload w = make_workload();
  return w;
}

// time_per_token (seconds, shown with an SI prefix: "4.1n" is 4.1 ns) and bytes per second
// (shown as "6.2G/s" for 6.2 GB/s).
void report(benchmark::State& state, double bytes_per_item) {
  const auto tokens = static_cast<double>(state.iterations()) * static_cast<double>(total_tokens);
  state.counters["time_per_token"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes"] = benchmark::Counter(tokens * bytes_per_item, benchmark::Counter::kIsRate);
}

void grpo_advantage_and_objective(benchmark::State& state) {
  auto& w = shared_workload();
  for (auto _ : state) {
    estimator(w.batch, w.batch.advantages());
    const auto result = r1_objective({.batch = w.batch, .sequence_count = sequences, .logprobs = w.logprobs},
                                     {.logprob_gradients = w.gradients});
    benchmark::DoNotOptimize(result);
    benchmark::ClobberMemory();
  }
  report(state, bytes_per_token);
}
BENCHMARK(grpo_advantage_and_objective)->UseRealTime()->Unit(benchmark::kMillisecond);

void grpo_advantage(benchmark::State& state) {
  auto& w = shared_workload();
  for (auto _ : state) {
    benchmark::DoNotOptimize(estimator(w.batch, w.batch.advantages()));
    benchmark::ClobberMemory();
  }
  report(state, 5.0);  // mask read, advantage written
}
BENCHMARK(grpo_advantage)->UseRealTime()->Unit(benchmark::kMillisecond);

void clipped_surrogate_objective(benchmark::State& state) {
  auto& w = shared_workload();
  estimator(w.batch, w.batch.advantages());
  for (auto _ : state) {
    const auto result = r1_objective({.batch = w.batch, .sequence_count = sequences, .logprobs = w.logprobs},
                                     {.logprob_gradients = w.gradients});
    benchmark::DoNotOptimize(result);
    benchmark::ClobberMemory();
  }
  report(state, 21.0);  // mask, advantage, three log-probs read; gradient written
}
BENCHMARK(clipped_surrogate_objective)->UseRealTime()->Unit(benchmark::kMillisecond);

void gspo_objective(benchmark::State& state) {
  auto& w = shared_workload();
  estimator(w.batch, w.batch.advantages());
  for (auto _ : state) {
    const auto result = rlft::gspo_objective{}({.batch = w.batch, .sequence_count = sequences, .logprobs = w.logprobs},
                                               {.logprob_gradients = w.gradients});
    benchmark::DoNotOptimize(result);
    benchmark::ClobberMemory();
  }
  report(state, 17.0);  // mask, advantage, two log-probs read; gradient written
}
BENCHMARK(gspo_objective)->UseRealTime()->Unit(benchmark::kMillisecond);

// The newer objectives with R1-Zero's KL term, as clipped_surrogate_objective above: the same
// 21 bytes per token.
template <class Objective>
void objective_with_kl(benchmark::State& state, Objective objective) {
  auto& w = shared_workload();
  estimator(w.batch, w.batch.advantages());
  objective.kl = r1_objective.kl;
  for (auto _ : state) {
    const auto result = objective({.batch = w.batch, .sequence_count = sequences, .logprobs = w.logprobs},
                                  {.logprob_gradients = w.gradients});
    benchmark::DoNotOptimize(result);
    benchmark::ClobberMemory();
  }
  report(state, 21.0);
}
BENCHMARK_CAPTURE(objective_with_kl, cispo_objective, rlft::cispo_objective{})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(objective_with_kl, sapo_objective, rlft::sapo_objective{})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(objective_with_kl, gmpo_objective, rlft::gmpo_objective{})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(objective_with_kl, gspo_token_objective, rlft::gspo_token_objective{})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void reinforce_plus_plus_advantage(benchmark::State& state) {
  auto& w = shared_workload();
  const rlft::reinforce_plus_plus_advantage reinforce{.kl = {.coefficient = 0.01}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(reinforce(w.batch, w.batch.advantages()));
    benchmark::ClobberMemory();
  }
  report(state, 17.0);  // mask, token rewards, two log-probs read; advantage written
}
BENCHMARK(reinforce_plus_plus_advantage)->UseRealTime()->Unit(benchmark::kMillisecond);

// The scalar loop a C++ user would write from TRL's formulas: std::exp, branches, no threads.
void scalar_reference_advantage_and_objective(benchmark::State& state) {
  auto& w = shared_workload();
  const auto& batch = w.batch;
  const auto rewards = batch.rewards().total();
  const auto mask = batch.loss_mask();
  const auto old = batch.old_logprobs(), ref = batch.ref_logprobs();
  const auto advantages = w.batch.advantages();
  for (auto _ : state) {
    for (std::size_t g = 0; g < batch.num_groups(); ++g) {
      double mean = 0.0, square = 0.0;
      const auto n = static_cast<double>(batch.group_size(g));
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) mean += rewards[s] / n;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) square += (rewards[s] - mean) * (rewards[s] - mean);
      const double scale = std::sqrt(square / (n - 1.0)) + 1e-4;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s)
        for (auto t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
          advantages[t] = mask[t] ? static_cast<float>((rewards[s] - mean) / scale) : 0.0f;
    }
    double loss = 0.0;
    for (std::size_t s = 0; s < sequences; ++s) {
      std::size_t tokens = 0;
      for (auto t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) tokens += mask[t];
      const double weight = 1.0 / (static_cast<double>(sequences) * static_cast<double>(tokens));
      for (auto t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) {
        if (!mask[t]) {
          w.gradients[t] = 0.0f;
          continue;
        }
        const float ratio = std::exp(w.logprobs[t] - old[t]);
        const float a = advantages[t];
        const float clipped = std::min(std::max(ratio, 0.8f), 1.2f);
        const bool use_clipped = -a * clipped > -a * ratio;
        const float delta = ref[t] - w.logprobs[t];
        const float kl = std::exp(delta) - delta - 1.0f;
        loss += weight * ((use_clipped ? -a * clipped : -a * ratio) + 0.001f * kl);
        w.gradients[t] = static_cast<float>(weight * ((use_clipped ? 0.0f : -a * ratio) - 0.001f * (std::exp(delta) - 1.0f)));
      }
    }
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  report(state, bytes_per_token);
}
BENCHMARK(scalar_reference_advantage_and_objective)->UseRealTime()->Unit(benchmark::kMillisecond);

// The memory floor: copying `bytes` (read + write) with every thread, as the kernels run.
void copy_bytes(benchmark::State& state, std::size_t bytes) {
  std::vector<char> from(bytes / 2, 1), to(bytes / 2, 0);
  constexpr std::size_t chunk = std::size_t{1} << 20;
  for (auto _ : state) {
    rlft::for_each_chunk(from.size(), chunk, [&](std::size_t, std::size_t first, std::size_t last) {
      std::memcpy(to.data() + first, from.data() + first, last - first);
    });
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(bytes),
                                               benchmark::Counter::kIsRate);
}

// As many bytes as one step moves (partly cache-resident, like the step's own data).
void memory_copy_same_bytes(benchmark::State& state) {
  copy_bytes(state, static_cast<std::size_t>(bytes_per_token * total_tokens));
}
BENCHMARK(memory_copy_same_bytes)->UseRealTime()->Unit(benchmark::kMillisecond);

// 512 MB: main memory alone.
void memory_copy_main_memory(benchmark::State& state) { copy_bytes(state, std::size_t{512} << 20); }
BENCHMARK(memory_copy_main_memory)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
