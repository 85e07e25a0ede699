// How much memory GRPO with the reference transformer needs, worked out from the model's shape
// before anything is allocated, so that a run that cannot fit stops at once with the breakdown
// instead of being killed hours later. Everything is fp32 (4 bytes a value):
//   parameters      P values (BF16/F16 checkpoints are converted once, on load)
//   gradients       P
//   AdamW moments   2P
//   packed weights  the forward kernels' copy of every matrix (row_stable_gemm's layout), plus
//                   the LM head by columns for the backward pass
//   reference       GRPO's reference policy when the KL term is on: its parameters, gradients
//                   (a copy of the policy, unused) and its own packed weights
//   activations     what one micro-batch's forward keeps for the backward pass, per token and
//                   layer, and the backward's scratch; the reference's forward keeps the same
//   KV cache        every completion's keys and values, prompt plus max_new_tokens, per layer
// The per-token terms are upper bounds for the longest sequences; measured peaks are recorded
// in bench/RESULTS.md beside this estimate.
#pragma once

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include <rlft/core/error.hpp>

#include "transformer/transformer_config.hpp"

namespace rlft::hf {

struct training_shape {
  std::size_t completions = 64;          // prompts per step × group size
  std::size_t max_sequence_tokens = 1024;  // longest prompt + max_new_tokens
  std::size_t micro_batch_tokens = 2048;
  bool reference_model = true;
};

struct training_memory {
  double parameters = 0, gradients = 0, optimizer = 0, packed = 0, reference = 0, activations = 0, kv_cache = 0;
  double total() const { return parameters + gradients + optimizer + packed + reference + activations + kv_cache; }
};

inline training_memory estimate_training_memory(const examples::transformer_config& c, const training_shape& s) {
  const double h = static_cast<double>(c.hidden_size), inter = static_cast<double>(c.intermediate_size);
  const double layers = static_cast<double>(c.num_layers), vocab = static_cast<double>(c.vocab_size);
  const double qkv = static_cast<double>(c.qkv_width()), query = static_cast<double>(c.query_width());
  const double kv = static_cast<double>(c.kv_width()), heads = static_cast<double>(c.num_heads);
  const double layer_matrices = qkv * h + h * query + 2 * inter * h + h * inter;
  const double parameters = static_cast<double>(c.num_parameters());
  const double packed = layers * layer_matrices + vocab * h;
  // Kept per token and layer by the forward (residual, norms, q/k/v, attention output and its
  // log-sum-exp, gate/up and the activation), and the backward's per-token scratch.
  const double forward_per_token = layers * (4 * h + 2 + qkv + query + heads + 3 * inter) + 4 * h + 3;
  const double backward_per_token = 3 * h + qkv + 3 * inter + 2 * std::max(2 * inter, qkv);
  const double tokens = static_cast<double>(s.micro_batch_tokens);
  constexpr double bytes = 4.0;
  training_memory m;
  m.parameters = bytes * parameters;
  m.gradients = bytes * parameters;
  m.optimizer = 2 * bytes * parameters;
  m.packed = bytes * (packed + vocab * h);
  m.reference = s.reference_model ? bytes * (2 * parameters + packed) : 0.0;
  m.activations = bytes * tokens * ((s.reference_model ? 2 : 1) * forward_per_token + backward_per_token);
  m.kv_cache = bytes * static_cast<double>(s.completions) * static_cast<double>(s.max_sequence_tokens) * layers * 2 * kv;
  return m;
}

inline std::string describe(const training_memory& m) {
  const auto gib = [](double b) { return b / (1024.0 * 1024.0 * 1024.0); };
  char text[320];
  std::snprintf(text, sizeof text,
                "estimate %.2f GiB: parameters %.2f, gradients %.2f, AdamW %.2f, packed %.2f, reference %.2f, "
                "activations %.2f, KV cache %.2f",
                gib(m.total()), gib(m.parameters), gib(m.gradients), gib(m.optimizer), gib(m.packed),
                gib(m.reference), gib(m.activations), gib(m.kv_cache));
  return text;
}

// MemAvailable of /proc/meminfo, in bytes; nothing where the system does not say.
inline std::optional<double> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024.0;
  return std::nullopt;
}

// Throws rlft::error with the breakdown when the estimate exceeds limit_gib (0: the memory
// available now) — before the model is loaded.
inline void check_fits(const training_memory& m, double limit_gib) {
  const std::optional<double> limit = limit_gib > 0 ? std::optional(limit_gib * 1024 * 1024 * 1024) : available_memory();
  if (!limit || m.total() <= *limit) return;
  char text[128];
  std::snprintf(text, sizeof text, " exceeds the %.2f GiB %s", *limit / (1024.0 * 1024.0 * 1024.0),
                limit_gib > 0 ? "of --memory-limit-gib" : "available");
  throw error("training memory " + describe(m) + text +
              "; lower --micro-batch-tokens, --group-size, --prompts-per-step or --max-new-tokens, or set --kl 0 "
              "(no reference model)");
}

}  // namespace rlft::hf
