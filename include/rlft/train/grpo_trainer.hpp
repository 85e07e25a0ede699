// GRPO training (DeepSeekMath, arXiv 2402.03300, Algorithm 1; DeepSeek-R1, arXiv 2501.12948,
// section 2.2.1), composed at compile time from a policy, a sampler, a reward expression, an
// advantage estimator and an objective. One step:
//   1. draw P prompts from the prompt source and sample G completions of each;
//   2. score every completion (each reward component kept for logging);
//   3. [dynamic sampling, DAPO arXiv 2503.14476 section 3.2] drop groups whose rewards are all
//      equal and refill from further rounds, up to a limit;
//   4. reference log-probs (for the KL term) and, when the update is not purely on-policy, the
//      old policy's log-probs, cached for the μ inner iterations;
//   5. advantages; then μ inner iterations over mini-batches, each an optimiser update
//      accumulated over micro-batches of a bounded number of tokens;
//   6. every N steps the reference policy is refreshed: replaced (R1) or mixed with the policy.
// With μ = 1 and one mini-batch the update is on-policy: the old log-probs are the current
// ones (ratio 1), taken from the training forward pass instead of a separate one.
// Groups the estimator marks for dropping (equal_reward_policy::drop) leave the loss.
// A NaN reward or loss skips the step and the metrics say why: nothing of it is applied (with
// several mini-batches, the updates before the failing one stay applied and are counted).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/rewards/score_rollouts.hpp"
#include "rlft/train/gather_groups.hpp"
#include "rlft/train/prompt_batch.hpp"
#include "rlft/train/policy_update.hpp"

namespace rlft {

enum class kl_placement {
  loss,    // the objective's KL term (R1, DeepSeekMath): configure it in the objective
  reward,  // subtract β·Σ_t KL_t from each completion's reward (component "kl_penalty")
};

struct grpo_options {
  std::size_t prompts_per_step = 16;     // P
  std::size_t group_size = 16;           // G (R1: 16)
  std::size_t max_new_tokens = 256;
  std::vector<token_id> stop_tokens = {};
  std::size_t inner_iterations = 1;      // μ
  std::size_t mini_batches = 1;          // optimiser updates per inner iteration
  std::size_t micro_batch_tokens = 8192; // gradient accumulation granularity
  bool reference_logprobs = true;        // compute them (the KL term and its metric need them)
  std::size_t reference_refresh_steps = 400;  // 0: never (R1 replaces it every 400 steps)
  float reference_mix = 1.0f;            // 1: replace; α < 1: θ_ref ← α·θ + (1 − α)·θ_ref
  kl_placement kl = kl_placement::loss;
  float kl_reward_coefficient = 0.0f;    // β of kl_placement::reward (k3 estimator)
  bool dynamic_sampling = false;
  std::size_t max_sampling_rounds = 4;   // generation rounds per step with dynamic sampling
  bool mask_truncated_completions = false;
  std::uint64_t seed = 0;

  // Throws rlft::error naming the first option out of range.
  void validate() const {
    const auto fail = [](auto... parts) { throw error(detail::make_message("grpo options: ", parts...)); };
    if (prompts_per_step == 0) fail("prompts_per_step must be at least 1");
    if (group_size == 0) fail("group_size must be at least 1");
    if (max_new_tokens == 0) fail("max_new_tokens must be at least 1");
    if (inner_iterations == 0) fail("inner_iterations must be at least 1");
    if (mini_batches == 0) fail("mini_batches must be at least 1");
    if (micro_batch_tokens == 0) fail("micro_batch_tokens must be at least 1");
    if (!(reference_mix > 0.0f && reference_mix <= 1.0f)) fail("reference_mix must be in (0, 1], got ", reference_mix);
    if (!(kl_reward_coefficient >= 0.0f)) fail("kl_reward_coefficient must be >= 0, got ", kl_reward_coefficient);
    if (dynamic_sampling && max_sampling_rounds == 0) fail("max_sampling_rounds must be at least 1");
  }
};

struct reward_statistics {
  std::string name;
  double mean = 0.0;
  double std = 0.0;
};

struct grpo_step_metrics {
  std::size_t step = 0;
  bool applied = false;
  std::string skipped_because = {};
  std::vector<reward_statistics> rewards = {};  // each component, then "total"
  double completion_length = 0.0;              // mean completion tokens
  double truncated_share = 0.0;
  double equal_reward_group_share = 0.0;        // groups without learning signal (before dropping)
  std::size_t groups = 0;                       // groups trained on
  std::size_t sampling_rounds = 0;
  double loss = 0.0;
  objective_metrics objective = {};             // token-weighted over all micro-batches
  double gradient_norm = 0.0;                   // of the last update
  float learning_rate = 0.0f;
  std::size_t updates = 0;
  double seconds_generate = 0.0, seconds_score = 0.0, seconds_reference = 0.0, seconds_train = 0.0;
  double seconds_total = 0.0;
  double generated_tokens_per_second = 0.0;
};

template <policy Policy, sampler Sampler, reward_expression Reward, token_decoder Decode,
          advantage_estimator Estimator, policy_objective Objective>
class grpo_trainer {
 public:
  grpo_trainer(Policy& policy, Sampler sampler, Reward reward, Decode decode, Estimator estimator,
               Objective objective, grpo_options options, policy_update_options update)
      : policy_(policy),
        reference_(policy),
        sampler_(std::move(sampler)),
        reward_(std::move(reward)),
        decode_(std::move(decode)),
        estimator_(std::move(estimator)),
        objective_(std::move(objective)),
        options_(std::move(options)),
        update_(update) {
    options_.validate();
  }

