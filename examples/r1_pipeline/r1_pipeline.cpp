// The DeepSeek-R1 training pipeline (arXiv 2501.12948, sections 2.2-2.4) at small scale, on a
// built-in verifiable task, end to end on the CPU:
//   0. pretraining: a base model learns task text (worked solutions in mixed languages);
//      R1-Zero: GRPO from the base with accuracy + format rewards;
//   1. cold start: SFT of the base on a small set of readable English chains of thought
//      (solver-written, or R1-Zero's own, filtered: --cold-start-source);
//   2. reasoning RL: GRPO from the cold start, plus a language-consistency reward (or PPO with a
//      critic, --reasoning-estimator ppo, the peers' alternative);
//   3. rejection sampling from stage 2 (correct, well-formatted, English), then SFT of the base
//      on the kept data;
//      reward model: a score head on the stage-3 network, trained (Bradley–Terry) on pairs of
//      the stage-3 model's correct completions ranked by a hidden rule (sound reasoning);
//   4. RL for all scenarios: the rule rewards plus the learned reward, temperature 0.7;
//   distillation: a smaller student trained on the stage-3 data against the same student
//      trained on the cold-start data, with the same number of updates.
// Every stage is evaluated on held-out problems (pass@1 over k samples at temperature 0.6 and
// top-p 0.95 with its standard error, cons@k, format rate, the share of sound chains of
// thought, the reward model's mean score once it exists, mean length); the table is printed and written with the
// metrics (metrics.jsonl, one record per step) to --output. Stages checkpoint as they finish,
// and RL stages every few steps, so --resume continues an interrupted run with the same
// numbers it would have produced uninterrupted. Under `mpirun -np N` the same program trains
// data-parallel (rlft::mpi_communicator): trainers, evaluation and rejection sampling split
// their work across the ranks, rank 0 alone prints and writes, and --output must be one
// directory every rank sees (for --resume).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rlft/advantage/gae_advantage.hpp>
#include <rlft/advantage/grpo_advantage.hpp>
#include <rlft/distributed/any_communicator.hpp>
#include <rlft/io/atomic_file.hpp>
#include <rlft/io/jsonl.hpp>
#include <rlft/io/preference_pairs.hpp>
#include <rlft/io/text_examples.hpp>
#include <rlft/objective/clipped_surrogate_objective.hpp>
#include <rlft/rewards/learned_reward.hpp>
#include <rlft/rewards/sequence_scores.hpp>
#include <rlft/sampling/pipeline.hpp>
#include <rlft/sampling/temperature.hpp>
#include <rlft/sampling/top_p.hpp>
#include <rlft/train/checkpoint.hpp>
#include <rlft/train/critic.hpp>
#include <rlft/train/evaluation.hpp>
#include <rlft/train/grpo_trainer.hpp>
#include <rlft/train/metrics_json.hpp>
#include <rlft/train/rejection_sampler.hpp>
#include <rlft/train/reward_model_trainer.hpp>
#include <rlft/train/sft_trainer.hpp>

#include "launch/launched_ranks.hpp"
#include "pipeline_options.hpp"
#include "r1_rewards.hpp"
#include "resume_files.hpp"
#include "task_text.hpp"
#include "transformer/transformer.hpp"

namespace rlft::r1 {
namespace {

using model = examples::transformer;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Offsets into the train split, so the problems of each stage are distinct.
constexpr std::uint64_t pretrain_problems = 0;
constexpr std::uint64_t cold_start_problems = 10'000'000;
constexpr std::uint64_t rl_problems = 20'000'000;  // + stage number × 1'000'000
constexpr std::uint64_t rejection_problems = 30'000'000;
constexpr std::uint64_t preference_problems = 40'000'000;
constexpr std::uint64_t first_validation_problem = 1'000'000;  // held-out split, after the evaluation set

// Thrown by --stop-at: the run ends as if it had been killed after a checkpoint.
struct interrupted {};

// Draws consecutive train problems of one stage; seek() resumes after a checkpoint.
struct stage_prompts {
  const task_text* text;
  const task_source* source;
  std::uint64_t first = 0;
  std::uint64_t next = first;
  prompt_batch operator()(std::size_t count) {
    prompt_batch batch = text->prompts(*source, tasks::split::train, next, count);
    next += count;
    return batch;
  }
  void seek(std::uint64_t drawn) { next = first + drawn; }
};

class pipeline {
 public:
  pipeline(pipeline_options options, any_communicator comm)
      : options_(std::move(options)),
        comm_(std::move(comm)),
        tokenizer_(tasks::phrase_characters()),
        text_(tokenizer_),
        mixed_task_(options_, tasks::reasoning_language::mixed),
        english_task_(options_, tasks::reasoning_language::english),
        evaluation_prompts_(text_.prompts(english_task_, tasks::split::held_out, 0, options_.eval_problems)),
        validation_prompts_(text_.prompts(english_task_, tasks::split::held_out, first_validation_problem,
                                          options_.validation_problems)) {
    fs::create_directories(options_.output);
    if (leader()) {
      if (options_.resume) drop_unfinished_metrics(options_.output);
      log_.emplace(options_.output / "metrics.jsonl", options_.resume);
    }
  }

