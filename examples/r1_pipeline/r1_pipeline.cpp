// The DeepSeek-R1 training pipeline (arXiv 2501.12948, sections 2.2-2.4) at small scale, on a
// built-in verifiable task, end to end on the CPU:
//   0. pretraining: a base model learns task text (worked solutions in mixed languages);
//      R1-Zero: GRPO from the base with accuracy + format rewards;
//   1. cold start: SFT of the base on a small set of readable English chains of thought;
//   2. reasoning RL: GRPO from the cold start, plus a language-consistency reward (or PPO with a
//      critic, --reasoning-estimator ppo, the peers' alternative);
//   3. rejection sampling from stage 2 (correct, well-formatted, English), then SFT of the base
//      on the kept data;
//   4. RL for all scenarios: reasoning rewards plus a general-quality signal, temperature 0.7;
//   distillation: a smaller student trained on the stage-3 data against the same student
//      trained on the cold-start data, with the same number of updates.
// Every stage is evaluated on held-out problems (pass@1 over k samples at temperature 0.6 and
// top-p 0.95, cons@k, format rate, mean length); the table is printed and written with the
// metrics (metrics.jsonl, one record per step) to --output. Stages checkpoint as they finish,
// and RL stages every few steps, so --resume continues an interrupted run with the same
// numbers it would have produced uninterrupted. Under `mpirun -np N` the same program trains
// data-parallel (rlft::mpi_communicator): trainers, evaluation and rejection sampling split
// their work across the ranks, rank 0 alone prints and writes, and --output must be one
// directory every rank sees (for --resume).
#include <algorithm>
#include <chrono>
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
#include <rlft/io/text_examples.hpp>
#include <rlft/objective/clipped_surrogate_objective.hpp>
#include <rlft/sampling/pipeline.hpp>
#include <rlft/sampling/temperature.hpp>
#include <rlft/sampling/top_p.hpp>
#include <rlft/train/checkpoint.hpp>
#include <rlft/train/critic.hpp>
#include <rlft/train/evaluation.hpp>
#include <rlft/train/grpo_trainer.hpp>
#include <rlft/train/metrics_json.hpp>
#include <rlft/train/rejection_sampler.hpp>
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
    stage("r1_zero", [&] {
      model zero = base;
      reinforce(zero, "r1_zero", options_.r1_zero, 0, accuracy_component(english_task_) + format_component());
      return zero;
    });
    model cold_start = stage("cold_start", [&] { return cold_start_sft(base); });
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
    stage("final_rl", [&] {
      model policy = rejection_sft;
      reinforce(policy, "final_rl", options_.final_rl, 4,
                accuracy_component(english_task_) + format_component() +
                    options_.language_reward_weight * language_component() +
                    options_.quality_reward_weight * quality_component());
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
    const stage_result result{name, evaluate(trained, name), seconds_before_start_ + seconds_since(stage_start_),
                              std::exchange(kept_step_, {})};
    log({{"stage", name}, {"kind", "evaluation"}, {"evaluation", rlft::to_json(result.evaluation)}});
    results_.push_back(result);
    if (!leader()) return trained;
    io::write_file_atomically(directory / "done.json", to_json(result).dump(2));
    checkpoint_directory(directory).remove();
    std::printf("%-14s pass@1 %.3f  cons@%zu %.3f  format %.3f  length %.1f  (%.0f s)%s\n", name.c_str(),
                result.evaluation.pass_at_1, options_.eval_samples, result.evaluation.consensus_at_k,
                result.evaluation.format_rate, result.evaluation.mean_length, result.seconds,
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

  // Held-out evaluation, split across the ranks; one completion of each of the first problems is
  // logged as an example. For the program task, also the share of answers that leave the
  // computing to the interpreter: print(<the question>).
  evaluation_summary evaluate(model& policy, const std::string& stage_name) {
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
    const auto summary = evaluate_policy(comm_, policy, evaluation_prompts_,
                                         temperature{options_.eval_temperature} | top_p{options_.eval_top_p}, decoder(),
                                         r1_judge{english_task_}, sampling_options(options_.eval_samples, 0), log_example);
    comm_.all_reduce_sum(std::span(counts));
    nlohmann::json record{{"stage", stage_name}, {"kind", "evaluation_samples"}, {"samples", examples}};
    if (options_.task == "code")
      record["share_printing_the_question"] = static_cast<double>(question_printed) / static_cast<double>(samples);
    log(record);
    return summary;
  }

  // pass@1 on the validation problems, logged; drives checkpoint selection in GRPO stages.
  double validate(model& policy, const std::string& stage_name, std::size_t step) {
    const auto summary = evaluate_policy(comm_, policy, validation_prompts_,
                                         temperature{options_.eval_temperature} | top_p{options_.eval_top_p}, decoder(),
                                         r1_judge{english_task_}, sampling_options(options_.validation_samples, 0));
    log({{"stage", stage_name}, {"kind", "validation"}, {"step", step}, {"pass_at_1", summary.pass_at_1}});
    return summary.pass_at_1;
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

  // The cold-start data: solver-written English chains of thought in the R1 template.
  std::vector<sft_example> cold_start_examples() const {
    std::vector<sft_example> examples;
    for (std::size_t i = 0; i < options_.cold_start_examples; ++i)
      examples.push_back(text_.template_example(english_task_.make(tasks::split::train, cold_start_problems + i)));
    return examples;
  }

  // Stage 1: SFT on English chains of thought; keeps the epoch with the lowest validation loss.
  model cold_start_sft(const model& base) {
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
  // step with the best validation pass@1 (the last step when validation is off).
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
    auto shape = policy.config();
    shape.head = examples::transformer_head::score;
    model value_model(shape, options_.seed + stage_number);
    auto from = policy.parameters();
    for (const parameter_ref to : value_model.parameters()) {
      const auto same = std::ranges::find_if(from, [&](const parameter_ref& p) { return p.name == to.name; });
      if (same != from.end()) std::ranges::copy(same->values, to.values.begin());
    }
    critic<model> value_function(value_model, {},
                                 {.adamw = {.weight_decay = 0.0f},
                                  .schedule = {.peak_learning_rate = options_.critic_learning_rate,
                                               .final_learning_rate = options_.critic_learning_rate},
                                  .max_gradient_norm = 1.0});
    run_rl(policy, name, stage, stage_number, std::move(reward),
           gae_advantage{.gamma = 1.0, .lambda = options_.gae_lambda, .whiten = true, .equal_rewards = equal_rewards()},
           &value_function);
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
    if (!best.empty() && best.step() != trainer.steps()) policy = best.policy();
    kept_step_ = std::to_string(best.empty() ? trainer.steps() : best.step()) + "/" + std::to_string(stage.steps);
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
    std::string table = "| stage | pass@1 | cons@" + std::to_string(options_.eval_samples) +
                        " | format rate | mean length | wall time | GRPO step kept |\n|---|---|---|---|---|---|---|\n";
    for (const auto& r : results_) {
      char row[256];
      std::snprintf(row, sizeof row, "| %s | %.3f | %.3f | %.3f | %.1f | %.0f s | %s |\n", r.stage.c_str(),
                    r.evaluation.pass_at_1, r.evaluation.consensus_at_k, r.evaluation.format_rate,
                    r.evaluation.mean_length, r.seconds, r.kept_step.empty() ? "" : r.kept_step.c_str());
      table += row;
    }
    std::printf("\n%s", table.c_str());
    io::write_file_atomically(options_.output / "results.md", table);
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results_) all.push_back(to_json(r));
    io::write_file_atomically(options_.output / "results.json", all.dump(2));
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
