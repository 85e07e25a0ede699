// GRPO training (DeepSeekMath, arXiv 2402.03300, Algorithm 1; DeepSeek-R1, arXiv 2501.12948,
// section 2.2.1), composed at compile time from a policy, a sampler, a reward, an advantage
// estimator and an objective. The trainer orchestrates; each rule lives in its module. One step:
//   1. draw P prompts from the prompt source and sample G completions of each;
//   2. score every completion (each reward component kept for logging);
//   3. the estimator's summary marks the groups to drop (equal_reward_policy::drop); with
//      max_sampling_rounds > 1 they are refilled from further rounds, up to that limit (DAPO's
//      dynamic sampling, arXiv 2503.14476, section 3.2), else they leave the loss;
//   4. reference log-probs (for the KL term) and, when the update is not purely on-policy, the
//      old policy's log-probs, cached for the μ inner iterations;
//   5. advantages; then μ inner iterations over mini-batches, each an optimiser update
//      accumulated over micro-batches of a bounded number of tokens;
//   6. every N steps the reference policy is refreshed: replaced (R1) or mixed with the policy.
// With a critic (set_critic: PPO with a value model, rlft/train/critic.hpp) the critic's values
// fill the batch before step 5, the estimator (rlft::gae_advantage) also gives the returns,
// and the critic is fitted to them before the policy's update, as TRL's and verl's PPO do.
// With μ = 1 and one mini-batch the update is on-policy: the old log-probs are the current
// ones (ratio 1), taken from the training forward pass instead of a separate one.
// Errors come in two tiers (rlft/core/error.hpp): rlft::data_error (a NaN reward, logit, loss or
// gradient) skips the step — nothing of it is applied (with several mini-batches, the updates
// before the failing one stay applied and are counted) and the metrics say why; every other
// rlft::error (an option out of range, a prompt source that gives fewer references than
// prompts, a token outside the vocabulary, a failing device) is the caller's to fix and leaves
// step() at once.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/advantage/detail/moments.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/policy_objective.hpp"
#include "rlft/concepts/prompt_source.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/distributed/gradient_tree.hpp"
#include "rlft/distributed/rollout_exchange.hpp"
#include "rlft/objective/kl_estimator.hpp"
#include "rlft/objective/loss_aggregation.hpp"
#include "rlft/objective/rollout_correction.hpp"
#include "rlft/rewards/composition.hpp"
#include "rlft/rewards/score_rollouts.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/critic.hpp"
#include "rlft/train/gather_groups.hpp"
#include "rlft/train/policy_update.hpp"

namespace rlft {

struct grpo_options {
  std::size_t prompts_per_step = 16;     // P
  std::size_t group_size = 16;           // G (R1: 16)
  std::size_t max_new_tokens = 256;
  std::vector<token_id> stop_tokens = {};
  std::size_t inner_iterations = 1;      // μ
  std::size_t mini_batches = 1;          // optimiser updates per inner iteration
  std::size_t micro_batch_tokens = 8192; // gradient accumulation granularity
  bool reference_logprobs = true;        // compute them (the KL term and its metric need them); off, the
                                         // trainer keeps no copy of the policy
  std::size_t reference_refresh_steps = 400;  // 0: never (R1 replaces it every 400 steps)
  float reference_mix = 1.0f;            // 1: replace; α < 1: θ_ref ← α·θ + (1 − α)·θ_ref
  // A KL penalty folded into the rewards: β·Σ_t KL_t over a completion's loss tokens, with the
  // estimator and bounds of rlft::kl_penalty, is subtracted from its reward (component
  // "kl_penalty"). Coefficient 0 (the default) leaves the rewards alone; R1 puts the KL term
  // in the objective instead (its own kl option).
  kl_penalty reward_kl = {};
  // 1: one generation round. More: the groups the estimator drops (equal_reward_policy::drop)
  // are refilled from up to this many rounds in all (DAPO's dynamic sampling).
  std::size_t max_sampling_rounds = 1;
  bool mask_truncated_completions = false;
  // Importance corrections of sampling against training log-probs (rollouts from another
  // engine); none by default. With one, the old log-probs come from a forward pass before
  // training. With rlft's own rollouts every ratio is 1 and the step is unchanged.
  rlft::rollout_correction rollout_correction = {};
  std::uint64_t seed = 0;
  // Data parallelism (a communicator with several ranks). The mini-batch's gradient is the
  // sum of this many shards' gradients in a fixed binary tree (rlft/distributed/
  // gradient_tree.hpp): a power of two, at least the number of ranks. Runs with the same number
  // of shards give the same parameters bit for bit on 1, 2, 4... processes; 1 (one process
  // only) accumulates the micro-batches in place, without the tree's extra gradient copies.
  std::size_t gradient_shards = 1;
  // Every this many steps the ranks compare a hash of the parameters and stop with an error
  // when they differ (0: never).
  std::size_t parameter_check_steps = 50;