  void run() {
    model base = stage("base", [&] { return pretrain("base", options_.model, options_.pretrain_epochs); });
    model zero = stage("r1_zero", [&] {
      model policy = base;
      reinforce(policy, "r1_zero", options_.r1_zero, 0, accuracy_component(english_task_) + format_component());
      return policy;
    });
    model cold_start = stage("cold_start", [&] { return cold_start_sft(base, zero); });
    model reasoning = stage("reasoning_rl", [&] {
      model policy = cold_start;
      const auto reward = accuracy_component(english_task_) + format_component() +
                          options_.language_reward_weight * language_component();
      if (options_.reasoning_estimator == "ppo")
        reinforce_with_critic(policy, "reasoning_rl", options_.reasoning, 2, reward);
      else
        reinforce(policy, "reasoning_rl", options_.reasoning, 2, reward);
      return policy;
    });
    const fs::path rejection_data = options_.output / "rejection_sampled.jsonl";
    model rejection_sft = stage("rejection_sft", [&] {
      sample_rejection_data(reasoning, rejection_data);
      model policy = base;
      supervised(policy, "rejection_sft", read_examples(rejection_data), options_.rejection_sft_epochs);
      return policy;
    });
    train_reward_model(rejection_sft);
    stage("final_rl", [&] {
      model policy = rejection_sft;
      reinforce(policy, "final_rl", options_.final_rl, 4,
                accuracy_component(english_task_) + format_component() +
                    options_.language_reward_weight * language_component() +
                    options_.reward_model_weight *
                        component("reward_model", quality_of_correct_answers{final_stage_reward(), {english_task_}}));
      return policy;
    });
    distill(rejection_data);
    print_table();
  }

 private:
  // Runs `train` unless the stage finished in an earlier run; evaluates and checkpoints it.
  template <class Train>
  model stage(const std::string& name, Train&& train) {
    const fs::path directory = options_.output / name;
    if (options_.resume && fs::exists(directory / "done.json")) {
      results_.push_back(read_stage_result(directory / "done.json"));
      if (leader()) std::printf("%-14s resumed from %s\n", name.c_str(), directory.c_str());
      return model::from_pretrained(directory / "model");
    }
    stage_start_ = clock_type::now();
    seconds_before_start_ = options_.resume ? seconds_before_resume(directory) : 0.0;
    model trained = train();
    if (leader()) trained.save(directory / "model");
    const judged_samples judged = evaluate(trained, name);
    const stage_result result{.stage = name,
                              .evaluation = judged.summary,
                              .seconds = seconds_before_start_ + seconds_since(stage_start_),
                              .kept_step = std::exchange(kept_step_, {}),
                              .sound_rate = judged.sound_rate,
                              .reward_model_score = judged.reward_model_score};
    log({{"stage", name}, {"kind", "evaluation"}, {"evaluation", rlft::to_json(result.evaluation)}});
    results_.push_back(result);
    if (!leader()) return trained;
    io::write_file_atomically(directory / "done.json", to_json(result).dump(2));
    checkpoint_directory(directory).remove();
    std::printf("%-14s pass@1 %.3f  cons@%zu %.3f  format %.3f  sound %.3f  length %.1f  (%.0f s)%s\n",
                name.c_str(), result.evaluation.pass_at_1, options_.eval_samples, result.evaluation.consensus_at_k,
                result.evaluation.format_rate, result.sound_rate, result.evaluation.mean_length, result.seconds,
                result.kept_step.empty() ? "" : ("  kept step " + result.kept_step).c_str());
    std::fflush(stdout);
    return trained;
  }

  model make_model(const model_shape& shape, std::uint64_t seed) const {
    return model({.model_type = "qwen2",
                  .vocab_size = tokenizer_.vocab_size(),
                  .hidden_size = shape.hidden,
                  .intermediate_size = shape.intermediate,
                  .num_layers = shape.layers,
                  .num_heads = shape.heads,
                  .num_kv_heads = shape.kv_heads,
                  .head_dim = shape.hidden / shape.heads,
                  .tie_word_embeddings = true,
                  .max_position_embeddings = 1024},
                 seed);
  }

  // What an evaluation measures beyond the summary: the share of samples whose reasoning is
  // sound (the reward model's hidden rule, checked directly) and, once the reward model exists,
  // their mean score under it.
  struct judged_samples {
    evaluation_summary summary;
    double sound_rate = 0.0;
    std::optional<double> reward_model_score = {};
  };