  template <prompt_source Source>
  grpo_step_metrics step(Source& source) {
    using clock = std::chrono::steady_clock;
    const auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
    const auto start = clock::now();
    grpo_step_metrics metrics{.step = ++steps_};
    std::size_t generated_tokens = 0;
    std::optional<rollout_batch> trained;
    try {
      trained = collect_rollouts(source, metrics, generated_tokens);
    } catch (const error& e) {  // a NaN or infinite reward, a failing reward
      metrics.skipped_because = e.what();
    }
    metrics.generated_tokens_per_second =
        metrics.seconds_generate > 0.0 ? static_cast<double>(generated_tokens) / metrics.seconds_generate : 0.0;
    if (trained) {
      rollout_batch& batch = *trained;
      summarise_rollouts(batch, metrics);
      const auto reference_start = clock::now();
      if (options_.reference_logprobs) forward_in_micro_batches(reference_, batch, batch.ref_logprobs());
      if (!old_from_training_pass()) forward_in_micro_batches(policy_, batch, batch.old_logprobs());
      metrics.seconds_reference = seconds_since(reference_start);
      const auto train_start = clock::now();
      try {
        if (options_.kl == kl_placement::reward) fold_kl_into_rewards(batch);
        clear_dropped_groups(batch, estimator_(batch, batch.advantages()));
        train_on(batch, metrics);
      } catch (const error& e) {  // NaN loss or inputs, a non-finite gradient
        policy_.zero_grad();
        metrics.applied = false;
        metrics.skipped_because = e.what();
      }
      metrics.seconds_train = seconds_since(train_start);
    }
    if (options_.reference_refresh_steps > 0 && steps_ % options_.reference_refresh_steps == 0) refresh_reference();
    metrics.seconds_total = seconds_since(start);
    return metrics;
  }

  Policy& policy() noexcept { return policy_; }
  Policy& reference() noexcept { return reference_; }
  policy_update& update() noexcept { return update_; }
  std::size_t steps() const noexcept { return steps_; }
  std::uint64_t streams_used() const noexcept { return next_stream_; }
  // For resuming: the step count and Philox streams already used.
  void restore_position(std::size_t steps, std::uint64_t streams_used) {
    steps_ = steps;
    next_stream_ = streams_used;
  }

 private:
  // μ = 1 and one mini-batch: the old policy is the current one, so its log-probs come from the
  // training forward pass — unless the KL goes into the reward, which needs them before.
  bool old_from_training_pass() const noexcept {
    return options_.inner_iterations == 1 && options_.mini_batches == 1 && options_.kl == kl_placement::loss;
  }

  template <class Source>
  rollout_batch generate_and_score(Source& source, std::size_t prompts, grpo_step_metrics& metrics,
                                   std::size_t& generated_tokens) {
    using clock = std::chrono::steady_clock;
    prompt_batch drawn = source(prompts);
    if (drawn.prompts.size() != drawn.references.size())
      throw error(detail::make_message("grpo: the prompt source gave ", drawn.prompts.size(), " prompts and ",
                                       drawn.references.size(), " references"));
    const auto generate_start = clock::now();
    rollout_batch batch = policy_.generate(drawn.prompts.view(), options_.group_size, sampler_,
                                           {.max_new_tokens = options_.max_new_tokens,
                                            .stop_tokens = options_.stop_tokens,
                                            .seed = options_.seed,
                                            .first_stream = next_stream_});
    next_stream_ += batch.num_sequences();
    generated_tokens += batch.num_completion_tokens();
    metrics.seconds_generate += std::chrono::duration<double>(clock::now() - generate_start).count();
    const auto score_start = clock::now();
    score_rollouts(batch, reward_, decode_, drawn.references);
    metrics.seconds_score += std::chrono::duration<double>(clock::now() - score_start).count();
    if (options_.mask_truncated_completions)
      for (std::size_t s = 0; s < batch.num_sequences(); ++s)
        if (batch.truncated()[s])
          std::fill_n(batch.loss_mask().begin() + static_cast<std::ptrdiff_t>(batch.sequence_begin(s)),
                      batch.sequence_end(s) - batch.sequence_begin(s), std::uint8_t{0});
    return batch;
  }