  // Throws rlft::error naming the first option out of range.
  void validate() const {
    constexpr const char* owner = "grpo options";
    const auto at_least_one = [&](std::size_t value, const char* option) {
      detail::check_option(value >= 1, owner, option, static_cast<double>(value), ">= 1");
    };
    at_least_one(prompts_per_step, "prompts_per_step");
    at_least_one(group_size, "group_size");
    at_least_one(max_new_tokens, "max_new_tokens");
    at_least_one(inner_iterations, "inner_iterations");
    at_least_one(mini_batches, "mini_batches");
    at_least_one(micro_batch_tokens, "micro_batch_tokens");
    at_least_one(max_sampling_rounds, "max_sampling_rounds");
    detail::check_option(reference_mix > 0.0f && reference_mix <= 1.0f, owner, "reference_mix", reference_mix,
                         "in (0, 1]");
    detail::check_kl_penalty(reward_kl, "grpo options (reward_kl)");
    detail::check_rollout_correction(rollout_correction);
    detail::check_option(detail::is_power_of_two(gradient_shards), owner,
                         "gradient_shards", static_cast<double>(gradient_shards), "a power of two");
  }

  bool corrects_rollouts() const noexcept { return rollout_correction.truncate || rollout_correction.mask; }
};

struct reward_statistics {
  std::string name;
  double mean = 0.0;
  double std = 0.0;
};

// A skipped step keeps the shape of an applied one: every reward component is listed (NaN
// where scoring did not finish) and skipped_because says why.
struct grpo_step_metrics {
  std::size_t step = 0;
  bool applied = false;
  std::string skipped_because = {};
  std::vector<reward_statistics> rewards = {};  // each component, then "total"
  double completion_length = 0.0;              // mean completion tokens
  double truncated_share = 0.0;
  double equal_reward_group_share = 0.0;        // of the first round's groups, as the estimator saw them
  std::size_t groups = 0;                       // groups trained on (dropped ones left out)
  std::size_t sampling_rounds = 0;
  rollout_correction_report rollout_correction = {};  // with grpo_options::rollout_correction
  double loss = 0.0;
  objective_metrics objective = {};             // token-weighted over all micro-batches
  critic_metrics critic = {};                   // with a critic (set_critic)
  double gradient_norm = 0.0;                   // of the last update
  float learning_rate = 0.0f;
  std::size_t updates = 0;
  double seconds_generate = 0.0, seconds_score = 0.0, seconds_reference = 0.0, seconds_train = 0.0;
  double seconds_communicate = 0.0;  // with several ranks: exchanging rollouts, log-probs, gradients
  double seconds_total = 0.0;
  double generated_tokens_per_second = 0.0;
};

// Reward: an rlft::reward_expression (named components, each logged), or a plain
// rlft::reward_function, which is logged as one component named "reward".
// Communicator: the processes of a data-parallel run (rlft/distributed/); one process by
// default. Every rank draws the same prompts; rank r generates and scores its share of the
// groups (with the Philox streams the single process would use), and every rank then holds
// the whole scored batch, so advantages and dynamic sampling see what one process sees. The
// reference and old log-probs and the training micro-batches are split by sequences; each
// update's gradient is summed over the ranks in the fixed tree of grpo_options::gradient_shards,
// and every rank applies the same update.
template <policy Policy, sampler Sampler, reward_function Reward, token_decoder Decode,
          advantage_estimator Estimator, policy_objective Objective,
          communicator Communicator = single_process_communicator>
class grpo_trainer {
 public:
  // Throws rlft::error when an option is out of range, the group size leaves every advantage
  // of the estimator zero by construction, or dynamic sampling is asked of an estimator that
  // keeps equal-reward groups.
  grpo_trainer(Policy& policy, Sampler sampler, Reward reward, Decode decode, Estimator estimator,
               Objective objective, grpo_options options, policy_update_options update,
               Communicator ranks = Communicator())
      : policy_(policy),
        reference_(options.reference_logprobs ? std::optional<Policy>(policy) : std::nullopt),
        sampler_(std::move(sampler)),
        reward_(as_reward_expression(std::move(reward))),
        decode_(std::move(decode)),
        estimator_(std::move(estimator)),
        objective_(std::move(objective)),
        options_(std::move(options)),
        update_(update),
        comm_(std::move(ranks)) {
    options_.validate();
    check_estimator_options();
    if (options_.prompts_per_step < comm_.size())
      throw error(detail::make_message("grpo options: prompts_per_step = ", options_.prompts_per_step, " gives ",
                                       comm_.size(), " ranks less than one prompt each"));
    if (options_.gradient_shards < comm_.size())
      throw error(detail::make_message("grpo options: gradient_shards = ", options_.gradient_shards, " for ",
                                       comm_.size(), " ranks: every rank needs a shard (a power of two >= ",
                                       comm_.size(), ")"));
  }

