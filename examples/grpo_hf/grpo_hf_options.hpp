// Every option of the GRPO trainer for Hugging Face checkpoints, with its command-line flag.
// Defaults follow TRL's GRPOTrainer and DeepSeek-R1 (arXiv 2501.12948) where they agree with
// a CPU run of a small model: KL coefficient 0.001 with the k3 estimator in the loss (R1),
// clip 0.2, group-std advantages, AdamW without weight decay, gradient norm clipped at 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <rlft/advantage/grpo_advantage.hpp>
#include <rlft/data/read_data_file.hpp>
#include <rlft/objective/loss_aggregation.hpp>

#include "launch/gradient_shards.hpp"

namespace rlft::hf {

struct grpo_hf_options {
  // Model and data.
  std::filesystem::path model;   // config.json, safetensors (one file or shards), tokenizer files
  std::filesystem::path train;
  std::filesystem::path eval;    // optional held-out file
  std::filesystem::path output = "grpo_hf_output";
  std::string prompt_field = "question";
  std::string answer_field = "answer";
  std::string system_field = {};     // a per-record system prompt, when the data has one
  data::reference_style answer_style = data::reference_style::gsm8k;
  std::string chat_template = "model";  // the model's own, or "r1-zero"
  // With the model's template and no system prompt in the record: Qwen2.5-Math's chain-of-thought
  // instruction, so that the answer lands in \boxed{} where the accuracy reward finds it.
  std::string system_prompt = "Please reason step by step, and put your final answer within \\boxed{}.";
  std::vector<std::string> rewards = {"accuracy=1"};  // name=weight
  std::filesystem::path reward_model = {};  // a …ForSequenceClassification checkpoint: reward "reward_model"

  // GRPO.
  std::size_t steps = 100;
  std::size_t prompts_per_step = 8;
  std::size_t group_size = 8;            // R1: 16
  std::size_t max_new_tokens = 256;
  float temperature = 1.0f;
  float top_p = 1.0f;
  double kl_coefficient = 0.001;         // R1; TRL's default is 0 (no reference model)
  double kl_value_bound = 0.0;           // 0: the KL value unclamped, as R1 writes it
  float clip_low = 0.2f;
  float clip_high = 0.2f;                // DAPO: 0.28
  reward_scaling scaling = reward_scaling::group_std;
  loss_aggregation aggregation = loss_aggregation::sequence_mean_token_mean;
  std::size_t inner_iterations = 1;      // μ
  std::size_t mini_batches = 1;
  std::size_t micro_batch_tokens = 2048;
  std::size_t reference_refresh_steps = 0;  // 0: never (R1: 400)
  std::size_t sampling_rounds = 1;       // > 1: DAPO's dynamic sampling
  bool mask_truncated = false;

  // Optimiser.
  float learning_rate = 1e-6f;           // TRL's default
  float final_learning_rate = -1.0f;     // < 0: the same as learning_rate (constant after warm-up)
  std::size_t warmup_steps = 0;
  float weight_decay = 0.0f;
  float adam_beta1 = 0.9f;
  float adam_beta2 = 0.99f;              // TRL's GRPO recipes; PyTorch's default is 0.999
  float adam_epsilon = 1e-8f;
  double max_gradient_norm = 1.0;

  // Held-out pass@1 (R1: k samples at temperature 0.6, top-p 0.95).
  std::size_t eval_every = 10;           // 0: only before and after training
  std::size_t eval_problems = 0;         // 0: every record of --eval
  std::size_t eval_samples = 4;
  float eval_temperature = 0.6f;
  float eval_top_p = 0.95f;

