// The CUDA back-end on the workloads of the peer comparison (PEERS: the numbers to beat),
// timed on the GPU: CUDA events around every iteration (Google Benchmark's manual time) and
// medians over repetitions (run with --benchmark_repetitions=N
// --benchmark_report_aggregates_only=true). Counters give the achieved rate and its share of the
// physical floor of an H200 — 790 TFLOP/s for dense bf16 products (measured by PyTorch on this
// machine kind), 4.8 TB/s of HBM3e — and the temporary device memory a call takes (the high-water
// mark of the stream-ordered pool above what was in use before the call).
//   lm_head_*            fused LM-head log-prob, 16384 tokens × vocabulary 151936 × hidden 896, bf16
//   sample_*             64 rows × 151936 logits drawn by rlft's samplers (N(0, 3²) logits, as the peer);
//                        sample_top_p_shape<threads, blocks per row, blocks per SM> tries other launch shapes
//   grpo_*               GRPO advantage and clipped-surrogate objective over 1,048,576 tokens
//   adamw_qwen_0_5b      fused AdamW over the 494M parameters of Qwen2.5-0.5B with bf16 copies
//   device_copy          a 1 GiB device-to-device copy: the bandwidth this GPU actually reaches
// Without a GPU the program says so and exits: CI builds it, a GPU machine runs it
// (scripts/gpu_check).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "objective/grpo_workload.hpp"
#include "rlft/cuda/adamw.hpp"
#include "rlft/cuda/advantage.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/lm_head.hpp"
#include "rlft/cuda/objective.hpp"
#include "rlft/cuda/sampling.hpp"

namespace {

using bf16 = __nv_bfloat16;
using rlft::cuda::device_buffer;

constexpr double peak_bf16_flops = 790e12;
constexpr double peak_bandwidth = 4.8e12;

// ---------------------------------------------------------------------------------------------
// measurement

class event_timer {
 public:
  event_timer() {
    RLFT_CUDA_CHECK(cudaEventCreate(&start_));
    RLFT_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~event_timer() {
    static_cast<void>(cudaEventDestroy(start_));
    static_cast<void>(cudaEventDestroy(stop_));
  }
  void start(cudaStream_t stream) { RLFT_CUDA_CHECK(cudaEventRecord(start_, stream)); }
  double stop(cudaStream_t stream) {
    RLFT_CUDA_CHECK(cudaEventRecord(stop_, stream));
    RLFT_CUDA_CHECK(cudaEventSynchronize(stop_));
    float milliseconds = 0.0f;
    RLFT_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start_, stop_));
    return 1e-3 * milliseconds;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// The device memory the stream-ordered pool hands out during one call of `work`, beyond what it
// held before.
template <class Work>
double temporary_bytes(Work&& work) {
  int device = 0;
  RLFT_CUDA_CHECK(cudaGetDevice(&device));
  cudaMemPool_t pool = nullptr;
  RLFT_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  RLFT_CUDA_CHECK(cudaDeviceSynchronize());
  std::uint64_t before = 0, zero = 0, high = 0;
  RLFT_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &before));
  RLFT_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
  work();
  RLFT_CUDA_CHECK(cudaDeviceSynchronize());
  RLFT_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
  return static_cast<double>(high - before);
}

// Times `work` on `stream` once per iteration after one warm-up call.
template <class Work>
void time_on_device(benchmark::State& state, cudaStream_t stream, Work&& work) {
  work();
  RLFT_CUDA_CHECK(cudaStreamSynchronize(stream));
  event_timer timer;
  for (auto _ : state) {
    timer.start(stream);
    work();
    state.SetIterationTime(timer.stop(stream));
  }
}

// Rate counters: per-iteration work over the measured time.
void report_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration * static_cast<double>(state.iterations()),
                                            benchmark::Counter::kIsRate);
}

