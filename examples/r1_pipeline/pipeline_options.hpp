// Every hyper-parameter of the R1 pipeline example, with its command-line flag. Defaults follow
// DeepSeek-R1 (arXiv 2501.12948) where they make sense for a character-level model of a few
// hundred thousand parameters trained from scratch on two CPU cores in minutes; deviations are
// explained next to the value. --quick shrinks everything to a smoke run of the same stages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include <rlft/advantage/grpo_advantage.hpp>

#include "launch/gradient_shards.hpp"
#include "tasks/arithmetic.hpp"
#include "tasks/countdown.hpp"

namespace rlft::r1 {

struct model_shape {
  std::size_t hidden = 128;
  std::size_t layers = 2;
  std::size_t heads = 8;          // head dimension = hidden / heads
  std::size_t kv_heads = 4;       // grouped-query attention
  std::size_t intermediate = 384;
};

struct rl_stage_options {
  std::size_t steps = 100;
  float temperature = 1.0f;       // R1: 1 for reasoning RL, 0.7 for the final stage
  float learning_rate = 2e-4f;    // R1: 3e-6 for a 670B-parameter model
  reward_scaling advantage_scaling = reward_scaling::group_std;  // R1: GRPO's group std
  bool keep_best_step = true;  // the step with the best validation pass@1, or the last
};

struct pipeline_options {
  std::filesystem::path output = "r1_pipeline_output";
  std::uint64_t seed = 1;
  bool resume = false;
  std::size_t threads = 0;  // 0: OpenMP's default
  std::size_t gradient_shards = 0;  // 0: the fewest, a power of two covering the MPI ranks
  std::size_t checkpoint_every = 10;  // GRPO steps between mid-stage checkpoints
  std::string stop_at = {};           // "stage:step": exit after that checkpoint (tests --resume)

  // Task.
  std::string task = "arithmetic";  // or "countdown", or "code" (arithmetic answered by a Python program)
  bool sandbox_per_program = false;  // code: each program in a sandbox of its own, not in warm workers
  tasks::arithmetic_options arithmetic = {.min_digits = 1, .max_digits = 2, .operands = 2, .operators = "+-"};
  tasks::countdown_options countdown = {.numbers = 3, .max_number = 12, .min_target = 5, .max_target = 40};

  // Models.
  model_shape model = {};
  model_shape student = {.hidden = 64, .layers = 2, .heads = 4, .kv_heads = 2, .intermediate = 192};

  // Stage 0: pretraining on task text (worked solutions in mixed languages; a share of them in
  // the <think>/<answer> template, so the base model sometimes answers in it).
  std::size_t pretrain_documents = 6000;
  std::size_t pretrain_epochs = 5;
  float pretrain_learning_rate = 3e-3f;
  double pretrain_template_share = 0.25;

  // Supervised stages.
  // Stage 1's data: "solver" (chains of thought the task's solver writes) or "r1-zero" (as the
  // R1 report collected it: R1-Zero's own completions, kept when correct, in the template, all
  // English and with no line written twice; one per prompt).
  std::string cold_start_source = "solver";
  std::size_t cold_start_examples = 400;  // R1: "thousands"; scaled to the model
  // r1-zero: samples per prompt to find a readable one (R1-Zero mixes languages: about one
  // sample in ten is right and readable)
  std::size_t r1_zero_cold_start_samples = 16;
  std::size_t cold_start_epochs = 12;  // the epoch with the lowest held-out loss is kept
  float sft_learning_rate = 2e-3f;
  std::size_t sft_tokens_per_batch = 2048;
  std::size_t rejection_prompts = 12000;  // Countdown keeps about one sample in four: 3000 left stage 3 below stage 2
  std::size_t rejection_samples = 2;  // chains of thought repeat: more prompts beat more samples
  std::size_t rejection_sft_epochs = 2;  // R1: 2 epochs
  std::size_t distillation_epochs = 5;
  std::size_t student_pretrain_epochs = 5;  // students start from a pretrained base, as R1's