  template <prompt_source Source>
  grpo_step_metrics step(Source& source) {
    const auto start = std::chrono::steady_clock::now();
    grpo_step_metrics metrics{.step = ++steps_};
    std::size_t generated_tokens = 0;
    try {
      rollout_batch batch = collect_rollouts(source, metrics, generated_tokens);
      learn_from(batch, metrics, options_.max_sampling_rounds == 1);
      last_rollouts_ = std::move(batch);
    } catch (const data_error& e) {
      skip(metrics, e);
    }
    metrics.generated_tokens_per_second =
        metrics.seconds_generate > 0.0 ? static_cast<double>(generated_tokens) / metrics.seconds_generate : 0.0;
    return finish_step(metrics, start);
  }

  // One step on rollouts made elsewhere and already scored (rlft::io::read_rollouts: another
  // engine's completions with their sampling log-probs and rewards): reference and old
  // log-probs, advantages, grpo_options::rollout_correction and the update, as step() does
  // after generating; the batch's groups are trained as they are (no dynamic sampling). Throws
  // rlft::error when a group is smaller than the estimator needs; bad data (a token the policy
  // does not know, a non-finite log-prob) skips the step as in step(). With several ranks,
  // every rank passes the same whole batch.
  grpo_step_metrics step_on(rollout_batch batch) {
    const auto start = std::chrono::steady_clock::now();
    if constexpr (requires { estimator_.minimum_group_size(); }) {
      for (std::size_t g = 0; g < batch.num_groups(); ++g)
        if (batch.group_size(g) < estimator_.minimum_group_size())
          throw error(detail::make_message("grpo: group ", g, " of the rollouts holds ", batch.group_size(g),
                                           " completions; the estimator needs ", estimator_.minimum_group_size()));
    }
    grpo_step_metrics metrics{.step = ++steps_, .sampling_rounds = 1};
    try {
      mask_truncated(batch);
      learn_from(batch, metrics, /*one_round=*/true);
    } catch (const data_error& e) {
      skip(metrics, e);
    }
    return finish_step(metrics, start);
  }

  // A checkpoint of the run so far, named step-<steps> in `checkpoints`: policy, reference
  // policy, optimiser, step count, Philox streams and prompts drawn, with the caller's
  // validation state and JSON. Throws rlft::io_error when it cannot be written (the previous
  // checkpoint then stays the latest).
  // With several ranks only rank 0 writes (every rank holds the same state).
  void save_checkpoint(checkpoint_directory& checkpoints, const nlohmann::json& caller_state = {},
                       const best_policy<Policy>* validation = nullptr) const {
    if (comm_.rank() != 0) return;
    const nlohmann::json state{{"trainer", "grpo"},
                               {"steps", steps_},
                               {"streams_used", next_stream_},
                               {"prompts_drawn", prompts_drawn_},
                               {"validation", validation ? validation->record() : nullptr},
                               {"caller", caller_state}};
    checkpoints.save("step-" + std::to_string(steps_), state, [&](const std::filesystem::path& directory) {
      save_policy(policy_, directory / "policy");
      if (reference_) save_policy(*reference_, directory / "reference");
      update_.save(directory / "optimizer.safetensors");
      if (critic_) critic_->save(directory / "critic");
      if (validation) validation->save(directory);
    });
  }