  static bool rewards_all_equal(const rollout_batch& batch, std::size_t g) {
    const auto total = batch.rewards().total();
    for (std::size_t s = batch.group_begin(g) + 1; s < batch.group_end(g); ++s)
      if (total[s] != total[batch.group_begin(g)]) return false;
    return true;
  }

  template <class Source>
  rollout_batch collect_rollouts(Source& source, grpo_step_metrics& metrics, std::size_t& generated_tokens) {
    rollout_batch first = generate_and_score(source, options_.prompts_per_step, metrics, generated_tokens);
    metrics.sampling_rounds = 1;
    std::size_t equal = 0;
    for (std::size_t g = 0; g < first.num_groups(); ++g) equal += rewards_all_equal(first, g);
    metrics.equal_reward_group_share = static_cast<double>(equal) / static_cast<double>(first.num_groups());
    if (!options_.dynamic_sampling) return first;

    // Keep groups with a learning signal until P of them are found or the rounds run out.
    std::vector<rollout_batch> rounds;
    rounds.reserve(options_.max_sampling_rounds);  // keeps the addresses in `kept` valid
    rounds.push_back(std::move(first));
    std::vector<group_reference> kept;
    for (std::size_t round = 0;; ++round) {
      const rollout_batch& batch = rounds[round];
      for (std::size_t g = 0; g < batch.num_groups() && kept.size() < options_.prompts_per_step; ++g)
        if (!rewards_all_equal(batch, g)) kept.push_back({&batch, g});
      if (kept.size() == options_.prompts_per_step || round + 1 == options_.max_sampling_rounds) break;
      rounds.push_back(generate_and_score(source, options_.prompts_per_step, metrics, generated_tokens));
      ++metrics.sampling_rounds;
    }
    if (kept.empty()) throw error("grpo: every sampled group had equal rewards; nothing to learn from");
    return gather_groups(kept);
  }

  void summarise_rollouts(const rollout_batch& batch, grpo_step_metrics& metrics) const {
    const auto statistics = [&](std::string name, std::span<const float> values) {
      double mean = 0.0, square = 0.0;
      for (const float v : values) mean += v;
      mean /= static_cast<double>(values.size());
      for (const float v : values) square += (v - mean) * (v - mean);
      return reward_statistics{std::move(name), mean, std::sqrt(square / static_cast<double>(values.size()))};
    };
    for (std::size_t c = 0; c < batch.rewards().num_components(); ++c)
      metrics.rewards.push_back(statistics(batch.rewards().component_name(c), batch.rewards().component(c)));
    metrics.rewards.push_back(statistics("total", batch.rewards().total()));
    double length = 0.0, truncated = 0.0;
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      length += static_cast<double>(batch.completion_length(s));
      truncated += batch.truncated()[s];
    }
    metrics.completion_length = length / static_cast<double>(batch.num_sequences());
    metrics.truncated_share = truncated / static_cast<double>(batch.num_sequences());
    metrics.groups = batch.num_groups();
  }

  // Consecutive sequences [first, last) of at most micro_batch_tokens tokens (at least one).
  std::vector<std::pair<std::size_t, std::size_t>> micro_batches(const rollout_batch& batch, std::size_t first,
                                                                 std::size_t last) const {
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    while (first < last) {
      std::size_t end = first + 1;
      while (end < last && batch.sequence_end(end) - batch.sequence_begin(first) <= options_.micro_batch_tokens) ++end;
      ranges.emplace_back(first, end);
      first = end;
    }
    return ranges;
  }

  void forward_in_micro_batches(Policy& model, const rollout_batch& batch, std::span<float> out) const {
    for (const auto& [first, last] : micro_batches(batch, 0, batch.num_sequences())) {
      const std::size_t begin = batch.sequence_begin(first);
      model.log_probs(batch.sequences(first, last - first), out.subspan(begin, batch.sequence_end(last - 1) - begin));
    }
  }