// Share of the physical floor: floor time / measured time (the benchmark reports the mean of
// the per-iteration values; its median over repetitions is the number to quote).
void report_floor_share(benchmark::State& state, double floor_seconds) {
  state.counters["floor_share"] = benchmark::Counter(floor_seconds * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
}

// A memory-bound workload: bytes per second and the share of the HBM bandwidth floor.
void report_bandwidth(benchmark::State& state, double bytes) {
  report_rate(state, "bytes", bytes);
  report_floor_share(state, bytes / peak_bandwidth);
}

// ---------------------------------------------------------------------------------------------
// data

// N(0, scale²) in bf16, by Box–Muller from two Philox words.
__global__ void fill_normal_bf16(bf16* out, std::size_t count, std::uint64_t seed, float scale) {
  const rlft::philox_stream random(seed, 0);
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < count;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const auto words = random.block(static_cast<std::uint32_t>(i / 2));
    const float u1 = rlft::to_uniform_float_nonzero(words.words[2 * (i % 2)]);
    const float u2 = rlft::to_uniform_float(words.words[2 * (i % 2) + 1]);
    out[i] = __float2bfloat16_rn(scale * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2));
  }
}

// N(0, scale²) by Box–Muller from two Philox words.
__global__ void fill_normal(float* out, std::size_t count, std::uint64_t seed, float scale) {
  const rlft::philox_stream random(seed, 1);
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < count;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const auto words = random.block(static_cast<std::uint32_t>(i / 2));
    const float u1 = rlft::to_uniform_float_nonzero(words.words[2 * (i % 2)]);
    const float u2 = rlft::to_uniform_float(words.words[2 * (i % 2) + 1]);
    out[i] = scale * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
  }
}

__global__ void float_to_bf16(const float* in, bf16* out, std::size_t count) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < count;
       i += std::size_t{gridDim.x} * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

__global__ void fill_targets(std::int32_t* out, std::size_t count, std::uint32_t vocabulary) {
  const rlft::philox_stream random(9, 2);
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < count;
       i += std::size_t{gridDim.x} * blockDim.x)
    out[i] = static_cast<std::int32_t>(random.block(static_cast<std::uint32_t>(i)).words[0] % vocabulary);
}

constexpr unsigned fill_blocks = 1024, fill_threads = 256;

// The peer's data (peer_gpu.py, bench_lp): h ~ N(0, 1), W ~ N(0, 0.02²), random targets.
struct lm_head_data {
  static constexpr std::size_t tokens = 16384, vocabulary = 151936, hidden = 896;
  device_buffer<bf16> h{tokens * hidden, nullptr}, w{vocabulary * hidden, nullptr};
  device_buffer<std::int32_t> targets{tokens, nullptr};
  device_buffer<float> logprobs{tokens, nullptr}, entropy{tokens, nullptr}, normalizers{tokens, nullptr};
  device_buffer<float> g{tokens, nullptr}, hidden_gradients{tokens * hidden, nullptr},
      weight_gradients{vocabulary * hidden, nullptr};

  lm_head_data() {
    fill_normal_bf16<<<fill_blocks, fill_threads>>>(h.data(), h.size(), 1, 1.0f);
    fill_normal_bf16<<<fill_blocks, fill_threads>>>(w.data(), w.size(), 2, 0.02f);
    fill_targets<<<fill_blocks, fill_threads>>>(targets.data(), tokens, vocabulary);
    fill_normal<<<fill_blocks, fill_threads>>>(g.data(), tokens, 3, 1e-3f);
    RLFT_CUDA_CHECK(cudaDeviceSynchronize());
  }
  rlft::cuda::lm_head_input<bf16> input() const {
    return {.hidden = h.span(), .weight = w.span(), .targets = targets.span(), .hidden_size = hidden};
  }
  static double flops() { return 2.0 * tokens * vocabulary * hidden; }
};

lm_head_data& lm_head() {
  static lm_head_data data;
  return data;
}

struct sampling_data {
  static constexpr std::size_t rows = 64, vocabulary = 151936;
  device_buffer<float> logits{rows * vocabulary, nullptr};
  device_buffer<bf16> bf16_logits{rows * vocabulary, nullptr};
  device_buffer<rlft::sampling_key> keys{rows, nullptr};
  device_buffer<rlft::sampled_token> tokens{rows, nullptr};