  // Continues the run `from` a checkpoint save_checkpoint wrote: the next step() draws, samples
  // and updates exactly as the uninterrupted run's would. A seekable source is moved past the
  // prompts already drawn; another must be positioned by the caller (prompts_drawn()).
  // Returns the caller's JSON. Throws rlft::io_error for a missing or malformed checkpoint.
  template <prompt_source Source>
  nlohmann::json resume(const checkpoint_directory::checkpoint& from, Source& source,
                        best_policy<Policy>* validation = nullptr) {
    detail::check_trainer_state(from, "grpo");
    const auto steps = detail::state_field<std::size_t>(from, "steps");
    const auto streams = detail::state_field<std::uint64_t>(from, "streams_used");
    const auto drawn = detail::state_field<std::uint64_t>(from, "prompts_drawn");
    policy_.load(from.directory / "policy");
    if (reference_) reference_->load(from.directory / "reference");
    update_.load(from.directory / "optimizer.safetensors");
    if (critic_) critic_->load(from.directory / "critic");
    if (validation) validation->load(from.directory, from.state.value("validation", nlohmann::json()), policy_);
    steps_ = steps;
    next_stream_ = streams;
    prompts_drawn_ = drawn;
    if constexpr (seekable_prompt_source<Source>) source.seek(prompts_drawn_);
    return from.state.value("caller", nlohmann::json::object());
  }

  // Trains `value_function` beside the policy from the next step on (PPO with a critic); it
  // must outlive the trainer, and checkpoints save and resume it (directory "critic"). Throws
  // rlft::error when the estimator gives no returns (use rlft::gae_advantage) or the run has
  // several ranks (a critic trains in one process).
  void set_critic(value_critic& value_function) {
    if constexpr (!estimates_returns)
      throw error(detail::make_message("grpo_trainer: a critic needs an estimator that gives returns (",
                                       estimator_name(), " does not; use rlft::gae_advantage)"));
    if (comm_.size() > 1) throw error("grpo_trainer: a critic trains in one process; run it without MPI ranks");
    critic_ = &value_function;
  }

  Policy& policy() noexcept { return policy_; }
  // The reference policy of the KL term; throws rlft::error when reference_logprobs is off (the
  // trainer then keeps no copy of the policy).
  Policy& reference() {
    if (!reference_) throw error("grpo_trainer: no reference policy is kept when reference_logprobs is off");
    return *reference_;
  }
  policy_update& update() noexcept { return update_; }
  std::size_t steps() const noexcept { return steps_; }
  std::uint64_t streams_used() const noexcept { return next_stream_; }
  std::uint64_t prompts_drawn() const noexcept { return prompts_drawn_; }
  // The last applied step's whole batch (every rank's groups): completions, rewards, advantages.
  const std::optional<rollout_batch>& last_rollouts() const noexcept { return last_rollouts_; }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  static constexpr bool estimates_returns =
      requires(const Estimator& e, const rollout_batch& b, std::span<float> a, std::span<float> r) { e(b, a, r); };

  static constexpr const char* estimator_name() noexcept {
    if constexpr (requires { Estimator::name; })
      return Estimator::name;
    else
      return "the advantage estimator";
  }

  void check_estimator_options() const {
    if constexpr (requires { estimator_.minimum_group_size(); }) {
      const std::size_t minimum = estimator_.minimum_group_size();
      detail::check_option(options_.group_size >= minimum, "grpo options", "group_size",
                           static_cast<double>(options_.group_size),
                           detail::make_message(">= ", minimum, ": ", estimator_name(),
                                                " compares each completion with the others of its prompt, so a "
                                                "smaller group gives every advantage 0"));
    }
    if constexpr (requires { estimator_.equal_rewards; })
      if (options_.max_sampling_rounds > 1 && estimator_.equal_rewards != equal_reward_policy::drop)
        throw error(detail::make_message("grpo options: max_sampling_rounds = ", options_.max_sampling_rounds,
                                         " refills the groups the estimator drops, but ", estimator_name(),
                                         " keeps them: set its equal_rewards to rlft::equal_reward_policy::drop"));
  }

