// The reference transformer on the CPU: GEMM GFLOP/s of rlft's row-stable kernel beside Eigen's
// GEMM and OpenBLAS's sgemm in the same run (forward and backward shapes), train-step tokens/s
// (log-probs + backward + AdamW) and KV-cache decode tokens/s for
//   toy        4 layers, hidden 256, 4 heads / 2 KV heads, MLP 768, vocab 128 (3.2M parameters)
//   qwen_layer 1 layer of the Qwen2.5-0.5B shape: hidden 896, 14 heads / 2 KV heads, MLP 4864
//              (vocab 1024, so the layer and not the vocabulary projection is measured)
//   attention_backward_head  one head's attention backward over 256 tokens (GFLOP/s of the
//              full T × T products, so a skipped triangle shows as a higher rate)
//   qwen_vocabulary  1 small layer (hidden 128) under Qwen2.5's vocabulary of 151936 (train step
//              only): the vocabulary projection, chunked over rows, is measured
// Each benchmark reports the process's peak resident memory; run one benchmark per process
// (bench/run_transformer_bench does) to read it per configuration.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#ifdef RLFT_BENCH_HAS_OPENBLAS
#include <cblas.h>
#endif

#include "rlft/core/philox.hpp"
#include "rlft/optim/adamw.hpp"
#include "transformer/transformer.hpp"

