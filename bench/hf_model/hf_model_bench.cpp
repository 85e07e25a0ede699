// The reference transformer on a Qwen2.5-0.5B-shaped Hugging Face checkpoint, the rlft side of
// bench/run_hf_model_bench (peer: bench/hf_model/torch_peer.py, the same work with PyTorch and
// transformers). Measures, in this order and in one process:
//   machine      the physical limits the script compares with: read bandwidth of a 1 GiB array
//                and the FMA peak of all threads (registers only), each the best of 5
//   load         transformer::from_pretrained(dir) (config.json + BF16 model.safetensors to fp32)
//   prefill      generate() with max_new_tokens = 1 over the 8 prompts of 64 fixed token ids,
//                after one untimed warm-up call of the same
//   decode       generate() of 128 new tokens for each of the 8 prompts, plain sampling at
//                temperature 1 (rlft::categorical), no stop token, fixed seed
//   train        GRPO steps through rlft::grpo_trainer as examples/grpo_hf runs it (clipped
//                surrogate, sequence-mean-token-mean, grad-norm clip 1, AdamW), one prompt of the
//                same 64 ids with 8 completions of 128 tokens (8 × 192 = 1536 tokens a step), no
//                KL term (no reference forward): the trainer's seconds_train (log-probs forward,
//                objective, backward, clipping, AdamW) is the training time
//   memory       peak RSS (getrusage) and the resident set after each phase
// and prints one JSON line.
//   rlft_bench_hf_model MODEL_DIR [TRAIN_STEPS]     (threads: OMP_NUM_THREADS; steps default 2)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include <nlohmann/json.hpp>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/categorical.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "transformer/transformer.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using rlft::token_id;

constexpr std::size_t prompt_count = 8;
constexpr std::size_t prompt_length = 64;
constexpr std::size_t new_tokens = 128;
constexpr std::uint64_t seed = 1234;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The resident set now (VmRSS of /proc/self/status), in MiB; 0 where the system does not say.
double current_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0.0;
}

// Token t of prompt s: the same formula as torch_peer.py, inside any vocabulary.
token_id prompt_token(std::size_t s, std::size_t t, std::size_t vocab_size) {
  return static_cast<token_id>((s * 7919 + t * 104729 + 17) % vocab_size);
}

rlft::token_sequences fixed_prompts(std::size_t count, std::size_t vocab_size) {
  rlft::token_sequences prompts;
  for (std::size_t s = 0; s < count; ++s) {
    std::vector<token_id> prompt(prompt_length);
    for (std::size_t t = 0; t < prompt_length; ++t) prompt[t] = prompt_token(s, t, vocab_size);
    prompts.push_back(prompt);
  }
  return prompts;
}

// Bytes per second of a parallel sum over 1 GiB (far beyond the caches), best of 5.
double read_bandwidth() {
  const std::size_t count = std::size_t{1} << 28;
  std::vector<float> data(count);
  const auto n = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t i = 0; i < n; ++i) data[static_cast<std::size_t>(i)] = static_cast<float>(i & 1023);
  double best = 0.0, sink = 0.0;
  for (int run = 0; run < 5; ++run) {
    const auto start = clock_type::now();
    float sum = 0.0f;
    // Blocks of 64 floats into 64 independent partial sums: GCC vectorises this without
    // reassociating (a plain float sum stays one scalar chain, bound by the add latency).
    const std::ptrdiff_t blocks = n / 64;
#pragma omp parallel reduction(+ : sum)
    {
      float partial[64] = {};
#pragma omp for schedule(static)
      for (std::ptrdiff_t b = 0; b < blocks; ++b) {
        const float* block = data.data() + static_cast<std::size_t>(b) * 64;
        for (std::size_t j = 0; j < 64; ++j) partial[j] += block[j];
      }
      for (const float p : partial) sum += p;
    }
    best = std::max(best, static_cast<double>(count * sizeof(float)) / seconds_since(start));
    sink += sum;
  }
  if (sink == 42.0) std::fprintf(stderr, " ");  // keeps the sums alive
  return best;
}

// FLOP/s of independent fused multiply-add chains in registers on every thread, best of 5.
double fma_peak() {
  constexpr int chains = 12;
  constexpr long iterations = 50'000'000;
#if defined(__AVX512F__)
  constexpr int lanes = 16;
#elif defined(__FMA__)
  constexpr int lanes = 8;
#else
  constexpr int lanes = 1;
#endif
  double best = 0.0, sink = 0.0;
  for (int run = 0; run < 5; ++run) {
    const auto start = clock_type::now();
    double total = 0.0;
#pragma omp parallel reduction(+ : total)
    {
#if defined(__AVX512F__)
      __m512 acc[chains];
      for (int k = 0; k < chains; ++k) acc[k] = _mm512_set1_ps(static_cast<float>(k));
      const __m512 scale = _mm512_set1_ps(0.999999f), shift = _mm512_set1_ps(1e-7f);
      for (long i = 0; i < iterations; ++i)
        for (int k = 0; k < chains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], scale, shift);
      float lanes_out[16];  // stored, not _mm512_reduce_add_ps (GCC 12 warns inside it)
      for (int k = 0; k < chains; ++k) {
        _mm512_storeu_ps(lanes_out, acc[k]);
        for (const float v : lanes_out) total += static_cast<double>(v);
      }
#elif defined(__FMA__)
      __m256 acc[chains];
      for (int k = 0; k < chains; ++k) acc[k] = _mm256_set1_ps(static_cast<float>(k));
      const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
      for (long i = 0; i < iterations; ++i)
        for (int k = 0; k < chains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], scale, shift);
      float lanes_out[8];
      for (int k = 0; k < chains; ++k) {
        _mm256_storeu_ps(lanes_out, acc[k]);
        for (const float v : lanes_out) total += static_cast<double>(v);
      }
#else
      float acc[chains];
      for (int k = 0; k < chains; ++k) acc[k] = static_cast<float>(k);
      for (long i = 0; i < iterations; ++i)
        for (int k = 0; k < chains; ++k) acc[k] = std::fma(acc[k], 0.999999f, 1e-7f);
      for (int k = 0; k < chains; ++k) total += static_cast<double>(acc[k]);
#endif
    }
    const double flops = 2.0 * chains * lanes * static_cast<double>(iterations) * thread_count();
    best = std::max(best, flops / seconds_since(start));
    sink += total;
  }
  if (sink == 42.0) std::fprintf(stderr, " ");
  return best;
}