  // A scored batch to an update: reference and old log-probs, the rollout correction (before
  // the estimator, as verl: its masks shape the advantages' statistics), the KL penalty of the
  // rewards, advantages, dropped groups, the training passes. one_round: the batch is one
  // generation round, whose share of equal-reward groups the metrics report.
  void learn_from(rollout_batch& batch, grpo_step_metrics& metrics, bool one_round) {
    const auto reference_start = std::chrono::steady_clock::now();
    if (reference_) forward_own_share(*reference_, batch, batch.ref_logprobs(), metrics);
    if (!old_from_training_pass()) forward_own_share(policy_, batch, batch.old_logprobs(), metrics);
    metrics.seconds_reference = seconds_since(reference_start);
    const auto train_start = std::chrono::steady_clock::now();
    std::vector<float> policy_weights;
    if (options_.corrects_rollouts()) {
      policy_weights.resize(batch.num_tokens());
      metrics.rollout_correction = correct_rollouts(batch, options_.rollout_correction, policy_weights);
      if (metrics.rollout_correction.tokens > 0 && metrics.rollout_correction.masked_share == 1.0)
        throw data_error("grpo: the rollout correction masked every loss token");
    }
    if (options_.reward_kl.coefficient > 0.0) fold_kl_into_rewards(batch);
    summarise_rollouts(batch, metrics);
    advantage_summary summary;
    if (critic_) {
      critic_->estimate_values(batch);
      if constexpr (estimates_returns) {
        std::vector<float> returns(batch.num_tokens());
        summary = estimator_(batch, batch.advantages(), returns);
        metrics.critic = critic_->train(batch, returns);
      }
    } else {
      summary = estimator_(batch, batch.advantages());
    }
    if (one_round) metrics.equal_reward_group_share = equal_share(summary, batch);
    drop_groups(batch, summary, metrics);
    train_on(batch, metrics, policy_weights);
    metrics.seconds_train = seconds_since(train_start);
  }

  void skip(grpo_step_metrics& metrics, const data_error& cause) {
    policy_.zero_grad();
    metrics.applied = false;
    metrics.skipped_because = cause.what();
    if (metrics.rewards.empty()) name_unscored_rewards(metrics);
  }

  grpo_step_metrics finish_step(grpo_step_metrics& metrics, std::chrono::steady_clock::time_point start) {
    if (options_.reference_refresh_steps > 0 && steps_ % options_.reference_refresh_steps == 0) refresh_reference();
    if (comm_.size() > 1 && options_.parameter_check_steps > 0 && steps_ % options_.parameter_check_steps == 0)
      check_same_on_every_rank(comm_, parameter_hash(), detail::make_message("after step ", steps_, " the parameters' hash"));
    metrics.seconds_total = seconds_since(start);
    return metrics;
  }

  // μ = 1 and one mini-batch: the old policy is the current one, so its log-probs come from the
  // training forward pass — unless a KL penalty goes into the rewards or a rollout correction
  // compares them with the sampling log-probs, which need them before.
  bool old_from_training_pass() const noexcept {
    return options_.inner_iterations == 1 && options_.mini_batches == 1 && options_.reward_kl.coefficient == 0.0 &&
           !options_.corrects_rollouts();
  }