  sampling_data() {
    fill_normal<<<fill_blocks, fill_threads>>>(logits.data(), logits.size(), 4, 3.0f);
    float_to_bf16<<<fill_blocks, fill_threads>>>(logits.data(), bf16_logits.data(), logits.size());
    std::vector<rlft::sampling_key> host(rows);
    for (std::size_t r = 0; r < rows; ++r) host[r] = {.sequence = r, .step = 7};
    keys.upload(host);
    RLFT_CUDA_CHECK(cudaDeviceSynchronize());
  }
};

sampling_data& sampling() {
  static sampling_data data;
  return data;
}

struct grpo_data {
  rlft_bench::grpo_workload host = rlft_bench::make_grpo_workload();
  rlft::cuda::device_rollout_batch batch{host.batch, nullptr};
  device_buffer<float> logprobs{host.logprobs, nullptr};
  device_buffer<float> gradients{host.logprobs.size(), nullptr};
  device_buffer<rlft::kernels::objective_sums> sums{1, nullptr};
};

grpo_data& grpo() {
  static grpo_data data;
  return data;
}

// ---------------------------------------------------------------------------------------------
// benchmarks

// The forward under `tuning`, timed, with its temporary memory and its share of the FLOP floor.
void time_lm_head_forward(benchmark::State& state, const rlft::cuda::lm_head_tuning& tuning) {
  auto& data = lm_head();
  rlft::cuda::fused_lm_head<bf16> head(nullptr, tuning);
  const rlft::cuda::lm_head_forward_output out{.logprobs = data.logprobs.span(), .entropy = data.entropy.span(),
                                               .log_normalizers = data.normalizers.span()};
  const auto run = [&] { head.forward(data.input(), out, nullptr); };
  state.counters["temporary_bytes"] = temporary_bytes(run);
  time_on_device(state, nullptr, run);
  report_rate(state, "flop", lm_head_data::flops());
  report_floor_share(state, lm_head_data::flops() / peak_bf16_flops);
}

void lm_head_forward(benchmark::State& state) {
  time_lm_head_forward(state, {.overlap = state.range(0) != 0});
}
BENCHMARK(lm_head_forward)->ArgName("overlap")->Arg(1)->Arg(0)->UseManualTime()->Unit(benchmark::kMillisecond);

// Smaller chunks (max_chunk_elements in Mi floats, the narrowest vocabulary chunk), so that a
// chunk's logits may stay in the 50 MB L2 between its GEMM and its reduction: 4096 tokens ×
// 1024 entries is 16 MiB, 4096 × 2048 is 32 MiB, 4096 × 4096 is 64 MiB (the default cuts
// 16384 × 4096, 256 MiB).
void lm_head_forward_chunks(benchmark::State& state) {
  time_lm_head_forward(state, {.max_chunk_elements = static_cast<std::size_t>(state.range(0)) << 20,
                               .min_vocabulary_chunk = static_cast<std::size_t>(state.range(1))});
}
BENCHMARK(lm_head_forward_chunks)
    ->ArgNames({"mi_elements", "min_vocabulary"})
    ->Args({4, 1024})
    ->Args({8, 2048})
    ->Args({16, 4096})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Forward, then backward to hidden states and weight (which recomputes the logits): four
// products of 2·N·V·D; the floor counts the three a training step cannot avoid.
void lm_head_forward_backward(benchmark::State& state) {
  auto& data = lm_head();
  rlft::cuda::fused_lm_head<bf16> head(nullptr);
  const rlft::cuda::lm_head_forward_output out{.logprobs = data.logprobs.span(), .entropy = data.entropy.span(),
                                               .log_normalizers = data.normalizers.span()};
  const auto run = [&] {
    head.forward(data.input(), out, nullptr);
    head.backward(data.input(), {.log_normalizers = data.normalizers.span(), .logprob_gradients = data.g.span()},
                  {.hidden_gradients = data.hidden_gradients.span(), .weight_gradients = data.weight_gradients.span()},
                  nullptr);
  };
  state.counters["temporary_bytes"] = temporary_bytes(run);
  time_on_device(state, nullptr, run);
  report_rate(state, "flop", 4.0 * lm_head_data::flops());
  report_floor_share(state, 3.0 * lm_head_data::flops() / peak_bf16_flops);
}
BENCHMARK(lm_head_forward_backward)->UseManualTime()->Unit(benchmark::kMillisecond);

