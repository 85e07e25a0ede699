// Philox4x32-10 throughput on the CPU: uniform floats per second from rlft::fill_uniform and
// from one philox_stream drawn word by word, beside std::mt19937 with
// std::uniform_real_distribution (what a C++ user would write otherwise) in the same run.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "rlft/core/philox.hpp"

namespace {

void philox_fill_uniform(benchmark::State& state) {
  std::vector<float> out(static_cast<std::size_t>(state.range(0)));
  std::uint64_t stream = 0;
  for (auto _ : state) {
    rlft::fill_uniform(out, 42, stream++);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(philox_fill_uniform)->Arg(1 << 20);

void philox_stream_uniform(benchmark::State& state) {
  std::vector<float> out(static_cast<std::size_t>(state.range(0)));
  std::uint64_t stream = 0;
  for (auto _ : state) {
    rlft::philox_stream generator(42, stream++);
    for (float& x : out) x = generator.uniform();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(philox_stream_uniform)->Arg(1 << 20);

void mt19937_uniform_real(benchmark::State& state) {
  std::vector<float> out(static_cast<std::size_t>(state.range(0)));
  std::mt19937 generator(42);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (auto _ : state) {
    for (float& x : out) x = uniform(generator);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(mt19937_uniform_real)->Arg(1 << 20);

}  // namespace