  template <class Source>
  rollout_batch generate_and_score(Source& source, grpo_step_metrics& metrics, std::size_t& generated_tokens) {
    const auto generate_start = std::chrono::steady_clock::now();
    prompt_batch drawn = source(options_.prompts_per_step);
    prompts_drawn_ += options_.prompts_per_step;
    if (drawn.prompts.size() != drawn.references.size())
      throw error(detail::make_message("grpo: the prompt source gave ", drawn.prompts.size(), " prompts and ",
                                       drawn.references.size(), " references"));
    // This rank's groups, with the streams one process would give them.
    const std::size_t first = share_begin(options_.prompts_per_step, comm_.rank(), comm_.size());
    const std::size_t count = share_begin(options_.prompts_per_step, comm_.rank() + 1, comm_.size()) - first;
    rollout_batch batch = policy_.generate(drawn.prompts.view().subview(first, count), options_.group_size, sampler_,
                                           {.max_new_tokens = options_.max_new_tokens,
                                            .stop_tokens = options_.stop_tokens,
                                            .seed = options_.seed,
                                            .first_stream = next_stream_ + first * options_.group_size});
    next_stream_ += options_.prompts_per_step * options_.group_size;
    generated_tokens += batch.num_completion_tokens();
    metrics.seconds_generate += seconds_since(generate_start);
    const auto score_start = std::chrono::steady_clock::now();
    score_rollouts(batch, reward_, decode_, std::span<const std::string>(drawn.references).subspan(first, count));
    metrics.seconds_score += seconds_since(score_start);
    const auto exchange_start = std::chrono::steady_clock::now();
    batch = all_gather_rollouts(comm_, std::move(batch));
    metrics.seconds_communicate += seconds_since(exchange_start);
    mask_truncated(batch);
    return batch;
  }

  void mask_truncated(rollout_batch& batch) const {
    if (options_.mask_truncated_completions)
      for (std::size_t s = 0; s < batch.num_sequences(); ++s)
        if (batch.truncated()[s])
          std::fill_n(batch.loss_mask().begin() + static_cast<std::ptrdiff_t>(batch.sequence_begin(s)),
                      batch.sequence_end(s) - batch.sequence_begin(s), std::uint8_t{0});
  }

  static double equal_share(const advantage_summary& summary, const rollout_batch& batch) {
    return static_cast<double>(summary.groups_with_equal_rewards) / static_cast<double>(batch.num_groups());
  }

  // One round; or, with dynamic sampling, the groups the estimator keeps from several rounds,
  // until P of them are found or the rounds run out.
  template <class Source>
  rollout_batch collect_rollouts(Source& source, grpo_step_metrics& metrics, std::size_t& generated_tokens) {
    metrics.sampling_rounds = 1;
    rollout_batch first = generate_and_score(source, metrics, generated_tokens);
    if (options_.max_sampling_rounds == 1) return first;  // step() asks the estimator
    std::vector<rollout_batch> rounds;
    rounds.reserve(options_.max_sampling_rounds);  // keeps the addresses in `kept` valid
    rounds.push_back(std::move(first));
    std::vector<group_reference> kept;
    for (std::size_t round = 0;; ++round) {
      rollout_batch& batch = rounds[round];
      if (critic_) critic_->estimate_values(batch);  // GAE reads them even to mark groups to drop
      const advantage_summary summary = estimator_(batch, batch.advantages());
      detail::check_drop_marks(summary, batch.num_groups(), "grpo");
      if (round == 0) metrics.equal_reward_group_share = equal_share(summary, batch);
      for (std::size_t g = 0; g < batch.num_groups() && kept.size() < options_.prompts_per_step; ++g)
        if (summary.drop_group.empty() || !summary.drop_group[g]) kept.push_back({&batch, g});
      if (kept.size() == options_.prompts_per_step || round + 1 == options_.max_sampling_rounds) break;
      rounds.push_back(generate_and_score(source, metrics, generated_tokens));
      metrics.sampling_rounds = round + 2;
    }
    if (kept.empty()) {
      summarise_rollouts(rounds.front(), metrics);
      throw data_error("grpo: the estimator dropped every sampled group; nothing to learn from");
    }
    return gather_groups(kept);
  }

  // Clears the loss mask of the groups the estimator drops, and counts those left; a step with
  // none left is skipped.
  static void drop_groups(rollout_batch& batch, const advantage_summary& summary, grpo_step_metrics& metrics) {
    clear_dropped_groups(batch, summary);
    const auto dropped =
        static_cast<std::size_t>(std::ranges::count_if(summary.drop_group, [](std::uint8_t mark) { return mark != 0; }));
    metrics.groups = batch.num_groups() - dropped;
    if (metrics.groups == 0)
      throw data_error("grpo: the estimator dropped every group (all had equal rewards); nothing to learn from");
  }