  // Reinforcement learning (GRPO).
  std::size_t group_size = 8;           // R1: 16
  std::size_t prompts_per_step = 16;
  std::size_t max_new_tokens = 160;
  double kl_coefficient = 0.001;        // R1: 0.001, k3, in the loss
  double kl_value_bound = 0.0;          // the KL value unclamped, as DeepSeekMath writes it (verl clamps k3 at 10)
  float clip_epsilon = 0.2f;
  std::size_t reference_refresh_steps = 400;  // R1: 400
  // DAPO's dynamic sampling (arXiv 2503.14476), not R1's: groups whose completions are all right
  // (or all wrong) carry no GRPO signal, and at this scale most groups are; refilling from up to
  // this many generation rounds per step costs generation, which is cheap here, not training.
  std::size_t sampling_rounds = 4;  // 1: off
  rl_stage_options r1_zero = {.steps = 80};
  rl_stage_options reasoning = {.steps = 150};
  // Stage 4 polishes, and a learned reward is over-optimised the longer and faster the policy
  // moves (the hidden rule falls while the reward model's score still rises): a small rate.
  // It keeps its last step: its aim is the learned reward, with pass@1 held (which the table
  // checks), and picking the best validation pass@1 among steps of equal pass@1 picks noise.
  rl_stage_options final_rl = {.steps = 60, .temperature = 0.7f, .learning_rate = 3e-5f, .keep_best_step = false};
  float language_reward_weight = 1.0f;
  // Stage 4's general-quality reward: a reward model (the stage-3 network with a score head)
  // trained with the Bradley–Terry loss on pairs of the stage-3 model's own correct completions
  // of the same prompt, the chosen one with sound reasoning and the rejected one without
  // (r1_rewards.hpp); one prompt in ten with a pair holds its pairs out for the pair accuracy.
  float reward_model_weight = 0.5f;
  std::size_t preference_prompts = 8000;
  std::size_t preference_samples = 8;
  std::size_t reward_model_epochs = 3;
  float reward_model_learning_rate = 1e-3f;
  // Stage 2's advantages: "grpo" (R1's group baseline) or "ppo": GAE (λ below, γ = 1, whitened as
  // verl does) from a critic trained beside the policy — a copy of the policy's network with a
  // score head in place of the LM head, with its own learning rate — the peers' PPO.
  std::string reasoning_estimator = "grpo";
  double gae_lambda = 0.95;
  float critic_learning_rate = 2e-3f;  // 10 × the policy's, as verl's examples set the critic's
  // Checkpoint selection, as practised (R1 reports chosen checkpoints; TRL's
  // load_best_model_at_end): every this many GRPO steps, and before the first, pass@1 on the
  // validation problems (held out, apart from the evaluation set); a stage keeps its best
  // step, its start included (stage 4: its last). 0: keep the last step.
  std::size_t validation_every = 10;
  std::size_t validation_problems = 400;
  std::size_t validation_samples = 4;

  // Evaluation (R1: pass@1 over k samples at temperature 0.6, top-p 0.95; cons@k).
  std::size_t eval_problems = 400;
  std::size_t eval_samples = 8;
  float eval_temperature = 0.6f;
  float eval_top_p = 0.95f;

