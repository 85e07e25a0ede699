// rlft::tokenizer encode throughput, one thread and across threads, on the documents and the
// Qwen2.5-shaped tokenizer that bench/text/tokenizers_peer.py prepares; bench/run_tokenizer_bench
// runs it beside Hugging Face `tokenizers` on the same text. The directory comes from the
// environment variable RLFT_TOKENIZER_BENCH_DIR. The ids' checksum is reported as a counter so
// that the two runs are seen to produce the same tokens.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "rlft/text/tokenizer.hpp"

namespace {

struct workload {
  rlft::tokenizer tokenizer;
  std::vector<std::string> documents;
  std::size_t bytes = 0;
};

const workload& bench_workload() {
  static const workload loaded = [] {
    const char* directory = std::getenv("RLFT_TOKENIZER_BENCH_DIR");
    if (directory == nullptr)
      throw std::runtime_error("set RLFT_TOKENIZER_BENCH_DIR (bench/text/tokenizers_peer.py prepare DIR)");
    workload w{rlft::tokenizer::from_directory(directory), {}, 0};
    std::ifstream lines(std::string(directory) + "/documents.jsonl");
    for (std::string line; std::getline(lines, line);) {
      w.documents.push_back(nlohmann::json::parse(line).get<std::string>());
      w.bytes += w.documents.back().size();
    }
    if (w.documents.empty()) throw std::runtime_error("no documents in documents.jsonl");
    return w;
  }();
  return loaded;
}

// The arithmetic of checksum() in tokenizers_peer.py.
template <class Sequences>
std::uint64_t checksum(const Sequences& sequences) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < sequences.size(); ++i)
    for (std::size_t position = 0, size = sequences[i].size(); position < size; ++position)
      total = total * 1000003u + static_cast<std::uint64_t>(sequences[i][position]) * 31u + position;
  return total;
}

void report(benchmark::State& state, std::size_t tokens, std::uint64_t sum) {
  const auto& w = bench_workload();
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * w.bytes));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens),
                                                  benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  // Split in two so that a double holds it exactly.
  state.counters["checksum_high"] = static_cast<double>(sum >> 32);
  state.counters["checksum_low"] = static_cast<double>(sum & 0xFFFFFFFFu);
}

// One document after another on the calling thread.
void encode_one_thread(benchmark::State& state) {
  const auto& w = bench_workload();
  std::vector<std::vector<rlft::token_id>> encoded(w.documents.size());
  for (auto _ : state)
    for (std::size_t i = 0; i < w.documents.size(); ++i) encoded[i] = w.tokenizer.encode(w.documents[i], false);
  std::size_t tokens = 0;
  for (const auto& ids : encoded) tokens += ids.size();
  report(state, tokens, checksum(encoded));
}
BENCHMARK(encode_one_thread)->Unit(benchmark::kMillisecond)->UseRealTime();

// encode_batch over `threads` OpenMP threads.
void encode_batch(benchmark::State& state) {
#if defined(_OPENMP)
  omp_set_num_threads(static_cast<int>(state.range(0)));
#else
  if (state.range(0) > 1) state.SkipWithError("built without OpenMP: one thread only");
#endif
  const auto& w = bench_workload();
  rlft::token_sequences encoded;
  for (auto _ : state) encoded = w.tokenizer.encode_batch(w.documents, false);
  report(state, encoded.num_tokens(), checksum(encoded));
}
BENCHMARK(encode_batch)->ArgName("threads")->DenseRange(1, 4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