  void summarise_rollouts(const rollout_batch& batch, grpo_step_metrics& metrics) const {
    const auto statistics = [](std::string name, std::span<const float> values) {
      const detail::value_moments moments = detail::moments_of(values);
      return reward_statistics{std::move(name), moments.mean, moments.standard_deviation(false)};
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
  }

  // A step skipped before its rewards were summarised: the components' names with NaN values.
  void name_unscored_rewards(grpo_step_metrics& metrics) const {
    std::vector<std::string> names;
    reward_.append_component_names(names);
    if (options_.reward_kl.coefficient > 0.0) names.push_back("kl_penalty");
    names.push_back("total");
    constexpr double unknown = std::numeric_limits<double>::quiet_NaN();
    for (auto& name : names) metrics.rewards.push_back({std::move(name), unknown, unknown});
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

  // Log-probs of this rank's share of the sequences, then every rank's shares to all.
  void forward_own_share(Policy& model, const rollout_batch& batch, std::span<float> out, grpo_step_metrics& metrics) {
    const std::size_t sequences = batch.num_sequences();
    for (const auto& [first, last] : micro_batches(batch, share_begin(sequences, comm_.rank(), comm_.size()),
                                                   share_begin(sequences, comm_.rank() + 1, comm_.size()))) {
      const std::size_t begin = batch.sequence_begin(first);
      model.log_probs(batch.sequences(first, last - first), out.subspan(begin, batch.sequence_end(last - 1) - begin));
    }
    const auto exchange_start = std::chrono::steady_clock::now();
    all_gather_token_slices(comm_, batch, out);
    metrics.seconds_communicate += seconds_since(exchange_start);
  }

  // The ranks' loss and objective metrics of a mini-batch combined, in rank order.
  void combine_over_ranks(double& loss, objective_metrics& objective) {
    const std::vector<double> own{loss,
                                  objective.policy_loss,
                                  objective.kl_mean,
                                  objective.entropy_mean,
                                  objective.clip_fraction_low,
                                  objective.clip_fraction_high,
                                  objective.dual_clip_fraction,
                                  objective.ratio_mean,
                                  objective.ratio_max,
                                  static_cast<double>(objective.tokens)};
    const auto all = comm_.all_gather(std::as_bytes(std::span(own)));
    loss = 0.0;
    objective = {};
    double tokens = 0.0;
    for (const auto& blob : all) {
      std::vector<double> v(own.size());
      if (blob.size() != v.size() * sizeof(double)) throw error("grpo: a rank sent malformed metrics");
      std::memcpy(v.data(), blob.data(), blob.size());
      loss += v[0];
      accumulate(objective,
                 {.policy_loss = v[1], .kl_mean = v[2], .entropy_mean = v[3], .clip_fraction_low = v[4],
                  .clip_fraction_high = v[5], .dual_clip_fraction = v[6], .ratio_mean = v[7], .ratio_max = v[8],
                  .tokens = static_cast<std::size_t>(v[9])},
                 tokens);
    }
  }

  // FNV-1a over the parameters' bytes: the consistency guard's fingerprint.
  std::uint64_t parameter_hash() {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (const parameter_ref p : policy_.parameters())
      for (const std::byte b : std::as_bytes(p.values)) hash = (hash ^ static_cast<std::uint64_t>(b)) * 0x100000001b3ull;
    return hash;
  }

  // β·Σ_t KL_t of the old against the reference policy over each completion's loss tokens,
  // subtracted from its reward (estimator and bounds of options.reward_kl).
  void fold_kl_into_rewards(rollout_batch& batch) {
    const kl_penalty& kl = options_.reward_kl;
    const auto existing = batch.rewards().find("kl_penalty");
    const auto column = batch.rewards().component(existing ? *existing : batch.rewards().add_component("kl_penalty"));
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      double sum = 0.0;
      for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
        if (batch.loss_mask()[t])
          sum += estimate_kl(kl.estimator, static_cast<double>(batch.old_logprobs()[t]),
                             static_cast<double>(batch.ref_logprobs()[t]), kl.log_ratio_bound, kl_value_bound(kl))
                     .value;
      column[s] = static_cast<float>(-kl.coefficient * sum);
      batch.rewards().total()[s] += column[s];
    }
  }

  // Forward, objective and backward over sequences [first, last) in micro-batches, the
  // gradients accumulated in the policy; the loss and metrics added to `loss` and `into`.
  void train_micro_batches(rollout_batch& batch, std::size_t first_sequence, std::size_t last_sequence,
                           const aggregation_scope& scope, std::span<const float> policy_weights, double& loss,
                           objective_metrics& into, double& into_tokens) {
    for (const auto& [first, last] : micro_batches(batch, first_sequence, last_sequence)) {
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
           .entropy = entropy,
           .policy_weights = policy_weights.empty() ? policy_weights : policy_weights.subspan(begin, count),
           .scope = scope},
          {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});
      if (!std::isfinite(result.loss)) throw data_error("grpo: the loss is not finite");
      loss += result.loss;
      accumulate(into, result.metrics, into_tokens);
      if constexpr (entropy_policy<Policy>) {
        policy_.backward(view, gradients, entropy_gradients);
      } else {
        policy_.backward(view, gradients);
      }
    }
  }