  // Samples `samples` completions of every problem at the evaluation temperature and top-p,
  // split across the ranks; on_sample sees this rank's samples.
  template <class OnSample>
  judged_samples sample_and_judge(model& policy, const prompt_batch& problems, std::size_t samples,
                                  OnSample&& on_sample) {
    // Samples, sound ones, and reward-model scores in fixed point (2^-24): integer sums, so the
    // mean does not depend on how the samples split across ranks.
    std::int64_t sums[3] = {0, 0, 0};
    auto& [count, sound, score_sum] = sums;
    constexpr double fixed_point = 1 << 24;
    token_sequences scored;
    judged_samples judged;
    judged.summary = evaluate_policy(
        comm_, policy, problems, temperature{options_.eval_temperature} | top_p{options_.eval_top_p}, decoder(),
        r1_judge{english_task_}, sampling_options(samples, 0),
        [&](const reward_input& input, const sample_outcome& outcome, std::size_t problem) {
          on_sample(input, outcome, problem);
          ++count;
          sound += check_reasoning_steps(input.completion).sound();
          if (reward_model_) scored.push_back(reward_model_tokens(input.prompt_tokens, input.completion_tokens));
        });
    if (reward_model_) {
      std::vector<float> scores(scored.size());
      constexpr std::size_t per_forward = 256;
      for (std::size_t first = 0; first < scored.size(); first += per_forward) {
        const std::size_t n = std::min(per_forward, scored.size() - first);
        score_sequences(*reward_model_, scored.view().subview(first, n), std::span(scores).subspan(first, n));
      }
      for (const float score : scores) score_sum += std::llround(score * fixed_point);
    }
    comm_.all_reduce_sum(std::span(sums));
    judged.sound_rate = static_cast<double>(sound) / static_cast<double>(count);
    if (reward_model_) judged.reward_model_score = static_cast<double>(score_sum) / fixed_point / static_cast<double>(count);
    return judged;
  }

  // Held-out evaluation; one completion of each of the first problems is logged as an example.
  // For the program task, also the share of answers that leave the computing to the
  // interpreter: print(<the question>).
  judged_samples evaluate(model& policy, const std::string& stage_name) {
    nlohmann::json examples = nlohmann::json::array();
    std::int64_t counts[2] = {0, 0};  // samples, and those printing the question
    auto& [samples, question_printed] = counts;
    const auto log_example = [&](const reward_input& input, const sample_outcome& outcome, std::size_t problem) {
      if (problem == examples.size() && problem < 4)
        examples.push_back({{"prompt", input.prompt}, {"completion", input.completion}, {"correct", outcome.correct}});
      ++samples;
      const std::string_view question = input.prompt.substr(0, input.prompt.find('\n'));
      question_printed += outcome.answer == "print(" + std::string(question) + ")";
    };
    const judged_samples judged = sample_and_judge(policy, evaluation_prompts_, options_.eval_samples, log_example);
    comm_.all_reduce_sum(std::span(counts));
    nlohmann::json record{{"stage", stage_name}, {"kind", "evaluation_samples"}, {"samples", examples}};
    if (options_.task == "code")
      record["share_printing_the_question"] = static_cast<double>(question_printed) / static_cast<double>(samples);
    log(record);
    return judged;
  }

  // pass@1 on the validation problems, logged with the sound share and the reward model's
  // score; pass@1 drives checkpoint selection in GRPO stages.
  double validate(model& policy, const std::string& stage_name, std::size_t step) {
    const judged_samples judged = sample_and_judge(policy, validation_prompts_, options_.validation_samples,
                                                   [](const reward_input&, const sample_outcome&, std::size_t) {});
    nlohmann::json record{{"stage", stage_name},
                          {"kind", "validation"},
                          {"step", step},
                          {"pass_at_1", judged.summary.pass_at_1},
                          {"sound_rate", judged.sound_rate}};
    if (judged.reward_model_score) record["reward_model_score"] = *judged.reward_model_score;
    log(record);
    return judged.summary.pass_at_1;
  }

  completion_sampling_options sampling_options(std::size_t samples, std::uint64_t first_stream) const {
    return {.samples_per_prompt = samples,
            .max_new_tokens = options_.max_new_tokens,
            .stop_tokens = {tasks::char_tokenizer::end_of_sequence},
            .prompts_per_round = 64,
            .seed = options_.seed,
            .first_stream = first_stream};
  }

  tokenizer_decoder decoder() const { return {&tokenizer_}; }

  // The program task's programs so far, on every rank: run in the sandbox, and judged from the
  // verdict cache.
  std::optional<std::pair<std::size_t, std::size_t>> program_runs() {
#if RLFT_R1_HAS_CODE_TASK
    if (const code_execution_reward* reward = english_task_.program_reward()) {
      std::int64_t counts[2] = {static_cast<std::int64_t>(reward->cache->misses()),
                                static_cast<std::int64_t>(reward->cache->hits())};
      comm_.all_reduce_sum(std::span(counts));
      return std::pair{static_cast<std::size_t>(counts[0]), static_cast<std::size_t>(counts[1])};
    }
#endif
    return std::nullopt;
  }

  bool leader() const { return comm_.rank() == 0; }

  // A record in metrics.jsonl (rank 0's).
  void log(const nlohmann::json& record) {
    if (log_) log_->write(record);
  }

  std::size_t gradient_shards() const { return examples::gradient_shards(options_.gradient_shards, comm_.size()); }