// The forward's GEMMs alone, chunked the same way: what cuBLASLt reaches without the reduction.
void lm_head_logits_gemms(benchmark::State& state) {
  auto& data = lm_head();
  const auto chunks = rlft::cuda::plan_lm_head_chunks(lm_head_data::tokens, lm_head_data::vocabulary);
  device_buffer<float> logits(chunks.tokens * chunks.row_stride, nullptr);
  rlft::cuda::detail::matmul_runner matmul(CUDA_R_16BF, std::size_t{32} << 20, 0, nullptr);
  const auto hidden = static_cast<std::int64_t>(lm_head_data::hidden);
  const auto run = [&] {
    for (std::size_t first = 0; first < lm_head_data::vocabulary; first += chunks.vocabulary) {
      const std::size_t entries = std::min(chunks.vocabulary, lm_head_data::vocabulary - first);
      matmul.run({.transpose_a = CUBLAS_OP_T, .transpose_b = CUBLAS_OP_N, .m = static_cast<std::int64_t>(entries),
                  .n = static_cast<std::int64_t>(lm_head_data::tokens), .k = hidden, .lda = hidden, .ldb = hidden,
                  .ldd = static_cast<std::int64_t>(chunks.row_stride)},
                 data.w.data() + first * lm_head_data::hidden, data.h.data(), logits.data(), 0.0f, nullptr);
    }
  };
  time_on_device(state, nullptr, run);
  report_rate(state, "flop", lm_head_data::flops());
  report_floor_share(state, lm_head_data::flops() / peak_bf16_flops);
}
BENCHMARK(lm_head_logits_gemms)->UseManualTime()->Unit(benchmark::kMillisecond);

template <rlft::cuda::sampling_tuning tuning = rlft::cuda::default_sampling_tuning, class Sampler>
void sample(benchmark::State& state, const Sampler& sampler, bool bfloat16) {
  auto& data = sampling();
  const auto launch = [&] {
    return bfloat16 ? rlft::cuda::launch_sample_rows<tuning>(sampler, std::span<const bf16>(data.bf16_logits.span()),
                                                             sampling_data::vocabulary, {}, data.keys.span(), 11,
                                                             data.tokens.span(), nullptr)
                    : rlft::cuda::launch_sample_rows<tuning>(sampler, std::span<const float>(data.logits.span()),
                                                             sampling_data::vocabulary, {}, data.keys.span(), 11,
                                                             data.tokens.span(), nullptr);
  };
  // The launch alone: the row statuses are checked once, after the timing.
  time_on_device(state, nullptr, [&] { static_cast<void>(launch()); });
  launch().wait();
  const double bytes = static_cast<double>(sampling_data::rows * sampling_data::vocabulary) * (bfloat16 ? 2.0 : 4.0);
  report_bandwidth(state, bytes);
}

void sample_top_p(benchmark::State& state) { sample(state, rlft::top_p{0.95f}, state.range(0) != 0); }