  // policy_weights: one per token of the batch, or empty for none.
  void train_on(rollout_batch& batch, grpo_step_metrics& metrics, std::span<const float> policy_weights) {
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
        if (options_.gradient_shards == 1) {
          train_micro_batches(batch, mini_first, mini_last, scope, policy_weights, loss, sum, weighted_tokens);
        } else {
          // This rank's shards, each accumulated alone, then the tree over all ranks' shards.
          // With several ranks, this rank's metrics join the others' after the mini-batch.
          const std::size_t shards = options_.gradient_shards, count = mini_last - mini_first;
          objective_metrics own_metrics;
          double own_tokens = 0.0;
          objective_metrics& into = comm_.size() == 1 ? sum : own_metrics;
          double& into_tokens = comm_.size() == 1 ? weighted_tokens : own_tokens;
          gradient_tree tree(shards);
          for (std::size_t k = share_begin(shards, comm_.rank(), comm_.size());
               k < share_begin(shards, comm_.rank() + 1, comm_.size()); ++k) {
            train_micro_batches(batch, mini_first + share_begin(count, k, shards),
                                mini_first + share_begin(count, k + 1, shards), scope, policy_weights, loss, into,
                                into_tokens);
            tree.add(k, take_gradients(policy_));
          }
          const auto exchange_start = std::chrono::steady_clock::now();
          set_gradients(policy_, tree.total(comm_));
          if (comm_.size() > 1) {
            combine_over_ranks(loss, own_metrics);
            accumulate(sum, own_metrics, weighted_tokens);
          }
          metrics.seconds_communicate += seconds_since(exchange_start);
        }
        const policy_update_report report = update_.apply(policy_);
        if (!report.applied) throw data_error("grpo: update skipped: " + report.skipped_because);
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
    if (!reference_) return;
    if (options_.reference_mix >= 1.0f) {
      *reference_ = policy_;
      return;
    }
    auto mixed = reference_->parameters();
    auto current = policy_.parameters();
    auto to = std::ranges::begin(mixed);
    for (auto from = std::ranges::begin(current); from != std::ranges::end(current); ++from, ++to) {
      const parameter_ref source = *from, target = *to;
      for (std::size_t i = 0; i < target.values.size(); ++i)
        target.values[i] = options_.reference_mix * source.values[i] + (1.0f - options_.reference_mix) * target.values[i];
    }
  }

  Policy& policy_;
  std::optional<Policy> reference_;  // only when reference_logprobs: a model-sized copy
  Sampler sampler_;
  reward_expression_of<Reward> reward_;
  Decode decode_;
  Estimator estimator_;
  Objective objective_;
  grpo_options options_;
  policy_update update_;
  std::size_t steps_ = 0;
  std::uint64_t next_stream_ = 0;
  std::uint64_t prompts_drawn_ = 0;
  Communicator comm_;
  std::optional<rollout_batch> last_rollouts_;
  value_critic* critic_ = nullptr;
};

}  // namespace rlft