  // Stage 0: every document once per epoch; a share in the R1 template.
  model pretrain(const std::string& stage_name, const model_shape& shape, std::size_t epochs) {
    std::vector<sft_example> documents;
    philox_stream choice(options_.seed, 0xD0C);
    for (std::size_t i = 0; i < options_.pretrain_documents; ++i)
      documents.push_back(text_.document(mixed_task_.make(tasks::split::train, pretrain_problems + i),
                                         choice.uniform() < options_.pretrain_template_share));
    model base = make_model(shape, options_.seed);
    supervised(base, stage_name, documents, epochs, options_.pretrain_learning_rate);
    return base;
  }

  fs::path r1_zero_cold_start_data() const { return options_.output / "cold_start_from_r1_zero.jsonl"; }

  // The cold-start data: solver-written English chains of thought in the R1 template, or
  // R1-Zero's (the file cold_start_sft wrote).
  std::vector<sft_example> cold_start_examples() const {
    if (options_.cold_start_source == "r1-zero") return read_examples(r1_zero_cold_start_data());
    std::vector<sft_example> examples;
    for (std::size_t i = 0; i < options_.cold_start_examples; ++i)
      examples.push_back(text_.template_example(english_task_.make(tasks::split::train, cold_start_problems + i)));
    return examples;
  }

  // R1's cold-start collection from R1-Zero: its completions of the cold-start prompts, one per
  // prompt that is correct, in the template and readable.
  void sample_cold_start_data(model& zero) {
    const prompt_batch prompts =
        text_.prompts(english_task_, tasks::split::train, cold_start_problems, options_.cold_start_examples);
    const r1_verifier verifier{english_task_};
    const auto [kept, report] = rejection_sample(
        comm_, zero, prompts, temperature{1.0f}, decoder(),
        [verifier](const reward_input& input) { return verifier(input) && readable(input); },
        sampling_options(options_.r1_zero_cold_start_samples, 0), /*max_kept_per_prompt=*/1);
    if (leader()) io::write_text_examples(r1_zero_cold_start_data(), kept);
    comm_.barrier();  // every rank reads the file next
    log({{"stage", "cold_start"}, {"kind", "r1_zero_sampling"}, {"prompts", report.prompts},
         {"samples", report.samples}, {"accepted", report.accepted}, {"kept", report.kept}});
    if (leader())
      std::printf("cold start from R1-Zero: %zu of %zu samples correct and readable, %zu prompts kept\n",
                  report.accepted, report.samples, report.kept);
  }

  // Stage 1: SFT on English chains of thought; keeps the epoch with the lowest validation loss.
  model cold_start_sft(const model& base, model& zero) {
    if (options_.cold_start_source == "r1-zero") sample_cold_start_data(zero);
    const std::vector<sft_example> examples = cold_start_examples();
    std::vector<sft_example> validation;
    for (std::size_t i = 0; i < 200; ++i)
      validation.push_back(text_.template_example(english_task_.make(tasks::split::held_out, first_validation_problem + i)));
    model policy = base;
    model best = base;
    double best_loss = std::numeric_limits<double>::infinity();
    supervised(policy, "cold_start", examples, options_.cold_start_epochs, options_.sft_learning_rate,
               [&](std::size_t epoch, sft_trainer<model, any_communicator>& trainer) {
                 const double loss = trainer.evaluate_loss(validation);
                 log({{"stage", "cold_start"}, {"kind", "validation"}, {"epoch", epoch}, {"loss", loss}});
                 if (loss < best_loss) {
                   best_loss = loss;
                   best = policy;
                 }
               });
    return best;
  }

  void supervised(model& policy, const std::string& stage_name, const std::vector<sft_example>& examples,
                  std::size_t epochs, std::optional<float> learning_rate = std::nullopt,
                  const std::function<void(std::size_t, sft_trainer<model, any_communicator>&)>& after_epoch = {}) {
    const sft_options options{.tokens_per_batch = options_.sft_tokens_per_batch,
                              .epochs = epochs,
                              .seed = options_.seed,
                              .gradient_shards = gradient_shards()};
    const std::size_t updates = sft_trainer<model>::updates(examples, options);
    const float rate = learning_rate.value_or(options_.sft_learning_rate);
    sft_trainer<model, any_communicator> trainer(policy, options,
                                                 {.adamw = {.weight_decay = 0.01f},
                                                  .schedule = {.peak_learning_rate = rate,
                                                               .final_learning_rate = rate / 10,
                                                               .warmup_steps = std::min<std::size_t>(20, updates / 10),
                                                               .total_steps = updates},
                                                  .max_gradient_norm = 1.0},
                                                 comm_);
    trainer.train(
        examples,
        [&](const sft_step_metrics& metrics) {
          nlohmann::json record = rlft::to_json(metrics);
          record["stage"] = stage_name;
          record["kind"] = "sft";
          log(record);
          progress(stage_name, metrics.step, updates, "loss " + format(metrics.loss));
        },
        [&](std::size_t epoch) {
          if (after_epoch) after_epoch(epoch, trainer);
        });
    end_progress();
  }