  // A smoke run of every stage in under a minute: one-digit problems, a small model.
  void apply_quick_preset() {
    arithmetic.min_digits = arithmetic.max_digits = 1;
    countdown = {.numbers = 2, .max_number = 9, .min_target = 2, .max_target = 30};
    model = {.hidden = 64, .layers = 1, .heads = 4, .kv_heads = 2, .intermediate = 128};
    student = {.hidden = 32, .layers = 1, .heads = 2, .kv_heads = 1, .intermediate = 64};
    pretrain_documents = 3000;
    pretrain_epochs = 8;
    pretrain_learning_rate = 6e-3f;  // enough for the stage-3 model to give the reward model pairs
    cold_start_examples = 200;
    cold_start_epochs = 4;
    rejection_prompts = 64;
    rejection_sft_epochs = 1;
    preference_prompts = 256;
    preference_samples = 4;
    reward_model_epochs = 1;
    distillation_epochs = 1;
    student_pretrain_epochs = 1;
    group_size = 4;
    prompts_per_step = 8;
    max_new_tokens = 48;
    sampling_rounds = 2;
    r1_zero.steps = reasoning.steps = final_rl.steps = 3;
    eval_problems = 32;
    eval_samples = 4;
    validation_every = 2;
    validation_problems = 16;
    validation_samples = 2;
  }
};

inline void add_flags(CLI::App& app, pipeline_options& o) {
  app.add_option("--output", o.output, "directory for checkpoints, metrics.jsonl and results");
  app.add_option("--seed", o.seed, "seed of every random draw");
  app.add_flag("--quick")->description("a tiny run of every stage (under a minute); applied before the other flags");
  app.add_flag("--resume", o.resume, "continue from the checkpoints in --output");
  app.add_option("--threads", o.threads, "CPU threads (0: all)");
  examples::add_gradient_shards_flag(app, o.gradient_shards);
  app.add_option("--checkpoint-every", o.checkpoint_every, "GRPO steps between mid-stage checkpoints")
      ->check(CLI::PositiveNumber);
  app.add_option("--stop-at", o.stop_at, "STAGE:STEP: stop after that step's checkpoint, as an interruption would");

  app.add_option("--task", o.task, "arithmetic, countdown, or code (arithmetic answered by a Python program run in the sandbox)")
      ->check(CLI::IsMember({"arithmetic", "countdown", "code"}));
  app.add_flag("--sandbox-per-program", o.sandbox_per_program,
               "code: run each program in a sandbox of its own (slower) instead of warm sandboxes that serve "
               "program after program");
  app.add_option("--digits-min", o.arithmetic.min_digits, "arithmetic, code: fewest digits of an operand");
  app.add_option("--digits-max", o.arithmetic.max_digits, "arithmetic, code: most digits of an operand");
  app.add_option("--operands", o.arithmetic.operands, "arithmetic, code: operands per problem (2-4)");
  app.add_option("--operators", o.arithmetic.operators, "arithmetic, code: operators to draw from (+-*)");
  app.add_option("--countdown-numbers", o.countdown.numbers, "countdown: given numbers (2-5)");
  app.add_option("--countdown-max-number", o.countdown.max_number, "countdown: largest given number");
  app.add_option("--countdown-min-target", o.countdown.min_target, "countdown: smallest target");
  app.add_option("--countdown-max-target", o.countdown.max_target, "countdown: largest target");

  const auto shape = [&](const std::string& prefix, model_shape& m) {
    app.add_option("--" + prefix + "-hidden", m.hidden, prefix + ": hidden size");
    app.add_option("--" + prefix + "-layers", m.layers, prefix + ": decoder layers");
    app.add_option("--" + prefix + "-heads", m.heads, prefix + ": attention heads");
    app.add_option("--" + prefix + "-kv-heads", m.kv_heads, prefix + ": key/value heads");
    app.add_option("--" + prefix + "-intermediate", m.intermediate, prefix + ": MLP width");
  };
  shape("model", o.model);
  shape("student", o.student);

  app.add_option("--pretrain-documents", o.pretrain_documents, "stage 0: task documents");
  app.add_option("--pretrain-epochs", o.pretrain_epochs, "stage 0: epochs");
  app.add_option("--pretrain-lr", o.pretrain_learning_rate, "stage 0: peak learning rate");
  app.add_option("--pretrain-template-share", o.pretrain_template_share, "stage 0: share of documents in the R1 template");
  app.add_option("--cold-start-source", o.cold_start_source,
                 "stage 1: solver (solver-written chains of thought) or r1-zero (R1-Zero's correct, readable ones)")
      ->check(CLI::IsMember({"solver", "r1-zero"}));
  app.add_option("--cold-start-examples", o.cold_start_examples, "stage 1: SFT examples (r1-zero: prompts sampled)");
  app.add_option("--r1-zero-cold-start-samples", o.r1_zero_cold_start_samples,
                 "stage 1 with r1-zero: samples per prompt to find a readable one")
      ->check(CLI::PositiveNumber);
  app.add_option("--cold-start-epochs", o.cold_start_epochs, "stage 1: epochs");
  app.add_option("--sft-lr", o.sft_learning_rate, "SFT stages: peak learning rate");
  app.add_option("--sft-tokens-per-batch", o.sft_tokens_per_batch, "SFT stages: tokens per update");
  app.add_option("--rejection-prompts", o.rejection_prompts, "stage 3: prompts sampled");
  app.add_option("--rejection-samples", o.rejection_samples, "stage 3: samples per prompt");
  app.add_option("--rejection-sft-epochs", o.rejection_sft_epochs, "stage 3: SFT epochs on the kept data");
  app.add_option("--distillation-epochs", o.distillation_epochs, "distillation: epochs on stage-3 data");
  app.add_option("--student-pretrain-epochs", o.student_pretrain_epochs, "distillation: epochs of the student's pretraining");

  app.add_option("--group-size", o.group_size, "GRPO: completions per prompt (G)");
  app.add_option("--prompts-per-step", o.prompts_per_step, "GRPO: prompts per step");
  app.add_option("--max-new-tokens", o.max_new_tokens, "longest completion");
  app.add_option("--kl", o.kl_coefficient, "GRPO: KL coefficient (k3, in the loss)");
  app.add_option("--kl-value-bound", o.kl_value_bound, "GRPO: clamp of each token's KL value (0: none, as R1; verl's low_var_kl: 10)");
  app.add_option("--clip", o.clip_epsilon, "GRPO: clip range epsilon");
  app.add_option("--reference-refresh", o.reference_refresh_steps, "GRPO: steps between reference replacements");
  app.add_option("--sampling-rounds", o.sampling_rounds, "GRPO: generation rounds per step to refill groups without signal (1: off)")
      ->check(CLI::PositiveNumber);
  app.add_option("--r1-zero-steps", o.r1_zero.steps, "R1-Zero: GRPO steps");
  app.add_option("--reasoning-steps", o.reasoning.steps, "stage 2: GRPO steps");
  app.add_option("--final-steps", o.final_rl.steps, "stage 4: GRPO steps");
  app.add_option("--r1-zero-lr", o.r1_zero.learning_rate, "R1-Zero: learning rate");
  app.add_option("--reasoning-lr", o.reasoning.learning_rate, "stage 2: learning rate");
  app.add_option("--final-lr", o.final_rl.learning_rate, "stage 4: learning rate");
  app.add_option("--validation-every", o.validation_every,
                 "GRPO steps between validation runs; a stage keeps its best step (0: the last)");
  app.add_option("--validation-problems", o.validation_problems, "held-out problems per validation run");
  app.add_option("--validation-samples", o.validation_samples, "samples per validation problem");
  const std::map<std::string, reward_scaling> scalings{
      {"group_std", reward_scaling::group_std}, {"batch_std", reward_scaling::batch_std}, {"none", reward_scaling::none}};
  const auto scaling_flag = [&](const std::string& name, rl_stage_options& stage, const std::string& what) {
    app.add_option(name, stage.advantage_scaling, what + ": advantage scaling (group_std, batch_std, none)")
        ->transform(CLI::CheckedTransformer(scalings, CLI::ignore_case));
  };
  scaling_flag("--r1-zero-scaling", o.r1_zero, "R1-Zero");
  scaling_flag("--reasoning-scaling", o.reasoning, "stage 2");
  scaling_flag("--final-scaling", o.final_rl, "stage 4");
  app.add_option("--r1-zero-temperature", o.r1_zero.temperature, "R1-Zero: sampling temperature");
  app.add_option("--reasoning-temperature", o.reasoning.temperature, "stage 2: sampling temperature");
  app.add_option("--final-temperature", o.final_rl.temperature, "stage 4: sampling temperature");
  app.add_option("--language-weight", o.language_reward_weight, "stages 2, 4: language-consistency weight");
  app.add_option("--reward-model-weight", o.reward_model_weight, "stage 4: weight of the learned reward");
  app.add_option("--preference-prompts", o.preference_prompts, "reward model: prompts sampled for preference pairs")
      ->check(CLI::PositiveNumber);
  app.add_option("--preference-samples", o.preference_samples, "reward model: samples per prompt")
      ->check(CLI::Range(2, 64));
  app.add_option("--reward-model-epochs", o.reward_model_epochs, "reward model: epochs over the pairs")
      ->check(CLI::PositiveNumber);
  app.add_option("--reward-model-lr", o.reward_model_learning_rate, "reward model: peak learning rate")
      ->check(CLI::PositiveNumber);
  app.add_option("--reasoning-estimator", o.reasoning_estimator,
                 "stage 2: grpo (group baseline) or ppo (GAE from a critic trained beside the policy)")
      ->check(CLI::IsMember({"grpo", "ppo"}));
  app.add_option("--gae-lambda", o.gae_lambda, "stage 2 with ppo: GAE's lambda")->check(CLI::Range(0.0, 1.0));
  app.add_option("--critic-lr", o.critic_learning_rate, "stage 2 with ppo: the critic's learning rate")
      ->check(CLI::PositiveNumber);

  app.add_option("--eval-problems", o.eval_problems, "held-out problems per evaluation");
  app.add_option("--eval-samples", o.eval_samples, "samples per problem (pass@1 over k, cons@k)");
  app.add_option("--eval-temperature", o.eval_temperature, "evaluation temperature");
  app.add_option("--eval-top-p", o.eval_top_p, "evaluation top-p");
}

}  // namespace rlft::r1
