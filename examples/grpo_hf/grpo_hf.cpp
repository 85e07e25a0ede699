// GRPO on a Hugging Face checkpoint, on the CPU: the program to run after the demo.
//   rlft_grpo_hf --model Qwen2.5-0.5B-Instruct --train train.jsonl --eval test.jsonl
//                --reward accuracy=1 --steps 200 --output my_run
// It loads the model (config.json, model.safetensors or shards, BF16/F16/F32) and its tokenizer
// and chat template, formats every record of the data set as the model's chat (or DeepSeek-R1-
// Zero's plain prompt), trains with GRPO (DeepSeekMath, arXiv 2402.03300; DeepSeek-R1, arXiv
// 2501.12948) against the chosen rewards (rule-based, and a learned reward model with
// --reward-model), measures held-out pass@1 as it goes, checkpoints so that --resume continues
// exactly, logs every step to metrics.jsonl and writes the trained model to --output as a
// Hugging Face model directory in the input's dtype. --help lists every option.
// Under `mpirun -np N` the same program trains data-parallel: the ranks split each step's
// groups and the held-out problems, rank 0 alone prints and writes, and --output must be one
// directory every rank sees.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rlft/advantage/grpo_advantage.hpp>
#include <rlft/data/prompt_data_set.hpp>
#include <rlft/data/read_data_file.hpp>
#include <rlft/io/json_number.hpp>
#include <rlft/io/jsonl.hpp>
#include <rlft/objective/clipped_surrogate_objective.hpp>
#include <rlft/rewards/answer_extraction.hpp>
#include <rlft/sampling/pipeline.hpp>
#include <rlft/sampling/temperature.hpp>
#include <rlft/sampling/top_p.hpp>
#include <rlft/text/chat_template.hpp>
#include <rlft/text/r1_zero_template.hpp>
#include <rlft/text/tokenizer.hpp>
#include <rlft/text/tokenizer_chat.hpp>
#include <rlft/train/checkpoint.hpp>
#include <rlft/train/evaluation.hpp>
#include <rlft/train/grpo_trainer.hpp>
#include <rlft/train/metrics_json.hpp>

#include "grpo_hf_options.hpp"
#include "hf_model_files.hpp"
#include "hf_rewards.hpp"
#include "launch/launched_ranks.hpp"
#include "progress_bar.hpp"
#include "training_memory.hpp"
#include "transformer/transformer.hpp"
#include "user_rewards.hpp"

namespace rlft::hf {
namespace {

namespace fs = std::filesystem;
using model = examples::transformer;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Completions (and prompts, for the rewards) as text, special tokens left out.
struct text_decoder {
  const tokenizer* tokens;
  std::string operator()(std::span<const token_id> ids) const { return tokens->decode(ids, true); }
};

// A record as the model sees it: its chat template over [system, user], the generation prompt
// opened; or R1-Zero's plain prompt around the question.
struct prompt_format {
  std::optional<chat_template> chat;  // empty: R1-Zero
  chat_render_options render;
  std::string default_system_prompt;