// top-p under other launch shapes (threads per block, blocks per row, blocks an SM must hold),
// to choose the default. The kernel takes about 120 registers, so 512 threads fill an SM's
// registers: the default (512 × 4 blocks a row) runs 256 blocks in two waves on 132 SMs;
// 512 × 2 and 256 × 4 (two to an SM) run in one; 512 × 4 held two to an SM caps the registers
// at 64 (about 1 KB of spills a thread) for twice the warps.
template <int Threads, int Cluster, int BlocksPerSm>
void sample_top_p_shape(benchmark::State& state) {
  sample<rlft::cuda::sampling_tuning{.threads = Threads, .cluster = Cluster, .blocks_per_sm = BlocksPerSm}>(
      state, rlft::top_p{0.95f}, false);
}
BENCHMARK_TEMPLATE(sample_top_p_shape, 512, 2, 1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(sample_top_p_shape, 256, 4, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(sample_top_p_shape, 512, 4, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(sample_top_p)->ArgName("bf16")->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
void sample_temperature_top_p(benchmark::State& state) {
  sample(state, rlft::temperature{0.6f} | rlft::top_p{0.95f}, false);
}
BENCHMARK(sample_temperature_top_p)->UseManualTime()->Unit(benchmark::kMicrosecond);
void sample_top_k(benchmark::State& state) { sample(state, rlft::top_k{50}, false); }
BENCHMARK(sample_top_k)->UseManualTime()->Unit(benchmark::kMicrosecond);
void sample_min_p(benchmark::State& state) { sample(state, rlft::min_p{0.05f}, false); }
BENCHMARK(sample_min_p)->UseManualTime()->Unit(benchmark::kMicrosecond);
void sample_greedy(benchmark::State& state) { sample(state, rlft::greedy{}, false); }
BENCHMARK(sample_greedy)->UseManualTime()->Unit(benchmark::kMicrosecond);
void sample_categorical(benchmark::State& state) { sample(state, rlft::categorical{}, false); }
BENCHMARK(sample_categorical)->UseManualTime()->Unit(benchmark::kMicrosecond);

rlft::cuda::pending_advantages launch_grpo_advantages(grpo_data& data, cudaStream_t stream = nullptr) {
  return rlft::cuda::launch_advantages(rlft_bench::r1_estimator, data.batch, data.batch.advantages(), stream);
}

void launch_grpo_objective(grpo_data& data, cudaStream_t stream = nullptr) {
  rlft::cuda::launch_objective(rlft_bench::r1_objective,
                               {.batch = data.batch, .sequence_count = rlft_bench::sequences,
                                .logprobs = data.logprobs.span()},
                               {.logprob_gradients = data.gradients.span()}, data.sums.data(), stream);
}

// Advantages and loss enqueued back to back, as a training step does; the estimator's summary
// and the loss are read once, after the timing.
void grpo_advantage_and_objective(benchmark::State& state) {
  auto& data = grpo();
  const auto run = [&] {
    auto pending = launch_grpo_advantages(data);
    launch_grpo_objective(data);
    return pending;
  };
  time_on_device(state, nullptr, [&] { static_cast<void>(run()); });
  run().wait();
  const double bytes = rlft_bench::bytes_per_token * rlft_bench::total_tokens;
  report_bandwidth(state, bytes);
}
BENCHMARK(grpo_advantage_and_objective)->UseManualTime()->Unit(benchmark::kMicrosecond);

// The same work captured once into a CUDA graph and replayed: the device's time without the
// host's cost of enqueuing each operation (which the stream-ordered row above includes).
void grpo_advantage_and_objective_graph(benchmark::State& state) {
  auto& data = grpo();
  cudaStream_t stream = nullptr;
  RLFT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  RLFT_CUDA_CHECK(cudaDeviceSynchronize());  // the workload's uploads ran on the default stream
  cudaGraph_t graph = nullptr;
  RLFT_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  {
    const auto pending = launch_grpo_advantages(data, stream);
    launch_grpo_objective(data, stream);
  }
  RLFT_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t replay = nullptr;
  RLFT_CUDA_CHECK(cudaGraphInstantiate(&replay, graph, 0));
  time_on_device(state, stream, [&] { RLFT_CUDA_CHECK(cudaGraphLaunch(replay, stream)); });
  // The replay must do the stream-ordered call's work: the same sums, bit for bit.
  const auto replayed = data.sums.download().front();
  launch_grpo_advantages(data).wait();
  launch_grpo_objective(data);
  const auto direct = data.sums.download().front();
  RLFT_CUDA_CHECK(cudaGraphExecDestroy(replay));
  RLFT_CUDA_CHECK(cudaGraphDestroy(graph));
  RLFT_CUDA_CHECK(cudaStreamDestroy(stream));
  if (std::memcmp(&replayed, &direct, sizeof direct) != 0) state.SkipWithError("the graph replay's sums differ");
  report_bandwidth(state, rlft_bench::bytes_per_token * rlft_bench::total_tokens);
}
BENCHMARK(grpo_advantage_and_objective_graph)->UseManualTime()->Unit(benchmark::kMicrosecond);

void grpo_advantage(benchmark::State& state) {
  auto& data = grpo();
  time_on_device(state, nullptr, [&] { static_cast<void>(launch_grpo_advantages(data)); });
  const double bytes = 5.0 * rlft_bench::total_tokens;  // mask read, advantage written
  report_bandwidth(state, bytes);
}
BENCHMARK(grpo_advantage)->UseManualTime()->Unit(benchmark::kMicrosecond);

void grpo_objective(benchmark::State& state) {
  auto& data = grpo();
  time_on_device(state, nullptr, [&] { launch_grpo_objective(data); });
  const double bytes = 21.0 * rlft_bench::total_tokens;  // mask, advantage, three log-probs read; gradient written
  report_bandwidth(state, bytes);
}
BENCHMARK(grpo_objective)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Qwen2.5-0.5B's tensors (tied embeddings): 24 layers of attention (q, k, v with biases, o),
// MLP (gate, up, down) and two norms, plus the embedding and the final norm: 494,032,768.
std::vector<std::size_t> qwen_parameter_sizes() {
  constexpr std::size_t hidden = 896, kv = 128, mlp = 4864, vocabulary = 151936;
  std::vector<std::size_t> sizes{vocabulary * hidden};
  for (int layer = 0; layer < 24; ++layer)
    for (const std::size_t size : {hidden * hidden, hidden, hidden * kv, kv, hidden * kv, kv, hidden * hidden,
                                   hidden * mlp, hidden * mlp, mlp * hidden, hidden, hidden})
      sizes.push_back(size);
  sizes.push_back(hidden);
  return sizes;
}

void adamw_qwen_0_5b(benchmark::State& state) {
  std::vector<device_buffer<float>> values, gradients;
  std::vector<device_buffer<bf16>> copies;
  std::vector<rlft::cuda::device_parameter> parameters;
  double elements = 0.0;
  for (const std::size_t size : qwen_parameter_sizes()) {
    values.emplace_back(size, nullptr);
    gradients.emplace_back(size, nullptr);
    copies.emplace_back(size, nullptr);
    fill_normal<<<fill_blocks, fill_threads>>>(values.back().data(), size, 5, 0.02f);
    fill_normal<<<fill_blocks, fill_threads>>>(gradients.back().data(), size, 6, 1e-3f);
    parameters.push_back({.name = "w", .values = values.back().span(), .gradients = gradients.back().span(),
                          .bf16_copy = copies.back().span()});
    elements += static_cast<double>(size);
  }
  rlft::cuda::fused_adamw optimizer({.weight_decay = 0.1f});
  state.counters["parameters"] = elements;
  time_on_device(state, nullptr, [&] { optimizer.step(parameters, 1e-6f, nullptr); });
  const double bytes = 30.0 * elements;  // read weight, gradient, two moments; write weight, moments, bf16 copy
  report_bandwidth(state, bytes);
}
BENCHMARK(adamw_qwen_0_5b)->UseManualTime()->Unit(benchmark::kMillisecond);

void device_copy(benchmark::State& state) {
  constexpr std::size_t bytes = std::size_t{1} << 30;
  device_buffer<unsigned char> from(bytes, nullptr), to(bytes, nullptr);
  from.clear();
  time_on_device(state, nullptr,
                 [&] { RLFT_CUDA_CHECK(cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice, nullptr)); });
  report_rate(state, "bytes", 2.0 * bytes);  // read and written
}
BENCHMARK(device_copy)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (!rlft::cuda_device_available()) {
    std::printf("rlft_bench_cuda: no CUDA device; nothing measured\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
