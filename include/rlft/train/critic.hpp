// PPO's critic (Schulman et al., arXiv 1707.06347; InstructGPT, arXiv 2203.02155; TRL's
// PPOTrainer and verl's critic worker): a value model (rlft::value_model) trained beside the
// policy with its own optimiser and learning rate. estimate_values() fills batch.values() with
// V_t, the value of the state before token t — the model's value at position t − 1, where TRL
// and verl read it — which rlft::gae_advantage turns into advantages and returns; train() then
// fits the values to the returns with the clipped value loss (rlft/objective/value_loss.hpp),
// in μ passes over the batch of mini_batches optimiser updates each, every update accumulated
// over micro-batches of at most micro_batch_tokens tokens (a longer sequence goes alone).
// grpo_trainer takes a critic through the value_critic interface (set_critic).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

#include "rlft/concepts/value_model.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/value_loss.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/policy_update.hpp"

namespace rlft {

struct critic_options {
  std::size_t inner_iterations = 1;  // passes over the batch per step (TRL's num_ppo_epochs, verl's ppo_epochs)
  std::size_t mini_batches = 1;      // optimiser updates per pass
  std::size_t micro_batch_tokens = 8192;
  value_loss_options loss = {};
};

struct critic_metrics {
  std::size_t updates = 0;
  double loss = 0.0;                // of the last update
  double clip_fraction = 0.0;       // share of loss tokens whose clipped term was the larger, all passes
  double value_error = 0.0;         // mean (V − R)² over the loss tokens, all passes
  double explained_variance = 0.0;  // 1 − Var(R − V_old) / Var(R): how well the rollout-time values predicted
  double gradient_norm = 0.0;       // of the last update
  float learning_rate = 0.0f;
};

// What grpo_trainer asks of a critic; rlft::critic<Model> is one.
class value_critic {
 public:
  virtual ~value_critic() = default;
  virtual void estimate_values(rollout_batch& batch) = 0;
  virtual critic_metrics train(const rollout_batch& batch, std::span<const float> returns) = 0;
  virtual void save(const std::filesystem::path& directory) const = 0;
  virtual void load(const std::filesystem::path& directory) = 0;
};

template <value_model Model>
class critic final : public value_critic {
 public:
  // Throws rlft::error on out-of-range options.
  critic(Model& model, critic_options options, policy_update_options update)
      : model_(model), options_(options), update_(update) {
    detail::check_option(options_.inner_iterations >= 1, "critic", "inner_iterations",
                         static_cast<double>(options_.inner_iterations), ">= 1");
    detail::check_option(options_.mini_batches >= 1, "critic", "mini_batches", static_cast<double>(options_.mini_batches),
                         ">= 1");
    detail::check_option(options_.micro_batch_tokens >= 1, "critic", "micro_batch_tokens",
                         static_cast<double>(options_.micro_batch_tokens), ">= 1");
    detail::check_option(options_.loss.clip_range > 0.0, "critic", "loss.clip_range", options_.loss.clip_range,
                         "> 0 (infinity: no clipping)");
    detail::check_aggregation(options_.loss.aggregation, options_.loss.constant_divisor, "critic", "loss.aggregation");
  }

  void estimate_values(rollout_batch& batch) override {
    const auto out = batch.values();
    for_each_micro_batch(batch, 0, batch.num_sequences(), [&](std::size_t first, std::size_t last) {
      const auto positions = position_values(batch, first, last);
      const std::size_t offset = batch.sequence_begin(first);
      for (std::size_t i = 0; i < positions.size(); ++i) out[offset + i] = positions[i];
    });
  }

  // Fits the values to `returns` (one per batch token; the loss tokens' count). The old values
  // are batch.values() from estimate_values. Throws rlft::data_error (naming the token) for a
  // non-finite value or return, or when an update is skipped for a non-finite gradient.
  critic_metrics train(const rollout_batch& batch, std::span<const float> returns) override {
    if (returns.size() != batch.num_tokens())
      throw error(detail::make_message("critic: ", returns.size(), " returns for a batch of ", batch.num_tokens(),
                                       " tokens"));
    critic_metrics metrics{.explained_variance = explained_variance(batch, returns)};
    value_loss_sums all;
    const std::size_t sequences = batch.num_sequences();
    for (std::size_t pass = 0; pass < options_.inner_iterations; ++pass) {
      for (std::size_t m = 0; m < options_.mini_batches; ++m) {
        const std::size_t mini_first = sequences * m / options_.mini_batches;
        const std::size_t mini_last = sequences * (m + 1) / options_.mini_batches;
        if (mini_first == mini_last) continue;
        const aggregation_scope scope = count_aggregation_scope(batch, mini_first, mini_last - mini_first);
        value_loss_sums update_sums;
        try {
          for_each_micro_batch(batch, mini_first, mini_last, [&](std::size_t first, std::size_t last) {
            update_sums.add(fit_micro_batch(batch, first, last, returns, scope));
          });
        } catch (...) {
          model_.zero_grad();
          throw;
        }
        const policy_update_report report = update_.apply(model_);
        if (!report.applied) throw data_error("critic: update skipped: " + report.skipped_because);
        all.add(update_sums);
        metrics.loss = update_sums.loss;
        metrics.gradient_norm = report.gradient_norm;
        metrics.learning_rate = report.learning_rate;
        ++metrics.updates;
      }
    }
    if (all.tokens > 0) {
      metrics.clip_fraction = static_cast<double>(all.clipped) / static_cast<double>(all.tokens);
      metrics.value_error = all.squared_error / static_cast<double>(all.tokens);
    }
    return metrics;
  }