  void fold_kl_into_rewards(rollout_batch& batch) {
    const auto existing = batch.rewards().find("kl_penalty");
    const auto column = batch.rewards().component(existing ? *existing : batch.rewards().add_component("kl_penalty"));
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      double kl = 0.0;
      for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
        if (batch.loss_mask()[t])
          kl += estimate_kl<kl_estimator::k3>(static_cast<double>(batch.old_logprobs()[t]),
                                              static_cast<double>(batch.ref_logprobs()[t]), 20.0)
                    .value;
      column[s] = static_cast<float>(-options_.kl_reward_coefficient * kl);
      batch.rewards().total()[s] += column[s];
    }
  }

  void train_on(rollout_batch& batch, grpo_step_metrics& metrics) {
    const std::size_t sequences = batch.num_sequences();
    double weighted_tokens = 0.0;
    objective_metrics& sum = metrics.objective;
    for (std::size_t iteration = 0; iteration < options_.inner_iterations; ++iteration) {
      for (std::size_t m = 0; m < options_.mini_batches; ++m) {
        const std::size_t mini_first = sequences * m / options_.mini_batches;
        const std::size_t mini_last = sequences * (m + 1) / options_.mini_batches;
        if (mini_first == mini_last) continue;
        const aggregation_scope scope = count_aggregation_scope(batch, mini_first, mini_last - mini_first);
        double loss = 0.0;
        for (const auto& [first, last] : micro_batches(batch, mini_first, mini_last)) {
          const auto view = batch.sequences(first, last - first);
          const std::size_t begin = batch.sequence_begin(first);
          const std::size_t count = view.num_tokens();
          std::vector<float> logprobs(count), gradients(count, 0.0f);
          std::vector<float> entropy, entropy_gradients;
          if constexpr (entropy_policy<Policy>) {
            entropy.resize(count);
            entropy_gradients.assign(count, 0.0f);
            policy_.log_probs(view, logprobs, entropy);
          } else {
            policy_.log_probs(view, logprobs);
          }
          if (old_from_training_pass())
            std::copy(logprobs.begin(), logprobs.end(), batch.old_logprobs().begin() + static_cast<std::ptrdiff_t>(begin));
          const objective_result result = objective_(
              {.batch = batch, .first_sequence = first, .sequence_count = last - first, .logprobs = logprobs,
               .entropy = entropy, .scope = scope},
              {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});
          if (!std::isfinite(result.loss)) throw error("grpo: the loss is not finite");
          loss += result.loss;
          accumulate(sum, result.metrics, weighted_tokens);
          if constexpr (entropy_policy<Policy>) {
            policy_.backward(view, gradients, entropy_gradients);
          } else {
            policy_.backward(view, gradients);
          }
        }
        const policy_update_report report = update_.apply(policy_);
        if (!report.applied) throw error("grpo: update skipped: " + report.skipped_because);
        metrics.loss = loss;
        metrics.gradient_norm = report.gradient_norm;
        metrics.learning_rate = report.learning_rate;
        ++metrics.updates;
      }
    }
    metrics.applied = true;
  }

  // Token-weighted running means of the objective's metrics (ratio_max: the maximum).
  static void accumulate(objective_metrics& sum, const objective_metrics& part, double& tokens) {
    const double total = tokens + static_cast<double>(part.tokens);
    if (total == 0.0) return;
    const double w = static_cast<double>(part.tokens) / total;
    const auto mix = [&](double& into, double value) { into += w * (value - into); };
    mix(sum.policy_loss, part.policy_loss);
    mix(sum.kl_mean, part.kl_mean);
    mix(sum.entropy_mean, part.entropy_mean);
    mix(sum.clip_fraction_low, part.clip_fraction_low);
    mix(sum.clip_fraction_high, part.clip_fraction_high);
    mix(sum.dual_clip_fraction, part.dual_clip_fraction);
    mix(sum.ratio_mean, part.ratio_mean);
    sum.ratio_max = std::max(sum.ratio_max, part.ratio_max);
    sum.tokens += part.tokens;
    tokens = total;
  }

  void refresh_reference() {
    if (options_.reference_mix >= 1.0f) {
      reference_ = policy_;
      return;
    }
    auto mixed = reference_.parameters();
    auto current = policy_.parameters();
    auto to = std::ranges::begin(mixed);
    for (auto from = std::ranges::begin(current); from != std::ranges::end(current); ++from, ++to) {
      const parameter_ref source = *from, target = *to;
      for (std::size_t i = 0; i < target.values.size(); ++i)
        target.values[i] = options_.reference_mix * source.values[i] + (1.0f - options_.reference_mix) * target.values[i];
    }
  }

  Policy& policy_;
  Policy reference_;
  Sampler sampler_;
  Reward reward_;
  Decode decode_;
  Estimator estimator_;
  Objective objective_;
  grpo_options options_;
  policy_update update_;
  std::size_t steps_ = 0;
  std::uint64_t next_stream_ = 0;
};

}  // namespace rlft