  equal_reward_policy equal_rewards() const {
    return options_.sampling_rounds > 1 ? equal_reward_policy::drop : equal_reward_policy::keep;
  }

  // GRPO for stage.steps steps from `policy`, with mid-stage checkpoints; leaves in `policy` the
  // step with the best validation pass@1 (the last step when validation is off or the stage
  // keeps its last step).
  template <class Reward>
  void reinforce(model& policy, const std::string& name, const rl_stage_options& stage, std::uint64_t stage_number,
                 Reward reward) {
    run_rl(policy, name, stage, stage_number, std::move(reward),
           grpo_advantage{.scaling = stage.advantage_scaling, .equal_rewards = equal_rewards()}, nullptr);
  }

  // The same with PPO's advantages: GAE from a critic trained beside the policy, which starts as
  // the policy's network with a score head (its own random row) in place of the LM head.
  template <class Reward>
  void reinforce_with_critic(model& policy, const std::string& name, const rl_stage_options& stage,
                             std::uint64_t stage_number, Reward reward) {
    model value_model = with_score_head(policy, options_.seed + stage_number);
    critic<model> value_function(value_model, {},
                                 {.adamw = {.weight_decay = 0.0f},
                                  .schedule = {.peak_learning_rate = options_.critic_learning_rate,
                                               .final_learning_rate = options_.critic_learning_rate},
                                  .max_gradient_norm = 1.0});
    run_rl(policy, name, stage, stage_number, std::move(reward),
           gae_advantage{.gamma = 1.0, .lambda = options_.gae_lambda, .whiten = true, .equal_rewards = equal_rewards()},
           &value_function);
  }

  // A copy of `policy`'s network with a score head (a row drawn from `seed`) in place of its LM
  // head: the critic's and the reward model's starting point.
  static model with_score_head(model& policy, std::uint64_t seed) {
    auto shape = policy.config();
    shape.head = examples::transformer_head::score;
    model scorer(shape, seed);
    auto from = policy.parameters();
    for (const parameter_ref to : scorer.parameters()) {
      const auto same = std::ranges::find_if(from, [&](const parameter_ref& p) { return p.name == to.name; });
      if (same != from.end()) std::ranges::copy(same->values, to.values.begin());
    }
    return scorer;
  }

  template <class Reward, class Estimator>
  void run_rl(model& policy, const std::string& name, const rl_stage_options& stage, std::uint64_t stage_number,
              Reward reward, Estimator estimator, value_critic* value_function) {
    grpo_trainer trainer(
        policy, temperature{stage.temperature}, reward, decoder(), std::move(estimator),
        clipped_surrogate_objective{
            .clip = {.epsilon_low = options_.clip_epsilon, .epsilon_high = options_.clip_epsilon},
            .kl = {.coefficient = options_.kl_coefficient,
                   .estimator = kl_estimator::k3,
                   .value_bound = options_.kl_value_bound},
            .aggregation = loss_aggregation::sequence_mean_token_mean},
        grpo_options{.prompts_per_step = options_.prompts_per_step,
                     .group_size = options_.group_size,
                     .max_new_tokens = options_.max_new_tokens,
                     .stop_tokens = {tasks::char_tokenizer::end_of_sequence},
                     .reference_logprobs = options_.kl_coefficient > 0.0,
                     .reference_refresh_steps = options_.reference_refresh_steps,
                     .max_sampling_rounds = options_.sampling_rounds,
                     .seed = options_.seed + stage_number,
                     .gradient_shards = gradient_shards()},
        {.adamw = {.weight_decay = 0.0f},
         .schedule = {.peak_learning_rate = stage.learning_rate,
                      .final_learning_rate = stage.learning_rate,
                      .warmup_steps = 0,
                      .total_steps = stage.steps},
         .max_gradient_norm = 1.0},
        comm_);
    if (value_function) trainer.set_critic(*value_function);
    stage_prompts prompts{&text_, &english_task_, rl_problems + stage_number * 1'000'000};
    checkpoint_directory checkpoints(options_.output / name);
    best_policy<model> best;
    if (const auto latest = options_.resume ? checkpoints.latest() : std::nullopt) {
      trainer.resume(*latest, prompts, &best);
      if (leader()) std::printf("%-14s resumed at step %zu\n", name.c_str(), trainer.steps());
      if (options_.validation_every == 0) best = {};  // validation turned off on resuming
    } else if (options_.validation_every > 0) {
      best.offer(policy, validate(policy, name, 0), 0);
    }

    while (trainer.steps() < stage.steps) {
      const auto programs_before = program_runs();
      const grpo_step_metrics metrics = trainer.step(prompts);
      nlohmann::json record = rlft::to_json(metrics);
      record["stage"] = name;
      record["kind"] = "grpo";
      if (const auto programs = program_runs()) {  // the program task: sandboxed runs, and verdicts reused
        record["programs_run"] = programs->first - programs_before->first;
        record["programs_from_cache"] = programs->second - programs_before->second;
      }
      log(record);
      std::string summary;
      for (const auto& r : metrics.rewards) summary += r.name + " " + format(r.mean) + "  ";
      progress(name, metrics.step, stage.steps,
               summary + "len " + format(metrics.completion_length) + "  kl " + format(metrics.objective.kl_mean) +
                   (metrics.applied ? "" : "  skipped: " + metrics.skipped_because));
      if (!best.empty() && (metrics.step % options_.validation_every == 0 || metrics.step == stage.steps))
        best.offer(policy, validate(policy, name, metrics.step), metrics.step);
      if (metrics.step % options_.checkpoint_every == 0 && metrics.step < stage.steps) {
        trainer.save_checkpoint(checkpoints, {{"seconds", seconds_before_start_ + seconds_since(stage_start_)}},
                                best.empty() ? nullptr : &best);
        if (options_.stop_at == name + ":" + std::to_string(metrics.step)) throw interrupted{};
      }
    }
    end_progress();
    const bool keep_best = stage.keep_best_step && !best.empty();
    if (keep_best && best.step() != trainer.steps()) policy = best.policy();
    kept_step_ = std::to_string(keep_best ? best.step() : trainer.steps()) + "/" + std::to_string(stage.steps);
  }