  // The model into directory/model, its optimiser into directory/optimizer.safetensors.
  void save(const std::filesystem::path& directory) const override {
    save_policy(model_, directory / "model");
    update_.save(directory / "optimizer.safetensors");
  }
  void load(const std::filesystem::path& directory) override {
    model_.load(directory / "model");
    update_.load(directory / "optimizer.safetensors");
  }

  policy_update& update() noexcept { return update_; }

 private:
  // body(first, last) for runs of sequences in [first, last) of at most micro_batch_tokens
  // tokens each (a longer sequence alone).
  template <class Body>
  void for_each_micro_batch(const rollout_batch& batch, std::size_t first, std::size_t last, Body&& body) const {
    while (first < last) {
      std::size_t end = first + 1;
      while (end < last && batch.sequence_end(end) - batch.sequence_begin(first) <= options_.micro_batch_tokens) ++end;
      body(first, end);
      first = end;
    }
  }

  // V_t of every token of sequences [first, last): the model's value at t − 1 (0 at a sequence's
  // first token, which no state precedes). Leaves the model's activations for backward_values.
  std::vector<float> position_values(const rollout_batch& batch, std::size_t first, std::size_t last) {
    const token_sequences_view sequences = batch.sequences(first, last - first);
    std::vector<float> read(sequences.num_tokens()), shifted(sequences.num_tokens());
    model_.values(sequences, read);
    const std::size_t offset = batch.sequence_begin(first);
    for (std::size_t s = first; s < last; ++s)
      for (std::size_t t = batch.sequence_begin(s) + 1; t < batch.sequence_end(s); ++t)
        shifted[t - offset] = read[t - 1 - offset];
    return shifted;
  }

  value_loss_sums fit_micro_batch(const rollout_batch& batch, std::size_t first, std::size_t last,
                                  std::span<const float> returns, const aggregation_scope& scope) {
    const std::vector<float> values = position_values(batch, first, last);
    std::vector<float> dvalues(values.size()), dread(values.size(), 0.0f);
    const value_loss_sums sums =
        clipped_value_loss(batch, first, last - first, values, returns, scope, options_.loss, dvalues);
    const std::size_t offset = batch.sequence_begin(first);
    for (std::size_t s = first; s < last; ++s)
      for (std::size_t t = batch.sequence_begin(s) + 1; t < batch.sequence_end(s); ++t)
        dread[t - 1 - offset] = dvalues[t - offset];
    model_.backward_values(batch.sequences(first, last - first), dread);
    return sums;
  }

  // 1 − Var(R − V_old) / Var(R) over the loss tokens (0 when the returns do not vary).
  static double explained_variance(const rollout_batch& batch, std::span<const float> returns) {
    const auto mask = batch.loss_mask();
    const auto old_values = batch.values();
    double n = 0.0, sum_r = 0.0, sum_rr = 0.0, sum_e = 0.0, sum_ee = 0.0;
    for (std::size_t t = 0; t < batch.num_tokens(); ++t) {
      if (!mask[t]) continue;
      const double r = returns[t], e = returns[t] - old_values[t];
      n += 1.0;
      sum_r += r;
      sum_rr += r * r;
      sum_e += e;
      sum_ee += e * e;
    }
    if (n == 0.0) return 0.0;
    const double variance_r = sum_rr / n - (sum_r / n) * (sum_r / n);
    const double variance_e = sum_ee / n - (sum_e / n) * (sum_e / n);
    return variance_r > 0.0 ? 1.0 - variance_e / variance_r : 0.0;
  }

  Model& model_;
  critic_options options_;
  policy_update update_;
};

}  // namespace rlft
