// Random but reproducible inputs for the objective tests: a ragged batch with several groups,
// masked completion tokens and one fully masked completion; old, reference and current
// log-probs whose ratios reach every clip region (and the log-ratio clamps); per-token
// advantages and entropies. Values are nudged away from the kinks of the loss (clip bounds,
// dual-clip and two-sided bounds, clamp bounds) so central differences see a smooth function.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "rlft/core/philox.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/loss_aggregation.hpp"

namespace rlft_test {

inline constexpr rlft::loss_aggregation all_aggregations[] = {
    rlft::loss_aggregation::token_mean, rlft::loss_aggregation::sequence_mean_token_mean,
    rlft::loss_aggregation::sequence_mean_token_sum, rlft::loss_aggregation::sequence_mean_token_sum_normalized,
    rlft::loss_aggregation::token_sum};

struct objective_fixture {
  rlft::rollout_batch batch;
  std::vector<double> logprobs;
  std::vector<double> entropy;
};

struct fixture_shape {
  int sequences = 12;
  int group_size = 4;
  int max_completion = 12;
  bool constant_advantage_per_sequence = false;
};

inline double uniform(rlft::philox_stream& random, double low, double high) {
  return low + (high - low) * static_cast<double>(random.uniform());
}

// Moves x up in steps of 0.013 until no kink lies within `margin` of it.
inline double away_from(double x, std::initializer_list<double> kinks, double margin = 1e-3) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const bool close = std::any_of(kinks.begin(), kinks.end(), [&](double k) { return std::abs(x - k) < margin; });
    if (!close) return x;
    x += 0.013;
  }
  return x;
}

inline objective_fixture make_objective_fixture(std::uint64_t seed, const fixture_shape& shape = {}) {
  rlft::philox_stream random(seed, 0);
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (int s = 0; s < shape.sequences; ++s) {
    const auto prompt = 1 + static_cast<int>(random() % 3);
    const auto completion = 1 + static_cast<int>(random() % static_cast<std::uint32_t>(shape.max_completion));
    sequences.push_back(std::vector<rlft::token_id>(static_cast<std::size_t>(prompt + completion), 3));
    prompt_lengths.push_back(prompt);
  }
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths),
                                                    static_cast<std::size_t>(shape.group_size));
  // Some masked completion tokens, and one completion masked entirely.
  for (std::size_t t = 0; t < batch.num_tokens(); ++t)
    if (batch.loss_mask()[t] && random() % 8 == 0) batch.loss_mask()[t] = 0;
  for (std::size_t t = batch.sequence_begin(1); t < batch.sequence_end(1); ++t) batch.loss_mask()[t] = 0;

  // Kinks of the log-ratio for the clip configurations the tests use (ε 0.2/0.28, c = 3,
  // δ = 2, the ±20 clamps, GMPO's log-space clip at ±0.4) and of the KL log-ratio (the ±20
  // clamp).
  const std::initializer_list<double> ratio_kinks{std::log(0.8), std::log(1.2), std::log(1.28), std::log(3.0),
                                                  std::log(2.0), -20.0, 20.0, -0.4, 0.4};
  std::vector<double> logprobs(batch.num_tokens(), 0.0), entropy(batch.num_tokens(), 0.0);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    const double sequence_advantage = uniform(random, -2.0, 2.0);
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) {
      const double old = uniform(random, -3.0, -0.05);
      // Mostly moderate ratios; now and then one beyond the log-ratio clamp (below it, so
      // the loss stays small enough for finite differences to resolve every token).
      double log_ratio = random() % 16 == 0 ? -25.0 : uniform(random, -1.5, 1.5);
      log_ratio = away_from(log_ratio, ratio_kinks);
      double kl_log_ratio = random() % 16 == 0 ? -24.0 : uniform(random, -1.2, 1.2);
      kl_log_ratio = away_from(kl_log_ratio, {-20.0, 20.0, 0.0});  // 0: the kink of the abs estimator
      batch.old_logprobs()[t] = static_cast<float>(old);
      logprobs[t] = static_cast<double>(static_cast<float>(old + log_ratio));
      batch.ref_logprobs()[t] = static_cast<float>(logprobs[t] + kl_log_ratio);
      batch.advantages()[t] = static_cast<float>(shape.constant_advantage_per_sequence ? sequence_advantage
                                                                                        : uniform(random, -2.0, 2.0));
      entropy[t] = static_cast<double>(static_cast<float>(uniform(random, 0.0, 3.0)));
    }
    // GSPO clips the mean log-ratio of the sequence's loss tokens: keep that off the kinks too.
    double sum = 0.0, tokens = 0.0;
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
      if (batch.loss_mask()[t]) {
        sum += logprobs[t] - static_cast<double>(batch.old_logprobs()[t]);
        tokens += 1.0;
      }
    if (tokens == 0.0) continue;
    const double shift = away_from(sum / tokens, ratio_kinks) - sum / tokens;
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
      logprobs[t] = static_cast<double>(static_cast<float>(logprobs[t] + shift));
  }
  return {std::move(batch), std::move(logprobs), std::move(entropy)};
}

}  // namespace rlft_test