  void sample_rejection_data(model& policy, const fs::path& path) {
    const prompt_batch prompts = text_.prompts(english_task_, tasks::split::train, rejection_problems, options_.rejection_prompts);
    const auto [kept, report] =
        rejection_sample(comm_, policy, prompts, temperature{1.0f}, decoder(), r1_verifier{english_task_},
                         sampling_options(options_.rejection_samples, 0));
    if (leader()) io::write_text_examples(path, kept);
    comm_.barrier();  // every rank reads the file next
    log({{"stage", "rejection_sft"},
                 {"kind", "rejection_sampling"},
                 {"prompts", report.prompts},
                 {"samples", report.samples},
                 {"accepted", report.accepted},
                 {"kept", report.kept},
                 {"prompts_with_a_kept_sample", report.prompts_with_a_kept_sample}});
    if (leader())
      std::printf("rejection sampling: %zu of %zu samples accepted, %zu distinct kept (%zu of %zu prompts)\n",
                  report.accepted, report.samples, report.kept, report.prompts_with_a_kept_sample, report.prompts);
  }

  // What the reward model reads: <s>, the prompt, the completion (without </s>, as a reward
  // input's tokens come).
  static std::vector<token_id> reward_model_tokens(std::span<const token_id> prompt, std::span<const token_id> completion) {
    std::vector<token_id> tokens(prompt.begin(), prompt.end());
    tokens.insert(tokens.end(), completion.begin(), completion.end());
    return tokens;
  }
  std::vector<token_id> reward_model_tokens(const std::string& prompt, const std::string& completion) const {
    std::vector<token_id> tokens = text_.example(text_example{prompt, completion}).tokens;
    tokens.pop_back();
    return tokens;
  }