namespace {

using rlft::examples::transformer;
using rlft::examples::transformer_config;
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// User + system CPU seconds of the whole process (all threads): on a shared machine the work
// done, where wall time also counts the time other programs held the cores.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + 1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

void report_peak_memory(benchmark::State& state) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

std::vector<float> random_values(std::size_t count, std::uint64_t stream) {
  std::vector<float> values(count);
  rlft::fill_uniform(values, 1, stream);
  for (float& v : values) v -= 0.5f;
  return values;
}

// ---- GEMM: C[M×N] = A[M×K] · W[N×K]ᵀ (forward) -------------------------------------------

void set_gemm_counters(benchmark::State& state, double m, double n, double k) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

void gemm_row_stable(benchmark::State& state) {
  const auto m = static_cast<std::size_t>(state.range(0)), n = static_cast<std::size_t>(state.range(1)),
             k = static_cast<std::size_t>(state.range(2));
  const auto a = random_values(m * k, 1), w = random_values(n * k, 2);
  std::vector<float> c(m * n);
  rlft::examples::packed_weight packed;
  packed.pack(w, {}, n, k);
  for (auto _ : state) {
    rlft::examples::row_stable_gemm(a.data(), k, m, packed, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_gemm_counters(state, double(m), double(n), double(k));
}

void gemm_eigen(benchmark::State& state) {
  const auto m = state.range(0), n = state.range(1), k = state.range(2);
  const row_matrix a = row_matrix::Random(m, k), w = row_matrix::Random(n, k);
  row_matrix c(m, n);
  for (auto _ : state) {
    c.noalias() = a * w.transpose();
    benchmark::DoNotOptimize(c.data());
  }
  set_gemm_counters(state, double(m), double(n), double(k));
}

#ifdef RLFT_BENCH_HAS_OPENBLAS
void gemm_openblas(benchmark::State& state) {
  const auto m = static_cast<int>(state.range(0)), n = static_cast<int>(state.range(1)), k = static_cast<int>(state.range(2));
  const auto a = random_values(std::size_t(m) * k, 1), w = random_values(std::size_t(n) * k, 2);
  std::vector<float> c(std::size_t(m) * n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, w.data(), k, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_gemm_counters(state, double(m), double(n), double(k));
}
#endif

// Backward weight gradient: dW[N×K] += dYᵀ[N×M] · X[M×K].
void gemm_weight_gradient_eigen(benchmark::State& state) {
  const auto m = state.range(0), n = state.range(1), k = state.range(2);
  const row_matrix dy = row_matrix::Random(m, n), x = row_matrix::Random(m, k);
  row_matrix dw = row_matrix::Zero(n, k);
  for (auto _ : state) {
    dw.noalias() += dy.transpose() * x;
    benchmark::DoNotOptimize(dw.data());
  }
  set_gemm_counters(state, double(m), double(n), double(k));
}

#ifdef RLFT_BENCH_HAS_OPENBLAS
void gemm_weight_gradient_openblas(benchmark::State& state) {
  const auto m = static_cast<int>(state.range(0)), n = static_cast<int>(state.range(1)), k = static_cast<int>(state.range(2));
  const auto dy = random_values(std::size_t(m) * n, 1), x = random_values(std::size_t(m) * k, 2);
  std::vector<float> dw(std::size_t(n) * k);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0f, dy.data(), n, x.data(), k, 1.0f, dw.data(), k);
    benchmark::DoNotOptimize(dw.data());
  }
  set_gemm_counters(state, double(m), double(n), double(k));
}
#endif

// M, N, K: the toy model's fused gate/up projection over 4096 tokens, the Qwen layer's over
// 1024 tokens, its down projection, and the 1024³ square of the peer table.
#define RLFT_GEMM_SHAPES                                                                                      \
  Args({4096, 1536, 256})->Args({1024, 9728, 896})->Args({1024, 896, 4864})->Args({1024, 1024, 1024})        \
      ->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(gemm_row_stable)->RLFT_GEMM_SHAPES;
BENCHMARK(gemm_eigen)->RLFT_GEMM_SHAPES;
BENCHMARK(gemm_weight_gradient_eigen)->RLFT_GEMM_SHAPES;
#ifdef RLFT_BENCH_HAS_OPENBLAS
BENCHMARK(gemm_openblas)->RLFT_GEMM_SHAPES;
BENCHMARK(gemm_weight_gradient_openblas)->RLFT_GEMM_SHAPES;
#endif

// ---- model ---------------------------------------------------------------------------------

transformer_config toy_config() {
  return {.model_type = "qwen2", .vocab_size = 128, .hidden_size = 256, .intermediate_size = 768, .num_layers = 4,
          .num_heads = 4, .num_kv_heads = 2, .head_dim = 64, .attention_bias = true, .tie_word_embeddings = false};
}

transformer_config qwen_layer_config() {
  return {.model_type = "qwen2", .vocab_size = 1024, .hidden_size = 896, .intermediate_size = 4864, .num_layers = 1,
          .num_heads = 14, .num_kv_heads = 2, .head_dim = 64, .rope_theta = 1e6f, .attention_bias = true,
          .tie_word_embeddings = true};
}

// A small model with Qwen2.5's vocabulary: the vocabulary projection dominates, and its logits
// are computed in chunks of 64 rows.
transformer_config qwen_vocabulary_config() {
  return {.model_type = "qwen2", .vocab_size = 151936, .hidden_size = 128, .intermediate_size = 384, .num_layers = 1,
          .num_heads = 2, .num_kv_heads = 1, .head_dim = 64, .rope_theta = 1e6f, .attention_bias = true,
          .tie_word_embeddings = true};
}

rlft::token_sequences random_sequences(std::size_t count, std::size_t length, std::size_t vocab) {
  rlft::token_sequences sequences;
  rlft::philox_stream rng(3, 0);
  std::vector<rlft::token_id> tokens(length);
  for (std::size_t s = 0; s < count; ++s) {
    for (auto& token : tokens) token = static_cast<rlft::token_id>(rng() % vocab);
    sequences.push_back(tokens);
  }
  return sequences;
}

// One SFT-style step: log-probs, dL/dlogp = −1/T on every predicted token, backward, AdamW.
void train_step(benchmark::State& state, transformer_config config) {
  const auto count = static_cast<std::size_t>(state.range(0)), length = static_cast<std::size_t>(state.range(1));
  transformer model(config, 1);
  const auto sequences = random_sequences(count, length, config.vocab_size);
  const std::size_t tokens = sequences.num_tokens();
  std::vector<float> logprobs(tokens), dlogp(tokens, -1.0f / static_cast<float>(tokens));
  rlft::adamw optimizer({.weight_decay = 0.01f});
  const double cpu_before = process_cpu_seconds();
  for (auto _ : state) {
    model.zero_grad();
    model.log_probs(sequences, logprobs);
    model.backward(sequences, dlogp);
    optimizer.step(model.parameters(), 1e-4f);
    benchmark::DoNotOptimize(logprobs.data());
  }
  state.counters["process_cpu_s"] = (process_cpu_seconds() - cpu_before) / double(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(double(tokens) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["parameters"] = double(model.num_parameters());
  // Forward + backward ≈ 6 FLOPs per parameter per token (the vocabulary projection included,
  // the embedding lookup not; a tied embedding counts once, as the projection), plus attention:
  // 4·T·d per layer and token forward, twice that backward (T: mean context).
  const double attention = 12.0 * double(config.num_layers) * double(config.query_width()) * (double(length) / 2.0);
  const double embedding = config.tie_word_embeddings ? 0.0 : double(config.vocab_size * config.hidden_size);
  state.counters["GFLOP/s"] = benchmark::Counter(
      (6.0 * (double(model.num_parameters()) - embedding) + attention) * double(tokens) * double(state.iterations()) /
          1e9,
      benchmark::Counter::kIsRate);
  report_peak_memory(state);
}

struct categorical_sampler {
  rlft::sampled_token operator()(std::span<const float> logits, std::span<const rlft::token_id>,
                                 rlft::philox_stream& rng) const {
    float top = logits[0];
    for (const float x : logits) top = std::max(top, x);
    float total = 0.0f;
    for (const float x : logits) total += std::exp(x - top);
    const float u = rng.uniform() * total;
    float cumulative = 0.0f;
    std::size_t k = 0;
    for (; k + 1 < logits.size(); ++k) {
      cumulative += std::exp(logits[k] - top);
      if (u < cumulative) break;
    }
    const float logprob = logits[k] - top - std::log(total);
    return {static_cast<rlft::token_id>(k), logprob, logprob};
  }
};

// Batched sampling with the KV cache: prompts × completions sequences, no stop token.
void decode(benchmark::State& state, transformer_config config) {
  const auto prompts_count = static_cast<std::size_t>(state.range(0)), completions = static_cast<std::size_t>(state.range(1)),
             new_tokens = static_cast<std::size_t>(state.range(2));
  transformer model(config, 1);
  const auto prompts = random_sequences(prompts_count, 32, config.vocab_size);
  std::uint64_t seed = 0;
  const double cpu_before = process_cpu_seconds();
  for (auto _ : state) {
    auto batch = model.generate(prompts, completions, categorical_sampler{}, {.max_new_tokens = new_tokens, .seed = ++seed});
    benchmark::DoNotOptimize(batch.tokens().data());
  }
  state.counters["process_cpu_s"] = (process_cpu_seconds() - cpu_before) / double(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(double(prompts_count * completions * new_tokens) * double(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  report_peak_memory(state);
}

// The attention backward of one head over one 256-token sequence (head_dim 64): five T × T GEMMs
// of the row-stable kernel, the masked triangle skipped where whole tiles lie in it.
void attention_backward_head(benchmark::State& state) {
  const std::size_t n = 256, d = 64, stride = 3 * d;
  const auto qkv = random_values(n * stride, 40), out = random_values(n * d, 41), dout = random_values(n * d, 42);
  const std::vector<float> lse(n, 5.0f);
  std::vector<float> dqkv(n * stride, 0.0f);
  rlft::examples::attention_backward_workspace workspace;
  const rlft::examples::attention_backward_problem problem{
      .length = n, .head_dim = d, .scale = 0.125f, .queries = qkv.data(), .keys = qkv.data() + d,
      .values = qkv.data() + 2 * d, .qkv_stride = stride, .log_sum_exp = lse.data(), .out = out.data(),
      .dout = dout.data(), .out_stride = d, .dqueries = dqkv.data(), .dkeys = dqkv.data() + d,
      .dvalues = dqkv.data() + 2 * d};
  for (auto _ : state) {
    rlft::examples::attention_backward(problem, workspace);
    benchmark::DoNotOptimize(dqkv.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(5.0 * 2.0 * double(n * n * d) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

BENCHMARK(attention_backward_head)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(train_step, toy, toy_config())->Args({16, 256})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(train_step, qwen_layer, qwen_layer_config())->Args({4, 256})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(train_step, qwen_vocabulary, qwen_vocabulary_config())
    ->Args({4, 256})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(decode, toy, toy_config())->Args({8, 8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(decode, qwen_layer, qwen_layer_config())->Args({4, 4, 64})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
