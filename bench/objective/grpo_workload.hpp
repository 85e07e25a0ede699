// The GRPO step workload of the advantage and objective benchmarks, shared by the CPU and CUDA
// programs so that their numbers describe the same work: 1,048,576 tokens in 4096 ragged
// sequences (128 to 384 tokens, 16 to 48 of them prompt) in 256 groups of 16, a third of the
// completions rewarded, log-probs whose ratios stay near 1; R1-Zero's estimator and objective
// (GRPO advantage; ε 0.2, k3 KL with β = 0.001, sequence-mean-token-mean).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"

namespace rlft_bench {

inline constexpr std::size_t total_tokens = std::size_t{1} << 20;
inline constexpr std::size_t sequences = 4096;
inline constexpr std::size_t group_size = 16;

// Bytes a step has to move per token: loss mask (1), advantage written by the estimator and
// read by the objective (4 + 4), current, old and reference log-probs (12), gradient (4).
inline constexpr double bytes_per_token = 25.0;

struct grpo_workload {
  rlft::rollout_batch batch;
  std::vector<float> logprobs;
};

inline grpo_workload make_grpo_workload() {
  rlft::philox_stream random(2026, 0);
  std::vector<std::size_t> lengths(sequences);
  std::size_t sum = 0;
  for (auto& length : lengths) sum += length = 128 + random() % 257;  // 128..384, mean 256
  for (std::size_t s = 0; sum != total_tokens; s = (s + 1) % sequences) {
    if (sum < total_tokens) ++lengths[s], ++sum;
    else --lengths[s], --sum;
  }
  rlft::token_sequences tokens;
  std::vector<std::int64_t> prompt_lengths;
  for (const auto length : lengths) {
    tokens.push_back(std::vector<rlft::token_id>(length, 17));
    prompt_lengths.push_back(static_cast<std::int64_t>(16 + random() % 33));
  }
  auto batch = rlft::rollout_batch::with_group_size(std::move(tokens), std::move(prompt_lengths), group_size);
  std::vector<float> logprobs(batch.num_tokens());
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) {
    const float old = -3.0f * random.uniform();
    batch.old_logprobs()[t] = old;
    logprobs[t] = old + 0.4f * (random.uniform() - 0.5f);
    batch.ref_logprobs()[t] = logprobs[t] + 0.2f * (random.uniform() - 0.5f);
  }
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) batch.rewards().total()[s] = random() % 3 == 0 ? 1.0f : 0.0f;
  return {std::move(batch), std::move(logprobs)};
}

inline const rlft::grpo_advantage r1_estimator{};
inline const rlft::clipped_surrogate_objective r1_objective{
    .clip = {.epsilon_low = 0.2, .epsilon_high = 0.2},
    .kl = {.coefficient = 0.001, .estimator = rlft::kl_estimator::k3},
    .aggregation = rlft::loss_aggregation::sequence_mean_token_mean};

}  // namespace rlft_bench