  // The reward model, between stages 3 and 4: the stage-3 model samples the preference prompts;
  // among each prompt's distinct correct, well-formatted English completions, every sound one
  // is preferred to every unsound one (r1_rewards.hpp). A score head on a copy of the stage-3
  // network learns the pairs with the Bradley–Terry loss; the second of every ten prompts with a
  // pair holds its pairs out for the pair accuracy. The stage-3 row of the table gets its score
  // from here.
  void train_reward_model(model& stage3) {
    const fs::path directory = options_.output / "reward_model";
    if (options_.resume && fs::exists(directory / "done.json")) {
      reward_model_result_ = read_reward_model_result(directory / "done.json");
      reward_model_ = model::from_pretrained(directory / "model");
      if (leader()) std::printf("%-14s resumed from %s\n", "reward_model", directory.c_str());
    } else {
      const auto start = clock_type::now();
      const prompt_batch prompts =
          text_.prompts(english_task_, tasks::split::train, preference_problems, options_.preference_prompts);
      const auto [kept, report] = rejection_sample(comm_, stage3, prompts, temperature{1.0f}, decoder(),
                                                   r1_verifier{english_task_}, sampling_options(options_.preference_samples, 0));
      std::vector<preference_example> pairs[2];  // training, held out
      std::size_t prompts_with_pairs = 0;
      for (std::size_t first = 0; first < kept.size();) {  // a prompt's samples are adjacent
        std::size_t end = first;
        std::vector<const text_example*> by_rule[2];  // unsound, sound
        for (; end < kept.size() && kept[end].prompt == kept[first].prompt; ++end)
          by_rule[check_reasoning_steps(kept[end].completion).sound()].push_back(&kept[end]);
        const bool held_out = !by_rule[0].empty() && !by_rule[1].empty() && prompts_with_pairs++ % 10 == 1;
        for (const text_example* chosen : by_rule[1])
          for (const text_example* rejected : by_rule[0])
            pairs[held_out].push_back({.prompt = chosen->prompt, .chosen = chosen->completion, .rejected = rejected->completion});
        first = end;
      }
      if (pairs[0].empty() || pairs[1].empty())
        throw error(rlft::detail::make_message("reward model: the stage-3 model's ", report.kept,
                                         " correct completions make ", pairs[0].size(), " training and ", pairs[1].size(),
                                         " held-out preference pairs; raise --preference-prompts"));
      if (leader()) {
        fs::create_directories(directory);
        io::write_preference_examples(directory / "training_pairs.jsonl", pairs[0]);
        io::write_preference_examples(directory / "held_out_pairs.jsonl", pairs[1]);
      }
      std::vector<preference_pair> training, held_out;
      for (int held = 0; held < 2; ++held)
        for (const auto& p : pairs[held])
          (held ? held_out : training)
              .push_back({.chosen = reward_model_tokens(p.prompt, p.chosen), .rejected = reward_model_tokens(p.prompt, p.rejected)});

      model scorer = with_score_head(stage3, options_.seed + 3);
      const reward_model_options rm_options{.pairs_per_batch = 16, .epochs = options_.reward_model_epochs, .seed = options_.seed};
      const std::size_t updates = reward_model_trainer<model>::updates(training.size(), rm_options);
      const float rate = options_.reward_model_learning_rate;
      reward_model_trainer trainer(scorer, rm_options,
                                   {.adamw = {.weight_decay = 0.0f},
                                    .schedule = {.peak_learning_rate = rate,
                                                 .final_learning_rate = rate / 10,
                                                 .warmup_steps = std::min<std::size_t>(20, updates / 10),
                                                 .total_steps = updates},
                                    .max_gradient_norm = 1.0});
      const reward_model_metrics before = trainer.evaluate(held_out);
      trainer.train(training, [&](const reward_model_metrics& metrics) {
        nlohmann::json record = rlft::to_json(metrics);
        record["stage"] = "reward_model";
        record["kind"] = "reward_model";
        log(record);
        progress("reward_model", metrics.step, updates, "loss " + format(metrics.loss) + "  accuracy " + format(metrics.accuracy));
      });
      end_progress();
      const reward_model_metrics after = trainer.evaluate(held_out);

      std::vector<reward_input> completions;  // both sides of every training pair, for the normalisation
      for (const auto& pair : training) {
        completions.push_back({.prompt_tokens = pair.chosen});
        completions.push_back({.prompt_tokens = pair.rejected});
      }
      const score_statistics statistics = learned_reward<model>(scorer).statistics(completions);
      reward_model_ = std::move(scorer);
      reward_model_result_ = {.training_pairs = training.size(),
                              .held_out_pairs = held_out.size(),
                              .accuracy_before = before.accuracy,
                              .accuracy = after.accuracy,
                              .loss = after.loss,
                              .score_mean = statistics.mean,
                              .score_standard_deviation = std::max(statistics.standard_deviation, 1e-6),
                              .starting_score = *sample_and_judge(stage3, evaluation_prompts_, options_.eval_samples,
                                                                  [](const reward_input&, const sample_outcome&, std::size_t) {})
                                                     .reward_model_score,
                              .seconds = seconds_since(start)};
      log({{"stage", "reward_model"}, {"kind", "evaluation"}, {"result", to_json(reward_model_result_)}});
      if (leader()) {
        reward_model_->save(directory / "model");
        io::write_file_atomically(directory / "done.json", to_json(reward_model_result_).dump(2));
      }
    }
    const auto& r = reward_model_result_;
    for (auto& row : results_)
      if (row.stage == "rejection_sft") row.reward_model_score = r.starting_score;
    if (leader())
      std::printf("%-14s %zu training pairs; held-out pair accuracy %.3f (%zu pairs; %.3f untrained)  (%.0f s)\n",
                  "reward_model", r.training_pairs, r.accuracy, r.held_out_pairs, r.accuracy_before, r.seconds);
  }

  // Stage 4's general-quality reward: the reward model's score, normalised by its scores of the
  // training completions.
  learned_reward<model> final_stage_reward() const {
    return learned_reward<model>(*reward_model_,
                                 {.mean = static_cast<float>(reward_model_result_.score_mean),
                                  .standard_deviation = static_cast<float>(reward_model_result_.score_standard_deviation)});
  }

  std::vector<sft_example> read_examples(const fs::path& path) const {
    std::vector<sft_example> examples;
    for (const auto& e : io::read_text_examples(path)) examples.push_back(text_.example(e));
    if (examples.empty()) throw error("rejection sampling kept no example; train the earlier stages longer");
    return examples;
  }