  std::string operator()(const data::data_record& record) const {
    if (!chat) return r1_zero_prompt(record.prompt);
    std::vector<chat_message> messages;
    const std::string& system = record.system_prompt.empty() ? default_system_prompt : record.system_prompt;
    if (!system.empty()) messages.push_back({.role = "system", .content = system});
    messages.push_back({.role = "user", .content = record.prompt});
    return chat->render(messages, render);
  }
};

prompt_format make_prompt_format(const grpo_hf_options& o, const tokenizer& tokens) {
  if (o.chat_template == "r1-zero") return {};
  if (!tokens.chat_templates().contains("default"))
    throw error(o.model.string() +
                " has no chat template (tokenizer_config.json or chat_template.jinja); a base model trains with "
                "--chat-template r1-zero");
  tokenizer_chat chat = chat_of(tokens);
  chat.options.add_generation_prompt = true;
  return {.chat = std::move(chat.chat), .render = std::move(chat.options), .default_system_prompt = o.system_prompt};
}

// Chat templates hold their special tokens as text; R1-Zero's prompt gets the tokenizer's own
// (a Llama base model's BOS), as transformers' tokenizer(text) would add them.
data::prompt_data_set load_prompts(const fs::path& path, const grpo_hf_options& o, const tokenizer& tokens,
                                   const prompt_format& format, bool shuffle) {
  std::vector<data::data_record> records = data::read_data_file(
      path, {.fields = {.prompt = o.prompt_field, .reference = o.answer_field, .system_prompt = o.system_field},
             .reference = o.answer_style});
  const bool special_tokens = !format.chat.has_value();
  return data::prompt_data_set(
      std::move(records), [&](std::string_view text) { return tokens.encode(text, special_tokens); },
      {.seed = o.seed, .shuffle = shuffle}, format);
}

io::tensor_dtype save_dtype(const grpo_hf_options& o) {
  if (o.save_dtype == "float32") return io::tensor_dtype::f32;
  if (o.save_dtype == "bfloat16") return io::tensor_dtype::bf16;
  if (o.save_dtype == "float16") return io::tensor_dtype::f16;
  return stored_dtype(o.model);
}

// The held-out judge: R1's accuracy rule on the final answer, its format, the length.
struct held_out_judge {
  sample_outcome operator()(const reward_input& input) const {
    const auto answer = answer_extraction{}(input.completion);
    return {.answer = answer ? std::string(*answer) : std::string(),
            .correct = accuracy_reward{}(input) == 1.0f,
            .well_formatted = format_reward{}(input) == 1.0f,
            .length = input.completion_tokens.size()};
  }
};

// Keeps the metrics of steps a checkpoint holds; a resumed run logs the later ones again.
void drop_metrics_after(const fs::path& path, std::size_t step) {
  if (!fs::exists(path)) return;
  std::vector<nlohmann::json> kept;
  io::read_jsonl(path, [&](const nlohmann::json& record, std::size_t) {
    const auto record_step = io::json_number<std::size_t>(record.value("step", nlohmann::json(0)));
    if (!record_step) throw data_error("a record's step is not a step number");
    if (*record_step <= step) kept.push_back(record);
  });
  io::write_jsonl(path, kept);
}

int run(const grpo_hf_options& o, any_communicator& comm) {
  const bool leader = comm.rank() == 0;  // prints and writes
  const auto say = [&](const char* format, auto... values) {
    if (leader) std::printf(format, values...);
  };
  if (fs::exists(o.output) && fs::equivalent(o.output, o.model))
    throw error("--output must not be the --model directory: the input model would be overwritten");
  const reward_weights weights(o.rewards);
  std::vector<std::string> reward_names;
  (builtin_rewards(weights, o.max_new_tokens, {}) + user_rewards(weights)).append_component_names(reward_names);
  weights.check_known(reward_names);

  checkpoint_directory checkpoints(o.output / "checkpoints");
  const auto latest = checkpoints.latest();
  if (o.resume && !latest) throw error("--resume: " + checkpoints.root().string() + " holds no checkpoint");
  if (!o.resume && latest)
    throw error(o.output.string() + " holds a run (step checkpoints); continue it with --resume or choose another --output");

  // Tokenizer and data first: they are small, and the longest prompt sizes the KV cache.
  const auto config = examples::read_transformer_config(o.model);
  const tokenizer tokens = tokenizer::from_directory(o.model);
  if (tokens.vocab_size() > config.vocab_size)
    throw error("the tokenizer has " + std::to_string(tokens.vocab_size()) + " tokens, the model's vocabulary only " +
                std::to_string(config.vocab_size));
  const auto reward =
      builtin_rewards(weights, o.max_new_tokens, load_reward_model(o.reward_model, tokens.vocab_size(), weights)) +
      user_rewards(weights);
  if (!o.reward_model.empty()) say("reward    model %s\n", o.reward_model.c_str());
  const prompt_format format = make_prompt_format(o, tokens);
  data::prompt_data_set train = load_prompts(o.train, o, tokens, format, true);
  std::optional<data::prompt_data_set> held_out;
  if (!o.eval.empty()) held_out.emplace(load_prompts(o.eval, o, tokens, format, false));
  std::size_t longest_prompt = 0;
  for (const auto* set : {&train, held_out ? &*held_out : nullptr})
    for (std::size_t i = 0; set && i < set->size(); ++i) longest_prompt = std::max(longest_prompt, set->prompt_tokens(i).size());
  say("data      %zu training records, %zu held out, longest prompt %zu tokens\n", train.size(),
      held_out ? held_out->size() : 0, longest_prompt);
  say("prompt    %s\n", nlohmann::json(std::string(train.prompt_text(0))).dump().c_str());

  const training_memory memory = estimate_training_memory(
      config, {.completions = o.prompts_per_step * o.group_size,
               .max_sequence_tokens = longest_prompt + o.max_new_tokens,
               .micro_batch_tokens = o.micro_batch_tokens,
               .reference_model = o.kl_coefficient > 0.0});
  say("memory    %s\n", describe(memory).c_str());
  check_fits(memory, o.memory_limit_gib);

  const auto load_start = std::chrono::steady_clock::now();
  model policy = model::from_pretrained(o.model);
  say("model     %s: %s, %zu parameters, loaded in %.1f s\n", o.model.c_str(), config.model_type.c_str(),
      policy.num_parameters(), seconds_since(load_start));

  const std::vector<token_id> stops = stop_tokens(o.model, tokens, config.vocab_size);
  const text_decoder decode{&tokens};
  grpo_trainer trainer(
      policy, temperature{o.temperature} | top_p{o.top_p}, reward, decode,
      grpo_advantage{.scaling = o.scaling,
                     .equal_rewards = o.sampling_rounds > 1 ? equal_reward_policy::drop : equal_reward_policy::keep},
      clipped_surrogate_objective{.clip = {.epsilon_low = o.clip_low, .epsilon_high = o.clip_high},
                                  .kl = {.coefficient = o.kl_coefficient,
                                         .estimator = kl_estimator::k3,
                                         .value_bound = o.kl_value_bound},
                                  .aggregation = o.aggregation,
                                  .constant_divisor = static_cast<double>(o.max_new_tokens)},
      grpo_options{.prompts_per_step = o.prompts_per_step,
                   .group_size = o.group_size,
                   .max_new_tokens = o.max_new_tokens,
                   .stop_tokens = stops,
                   .inner_iterations = o.inner_iterations,
                   .mini_batches = o.mini_batches,
                   .micro_batch_tokens = o.micro_batch_tokens,
                   .reference_logprobs = o.kl_coefficient > 0.0,
                   .reference_refresh_steps = o.reference_refresh_steps,
                   .max_sampling_rounds = o.sampling_rounds,
                   .mask_truncated_completions = o.mask_truncated,
                   .seed = o.seed,
                   .gradient_shards = examples::gradient_shards(o.gradient_shards, comm.size())},
      {.adamw = {.beta1 = o.adam_beta1, .beta2 = o.adam_beta2, .epsilon = o.adam_epsilon, .weight_decay = o.weight_decay},
       .schedule = {.peak_learning_rate = o.learning_rate,
                    .final_learning_rate = o.final_learning_rate < 0.0f ? o.learning_rate : o.final_learning_rate,
                    .warmup_steps = o.warmup_steps,
                    .total_steps = o.steps * o.inner_iterations * o.mini_batches},
       .max_gradient_norm = o.max_gradient_norm},
      comm);

  fs::create_directories(o.output);
  const fs::path metrics_path = o.output / "metrics.jsonl";
  if (latest) {
    trainer.resume(*latest, train);
    if (leader) drop_metrics_after(metrics_path, trainer.steps());
    say("resumed   at step %zu from %s\n", trainer.steps(), latest->directory.c_str());
  }
  std::optional<io::jsonl_appender> metrics;
  if (leader) metrics.emplace(metrics_path, latest.has_value());
  const auto log = [&](const nlohmann::json& record) {
    if (metrics) metrics->write(record);
  };

  const auto evaluate = [&](std::size_t step) {
    if (!held_out) return;
    const data::drawn_prompts all = held_out->in_file_order();
    const std::size_t count = o.eval_problems > 0 ? std::min(o.eval_problems, all.prompts.size()) : all.prompts.size();
    prompt_batch problems;
    for (std::size_t i = 0; i < count; ++i) {
      problems.prompts.push_back(all.prompts[i]);
      problems.references.push_back(all.references[i]);
    }
    const auto start = std::chrono::steady_clock::now();
    const evaluation_summary summary = evaluate_policy(
        comm, policy, problems, temperature{o.eval_temperature} | top_p{o.eval_top_p}, decode, held_out_judge{},
        {.samples_per_prompt = o.eval_samples, .max_new_tokens = o.max_new_tokens, .stop_tokens = stops,
         .seed = o.seed ^ 0xE7A1u});
    nlohmann::json record = to_json(summary);
    record["kind"] = "eval";
    record["step"] = step;
    record["seconds"] = seconds_since(start);
    log(record);
    say("eval      step %zu: pass@1 %.3f  cons@%zu %.3f  format %.2f  length %.0f  (%zu problems)\n", step,
        summary.pass_at_1, o.eval_samples, summary.consensus_at_k, summary.format_rate, summary.mean_length,
        summary.problems);
  };
  if (!latest) evaluate(0);

  std::optional<progress_bar> bar;
  if (leader) bar.emplace(o.steps, trainer.steps());
  while (trainer.steps() < o.steps) {
    const grpo_step_metrics m = trainer.step(train);
    nlohmann::json record = to_json(m);
    record["kind"] = "grpo";
    log(record);
    char summary[256];
    std::snprintf(summary, sizeof summary, "reward %.3f  length %.0f  kl %.4f%s", m.rewards.back().mean,
                  m.completion_length, m.objective.kl_mean, m.applied ? "" : "  (skipped)");
    if (bar) bar->update(m.step, summary);
    const bool last = m.step == o.steps;
    if (o.eval_every > 0 && m.step % o.eval_every == 0 && !last) {
      if (bar) bar->interrupt();
      evaluate(m.step);
    }
    if (m.step % o.checkpoint_every == 0 || last) trainer.save_checkpoint(checkpoints);
  }
  if (bar) bar->interrupt();
  evaluate(trainer.steps());
  if (!leader) return 0;

  const io::tensor_dtype dtype = save_dtype(o);
  save_hf_model(policy, o.model, o.output, dtype);
  std::printf("saved     %s (%s)\n", o.output.c_str(), examples::torch_dtype_name(dtype));
  return 0;
}

}  // namespace
}  // namespace rlft::hf

int main(int argc, char** argv) {
  auto ranks = rlft::examples::launched_ranks::start(argc, argv, "rlft_grpo_hf");  // alone, or an MPI launcher's
  if (!ranks) return 1;
  rlft::hf::grpo_hf_options options;
  CLI::App app{"GRPO fine-tuning of a Hugging Face Qwen2/Llama checkpoint on the CPU, with rule-based rewards "
               "and, optionally, a learned reward model."};
  app.get_formatter()->column_width(34);
  rlft::hf::add_flags(app, options);
  CLI11_PARSE(app, argc, argv);
  ranks->set_threads(options.threads);
  try {
    return rlft::hf::run(options, ranks->comm());
  } catch (const std::exception& e) {  // rlft::error, or a library's own (a file system's, an allocation's)
    return ranks->fail("rlft_grpo_hf", e.what());
  }
}