// The 8 completions of the training step all continue prompt 0.
struct fixed_prompt_source {
  std::size_t vocab_size;
  rlft::prompt_batch operator()(std::size_t count) const {
    return {fixed_prompts(count, vocab_size), std::vector<std::string>(count)};
  }
};

// A reward that differs between completions (so advantages are not all zero) and costs nothing.
struct token_parity_reward {
  float operator()(const rlft::reward_input& in) const {
    std::size_t even = 0;
    for (const token_id t : in.completion_tokens) even += (t % 2 == 0) ? 1 : 0;
    return static_cast<float>(even) / static_cast<float>(std::max<std::size_t>(1, in.completion_tokens.size()));
  }
};

struct no_text {
  std::string operator()(std::span<const token_id>) const { return {}; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: rlft_bench_hf_model MODEL_DIR [TRAIN_STEPS]\n");
    return 2;
  }
  const std::string model_dir = argv[1];
  const std::size_t train_steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2;
  nlohmann::json out{{"peer", "rlft"}, {"threads", thread_count()}};
  try {
    out["read_bandwidth_gb_s"] = read_bandwidth() / 1e9;
    out["fma_peak_gflop_s"] = fma_peak() / 1e9;
    out["rss_start_mib"] = current_rss_mib();

    auto start = clock_type::now();
    auto model = rlft::examples::transformer::from_pretrained(model_dir);
    out["load_s"] = seconds_since(start);
    out["parameters"] = model.num_parameters();
    out["rss_after_load_mib"] = current_rss_mib();
    const std::size_t vocab = model.config().vocab_size;

    const rlft::token_sequences prompts = fixed_prompts(prompt_count, vocab);
    // A warm-up call first: the first one also allocates and first touches the packed weights
    // and buffers (seconds on a virtual machine whose memory is not yet backed).
    model.generate(prompts.view(), 1, rlft::categorical{}, {.max_new_tokens = 1, .seed = seed});
    start = clock_type::now();
    model.generate(prompts.view(), 1, rlft::categorical{}, {.max_new_tokens = 1, .seed = seed});
    out["prefill_s"] = seconds_since(start);

    start = clock_type::now();
    const rlft::rollout_batch decoded =
        model.generate(prompts.view(), 1, rlft::categorical{}, {.max_new_tokens = new_tokens, .seed = seed});
    const double decode_s = seconds_since(start);
    out["decode_s"] = decode_s;
    out["decode_tokens"] = decoded.num_completion_tokens();
    out["decode_tokens_per_s"] = static_cast<double>(decoded.num_completion_tokens()) / decode_s;
    out["rss_after_decode_mib"] = current_rss_mib();

    rlft::grpo_trainer trainer(model, rlft::categorical{}, token_parity_reward{}, no_text{}, rlft::grpo_advantage{},
                               rlft::clipped_surrogate_objective{},
                               rlft::grpo_options{.prompts_per_step = 1,
                                                  .group_size = prompt_count,
                                                  .max_new_tokens = new_tokens,
                                                  .reference_logprobs = false,
                                                  .reference_refresh_steps = 0,
                                                  .seed = seed},
                               {.schedule = {.peak_learning_rate = 1e-6f, .final_learning_rate = 1e-6f}});
    out["rss_after_trainer_mib"] = current_rss_mib();
    fixed_prompt_source source{vocab};
    std::vector<double> train_seconds, generate_seconds;
    for (std::size_t step = 0; step < train_steps; ++step) {
      const rlft::grpo_step_metrics m = trainer.step(source);
      if (!m.applied) throw rlft::error("GRPO step skipped: " + m.skipped_because);
      train_seconds.push_back(m.seconds_train);
      generate_seconds.push_back(m.seconds_generate);
    }
    const std::size_t train_tokens = prompt_count * (prompt_length + new_tokens);
    const double best_train = *std::min_element(train_seconds.begin(), train_seconds.end());
    out["train_tokens"] = train_tokens;
    out["train_step_s"] = train_seconds;
    out["train_generate_s"] = generate_seconds;
    out["train_s"] = best_train;
    out["train_tokens_per_s"] = static_cast<double>(train_tokens) / best_train;
    out["rss_after_train_mib"] = current_rss_mib();
    out["peak_rss_mib"] = peak_rss_mib();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlft_bench_hf_model: %s\n", e.what());
    return 1;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