  // A smaller base pretrained like the large one, then two students from it with the same
  // number of updates: one on the stage-3 data, one on the cold-start data.
  void distill(const fs::path& rejection_data) {
    const std::vector<sft_example> distilled = read_examples(rejection_data);
    const std::vector<sft_example> cold = cold_start_examples();
    const auto updates = [&](const std::vector<sft_example>& examples, std::size_t epochs) {
      return sft_trainer<model>::updates(
          examples, {.tokens_per_batch = options_.sft_tokens_per_batch, .epochs = epochs, .seed = options_.seed});
    };
    const std::size_t distillation_updates = updates(distilled, options_.distillation_epochs);
    std::size_t cold_epochs = 1;  // the fewest epochs with at least as many updates
    while (updates(cold, cold_epochs) < distillation_updates) ++cold_epochs;
    const model student_base =
        stage("student_base", [&] { return pretrain("student_base", options_.student, options_.student_pretrain_epochs); });
    stage("student_distilled", [&] {
      model student = student_base;
      supervised(student, "student_distilled", distilled, options_.distillation_epochs);
      return student;
    });
    stage("student_cold_start", [&] {
      model student = student_base;
      supervised(student, "student_cold_start", cold, cold_epochs);
      return student;
    });
  }

  void print_table() const {
    if (!leader()) return;
    std::string table = "| stage | pass@1 ± SE | cons@" + std::to_string(options_.eval_samples) +
                        " | format rate | sound reasoning | reward-model score | mean length | wall time | GRPO step "
                        "kept |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : results_) {
      char score[32] = "";
      if (r.reward_model_score) std::snprintf(score, sizeof score, "%.3f", *r.reward_model_score);
      char row[320];
      std::snprintf(row, sizeof row, "| %s | %.3f ± %.3f | %.3f | %.3f | %.3f | %s | %.1f | %.0f s | %s |\n",
                    r.stage.c_str(), r.evaluation.pass_at_1, r.evaluation.pass_at_1_standard_error,
                    r.evaluation.consensus_at_k, r.evaluation.format_rate, r.sound_rate, score,
                    r.evaluation.mean_length, r.seconds, r.kept_step.empty() ? "" : r.kept_step.c_str());
      table += row;
    }
    const auto& rm = reward_model_result_;
    char line[256];
    std::snprintf(line, sizeof line,
                  "\nReward model: %zu training pairs; held-out pair accuracy %.3f over %zu pairs (%.3f untrained).\n",
                  rm.training_pairs, rm.accuracy, rm.held_out_pairs, rm.accuracy_before);
    table += line;
    std::printf("\n%s", table.c_str());
    io::write_file_atomically(options_.output / "results.md", table);
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results_) all.push_back(to_json(r));
    io::write_file_atomically(options_.output / "results.json",
                              nlohmann::json{{"stages", all}, {"reward_model", to_json(rm)}}.dump(2));
  }

  static std::string format(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    return text;
  }

  // One line rewritten in place on a terminal; every tenth step otherwise.
  void progress(const std::string& stage_name, std::size_t step, std::size_t total, const std::string& summary) {
    if (!leader()) return;
    if (interactive_) {
      std::printf("\r\033[K%-14s %zu/%zu  %s", stage_name.c_str(), step, total, summary.c_str());
    } else if (step % 10 == 0 || step == total) {
      std::printf("%-14s %zu/%zu  %s\n", stage_name.c_str(), step, total, summary.c_str());
    }
    std::fflush(stdout);
  }
  void end_progress() const {
    if (interactive_ && leader()) std::printf("\n");
  }

  pipeline_options options_;
  any_communicator comm_;
  tasks::char_tokenizer tokenizer_;
  task_text text_;
  task_source mixed_task_;
  task_source english_task_;
  prompt_batch evaluation_prompts_;
  prompt_batch validation_prompts_;
  std::string kept_step_;  // set by reinforce(), taken by stage()
  std::optional<model> reward_model_;  // from train_reward_model() on
  reward_model_result reward_model_result_;
  std::optional<io::jsonl_appender> log_;
  std::vector<stage_result> results_;
  clock_type::time_point stage_start_ = clock_type::now();
  double seconds_before_start_ = 0.0;  // the stage's wall time before this run resumed it
  bool interactive_ = isatty(fileno(stdout)) != 0 && comm_.size() == 1;  // MPI launchers hand ranks a terminal
};

}  // namespace
}  // namespace rlft::r1

int main(int argc, char** argv) {
  auto ranks = rlft::examples::launched_ranks::start(argc, argv, "r1_pipeline");  // alone, or an MPI launcher's
  if (!ranks) return 1;
  rlft::r1::pipeline_options options;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--quick") options.apply_quick_preset();  // flags given later still win
  CLI::App app{"The DeepSeek-R1 pipeline at small scale: pretraining, R1-Zero, cold start, reasoning RL, "
               "rejection sampling, final RL and distillation on a built-in reasoning task."};
  rlft::r1::add_flags(app, options);
  CLI11_PARSE(app, argc, argv);
  ranks->set_threads(options.threads);
  try {
    rlft::r1::pipeline(options, ranks->comm()).run();
  } catch (const rlft::r1::interrupted&) {
    if (ranks->leader()) std::printf("\nstopped at %s as asked; continue with --resume\n", options.stop_at.c_str());
    return 3;
  } catch (const std::exception& e) {  // rlft::error, or a library's own (a file system's, an allocation's)
    return ranks->fail("r1_pipeline", e.what());
  }
  return 0;
}