  // Run.
  std::uint64_t seed = 1;
  std::size_t threads = 0;               // 0: OpenMP's default
  std::size_t gradient_shards = 0;       // 0: the fewest, a power of two covering the MPI ranks
  std::size_t checkpoint_every = 10;
  bool resume = false;
  double memory_limit_gib = 0.0;         // 0: the memory the system says is available
  std::string save_dtype = "input";      // input, float32, bfloat16 or float16
};

inline void add_flags(CLI::App& app, grpo_hf_options& o) {
  app.option_defaults()->always_capture_default();  // --help shows every default
  app.add_option("--model", o.model, "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--train", o.train, "training records (.jsonl or .csv)")->required()->check(CLI::ExistingFile);
  app.add_option("--eval", o.eval, "held-out records for pass@1")->check(CLI::ExistingFile);
  app.add_option("--output", o.output, "output directory: the trained model, checkpoints/, metrics.jsonl");
  app.add_option("--prompt-field", o.prompt_field, "record field holding the question");
  app.add_option("--answer-field", o.answer_field, "record field holding the reference answer");
  app.add_option("--system-field", o.system_field, "record field holding a system prompt (optional)");
  const std::map<std::string, data::reference_style> styles{{"gsm8k", data::reference_style::gsm8k},
                                                            {"math", data::reference_style::math_boxed},
                                                            {"verbatim", data::reference_style::verbatim}};
  app.add_option("--answer-style", o.answer_style,
                 "how the reference answer is written: gsm8k (#### 42, the default), math (\\boxed{}), verbatim")
      ->transform(CLI::CheckedTransformer(styles, CLI::ignore_case))
      ->option_text("gsm8k|math|verbatim");
  app.add_option("--chat-template", o.chat_template,
                 "model: the model's chat template; r1-zero: DeepSeek-R1-Zero's plain prompt")
      ->check(CLI::IsMember({"model", "r1-zero"}));
  app.add_option("--system-prompt", o.system_prompt, "system prompt for records without one (model template)");
  app.add_option("--reward", o.rewards,
                 "NAME=WEIGHT, repeatable: accuracy, format, language, cosine, overlong, repetition, "
                 "reward_model, or a reward of user_rewards.hpp; rewards not named are logged with weight 0");
  app.add_option("--reward-model", o.reward_model,
                 "a Hugging Face reward model (Qwen2/LlamaForSequenceClassification, one label) sharing the "
                 "policy's tokenizer: its score of prompt + completion is the reward reward_model");

  app.add_option("--steps", o.steps, "GRPO steps")->check(CLI::PositiveNumber);
  app.add_option("--prompts-per-step", o.prompts_per_step, "prompts per step")->check(CLI::PositiveNumber);
  app.add_option("--group-size", o.group_size, "completions per prompt (G)")->check(CLI::Range(2, 1 << 20));
  app.add_option("--max-new-tokens", o.max_new_tokens, "longest completion")->check(CLI::PositiveNumber);
  app.add_option("--temperature", o.temperature, "sampling temperature")->check(CLI::PositiveNumber);
  app.add_option("--top-p", o.top_p, "nucleus sampling mass (1: off)")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--kl", o.kl_coefficient, "KL coefficient beta (k3, in the loss; 0: no reference model)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--kl-value-bound", o.kl_value_bound, "clamp of each token's KL value (0: none; verl's low_var_kl, OpenRLHF: 10)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--clip-low", o.clip_low, "clip range below 1 (epsilon)")->check(CLI::NonNegativeNumber);
  app.add_option("--clip-high", o.clip_high, "clip range above 1 (DAPO's clip-higher: 0.28)")
      ->check(CLI::NonNegativeNumber);
  const std::map<std::string, reward_scaling> scalings{
      {"group_std", reward_scaling::group_std}, {"batch_std", reward_scaling::batch_std}, {"none", reward_scaling::none}};
  app.add_option("--scale-rewards", o.scaling, "advantage scaling: group_std (GRPO, the default), batch_std, none (Dr. GRPO)")
      ->transform(CLI::CheckedTransformer(scalings, CLI::ignore_case))
      ->option_text("group_std|batch_std|none");
  const std::map<std::string, loss_aggregation> aggregations{
      {"sequence_mean_token_mean", loss_aggregation::sequence_mean_token_mean},
      {"token_mean", loss_aggregation::token_mean},
      {"sequence_mean_token_sum", loss_aggregation::sequence_mean_token_sum},
      {"sequence_mean_token_sum_normalized", loss_aggregation::sequence_mean_token_sum_normalized},
      {"token_sum", loss_aggregation::token_sum}};
  app.add_option("--loss-aggregation", o.aggregation,
                 "sequence_mean_token_mean (GRPO, the default), token_mean (DAPO), sequence_mean_token_sum, sequence_mean_token_sum_normalized (Dr. GRPO: divided by --max-new-tokens), token_sum")
      ->transform(CLI::CheckedTransformer(aggregations, CLI::ignore_case))
      ->option_text("NAME");
  app.add_option("--inner-iterations", o.inner_iterations, "passes over each step's rollouts (mu)")
      ->check(CLI::PositiveNumber);
  app.add_option("--mini-batches", o.mini_batches, "optimiser updates per pass")->check(CLI::PositiveNumber);
  app.add_option("--micro-batch-tokens", o.micro_batch_tokens, "tokens per forward/backward (memory vs speed)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reference-refresh", o.reference_refresh_steps, "steps between reference replacements (0: never)");
  app.add_option("--sampling-rounds", o.sampling_rounds,
                 "generation rounds per step to refill groups without signal (1: off; DAPO)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--mask-truncated", o.mask_truncated, "leave completions cut at --max-new-tokens out of the loss");

  app.add_option("--lr", o.learning_rate, "peak learning rate")->check(CLI::PositiveNumber);
  app.add_option("--final-lr", o.final_learning_rate, "learning rate at the last step, cosine decay (default: --lr)");
  app.add_option("--warmup-steps", o.warmup_steps, "linear warm-up steps");
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->check(CLI::NonNegativeNumber);
  app.add_option("--adam-beta1", o.adam_beta1, "AdamW beta1")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--adam-beta2", o.adam_beta2, "AdamW beta2")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--adam-epsilon", o.adam_epsilon, "AdamW epsilon")->check(CLI::PositiveNumber);
  app.add_option("--max-grad-norm", o.max_gradient_norm, "gradient norm clip (0: none)")->check(CLI::NonNegativeNumber);

  app.add_option("--eval-every", o.eval_every, "steps between held-out pass@1 runs (0: before and after only)");
  app.add_option("--eval-problems", o.eval_problems, "held-out problems per run (0: all)");
  app.add_option("--eval-samples", o.eval_samples, "samples per held-out problem (k of pass@1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--eval-temperature", o.eval_temperature, "held-out sampling temperature")->check(CLI::PositiveNumber);
  app.add_option("--eval-top-p", o.eval_top_p, "held-out nucleus mass")->check(CLI::Range(0.0f, 1.0f));

  app.add_option("--seed", o.seed, "seed of every random draw (data order, sampling)");
  app.add_option("--threads", o.threads, "CPU threads (0: all; under mpirun, the cores shared among a machine's ranks)");
  examples::add_gradient_shards_flag(app, o.gradient_shards);
  app.add_option("--checkpoint-every", o.checkpoint_every, "steps between checkpoints")->check(CLI::PositiveNumber);
  app.add_flag("--resume", o.resume, "continue from the latest checkpoint in --output");
  app.add_option("--memory-limit-gib", o.memory_limit_gib,
                 "refuse to start when the estimate exceeds this (0: the memory available now)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--save-dtype", o.save_dtype, "dtype of the saved weights (input: the model's own)")
      ->check(CLI::IsMember({"input", "float32", "bfloat16", "float16"}));
}

}  // namespace rlft::hf
