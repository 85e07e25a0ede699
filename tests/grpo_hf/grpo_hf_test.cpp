// examples/grpo_hf end to end on the Hugging Face fixtures of tests/hf_model (a tiny BF16 Qwen2
// and a tiny F32 Llama): the program runs 3 GRPO steps on the sample data set with the command
// line of fixtures/runs.json and saves; its output directory is then loaded as a user's next
// program would load it. The golden numbers are what transformers computed with the model this
// command trained (tools/make_grpo_hf_golden.py): rlft's logits of the saved model must equal them
// to 1e-5 relative and its greedy continuations must equal transformers' token for token. Also:
// the weights are saved in the input's dtype with config.json saying so, the tokenizer files are
// copied unchanged, a run stopped after 2 steps and resumed to 3 saves the same bytes as an
// uninterrupted one, an existing run is never overwritten without --resume, and a learned
// reward model joins the rewards with --reward-model.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hf_model/hf_fixture.hpp"
#include "relative_error.hpp"
#include "rlft/io/safetensors.hpp"
#include "rlft/sampling/greedy.hpp"
#include "transformer/transformer.hpp"

namespace {

namespace fs = std::filesystem;
using rlft::examples::transformer;

const fs::path golden_directory = RLFT_GRPO_HF_GOLDEN_DIR;
const fs::path work_directory = RLFT_GRPO_HF_WORK_DIR;
const std::string model_names[] = {"qwen2", "llama"};

nlohmann::json golden_runs() { return rlft_test::read_json_file(golden_directory / "runs.json"); }

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out.append("'\\''");
    else out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// The golden command line for `model` writing to `output`, with `steps` in place of its own and
// `extra` appended; runs it with stdout and stderr in `output`.log and returns the exit status.
int run_grpo_hf(const std::string& model, const fs::path& output, const std::string& steps = "3",
                const std::vector<std::string>& extra = {}) {
  const fs::path source = RLFT_SOURCE_DIR;
  std::string command = shell_quoted(RLFT_GRPO_HF_PROGRAM);
  const auto arguments = golden_runs().at("arguments").get<std::vector<std::string>>();
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    std::string argument = arguments[i];
    if (argument == "{model}") argument = (rlft_test::hf_fixtures_directory() / model).string();
    if (argument == "{train}") argument = (source / "examples/data/gsm8k_sample_train.jsonl").string();
    if (argument == "{eval}") argument = (source / "examples/data/gsm8k_sample_test.jsonl").string();
    if (argument == "{output}") argument = output.string();
    if (i > 0 && arguments[i - 1] == "--steps") argument = steps;
    command.append(" ").append(shell_quoted(argument));
  }
  for (const auto& argument : extra) command.append(" ").append(shell_quoted(argument));
  command.append(" > ").append(shell_quoted(output.string() + ".log")).append(" 2>&1");
  return std::system(command.c_str());
}

std::string file_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE_MESSAGE(file, "cannot open ", path.string());
  return {std::istreambuf_iterator<char>(file), {}};
}

fs::path fresh_directory(const std::string& name) {
  const fs::path directory = work_directory / name;
  fs::remove_all(directory);
  fs::create_directories(directory.parent_path());
  return directory;
}

}  // namespace

TEST_CASE("grpo_hf's saved model computes in rlft what transformers computes with it") {
  const auto runs = golden_runs();
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const fs::path output = fresh_directory("trained_" + name);
    REQUIRE(run_grpo_hf(name, output) == 0);
    const auto& golden = runs.at("models").at(name);

    // Saved as the input was: dtype of every tensor, config.json, tokenizer files unchanged.
    const std::string dtype = golden.at("dtype").get<std::string>();
    const auto expected_dtype = dtype == "bfloat16" ? rlft::io::tensor_dtype::bf16 : rlft::io::tensor_dtype::f32;
    const rlft::io::safetensors_file saved(output / "model.safetensors");
    for (const auto& entry : saved.tensors()) CHECK(entry.dtype == expected_dtype);
    CHECK(rlft_test::read_json_file(output / "config.json").at("torch_dtype") == dtype);
    const fs::path input = rlft_test::hf_fixtures_directory() / name;
    for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
      CHECK(file_bytes(output / file) == file_bytes(input / file));

    auto model = transformer::from_pretrained(output);
    const std::size_t vocab = model.config().vocab_size;
    const rlft::io::safetensors_file golden_logits(golden_directory / "trained_logits.safetensors");
    double largest_error = 0.0;
    rlft::token_sequences prompts;
    const auto& cases = golden.at("cases");
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(i);
      const auto tokens = cases[i].at("tokens").get<std::vector<rlft::token_id>>();
      const auto positions = cases[i].at("logit_positions").get<std::vector<std::size_t>>();
      rlft::token_sequences sequence;
      sequence.push_back(tokens);
      std::vector<float> logits(tokens.size() * vocab);
      model.logits(sequence, logits);
      std::vector<float> expected(positions.size() * vocab);
      golden_logits.read(name + "/" + std::to_string(i), expected);
      for (std::size_t r = 0; r < positions.size(); ++r) {
        const double error = rlft_test::relative_error(std::span(logits).subspan(positions[r] * vocab, vocab),
                                                       std::span(expected).subspan(r * vocab, vocab));
        largest_error = std::max(largest_error, error);
        CHECK(error <= 1e-5);
      }
      const auto prompt_length = cases[i].at("prompt_length").get<std::size_t>();
      prompts.push_back(std::vector<rlft::token_id>(tokens.begin(), tokens.begin() + prompt_length));
    }
    MESSAGE(name, ": largest relative logit error of the trained model ", largest_error);

    const auto stop = rlft_test::read_generation_stop_tokens(output);
    const auto batch = model.generate(prompts, 1, rlft::greedy{}, {.max_new_tokens = 16, .stop_tokens = stop});
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(i);
      const auto completion = batch.completion(i);
      CHECK(std::vector<rlft::token_id>(completion.begin(), completion.end()) ==
            cases[i].at("greedy_ids").get<std::vector<rlft::token_id>>());
    }
  }
}

TEST_CASE("a run stopped after 2 steps and resumed to 3 saves the bytes of an uninterrupted run") {
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const fs::path whole = fresh_directory("whole_" + name);
    const fs::path resumed = fresh_directory("resumed_" + name);
    REQUIRE(run_grpo_hf(name, whole) == 0);
    REQUIRE(run_grpo_hf(name, resumed, "2") == 0);
    CHECK(file_bytes(resumed / "model.safetensors") != file_bytes(whole / "model.safetensors"));
    REQUIRE(run_grpo_hf(name, resumed, "3", {"--resume"}) == 0);
    CHECK(file_bytes(resumed / "model.safetensors") == file_bytes(whole / "model.safetensors"));
  }
}

TEST_CASE("an existing run is refused without --resume and is left as it was") {
  const fs::path output = fresh_directory("existing_qwen2");
  REQUIRE(run_grpo_hf("qwen2", output, "2") == 0);
  const std::string model_before = file_bytes(output / "model.safetensors");
  const std::string metrics_before = file_bytes(output / "metrics.jsonl");
  CHECK(run_grpo_hf("qwen2", output, "3") != 0);
  CHECK(file_bytes(output.string() + ".log").find("--resume") != std::string::npos);
  CHECK(file_bytes(output / "model.safetensors") == model_before);
  CHECK(file_bytes(output / "metrics.jsonl") == metrics_before);
}

TEST_CASE("a learned reward model joins the rewards with --reward-model; a wrong one is refused by name") {
  // A score model with the fixture's shape and vocabulary, random weights: its scores vary.
  auto config = rlft::examples::read_transformer_config(rlft_test::hf_fixtures_directory() / "qwen2");
  config.head = rlft::examples::transformer_head::score;
  const fs::path reward_model = fresh_directory("reward_model");
  transformer(config, /*seed=*/4).save(reward_model);

  const fs::path output = fresh_directory("with_reward_model");
  REQUIRE(run_grpo_hf("qwen2", output, "1", {"--reward-model", reward_model.string(), "--reward", "reward_model=1"}) == 0);
  std::ifstream metrics(output / "metrics.jsonl");
  std::size_t steps = 0;
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("rewards")) continue;  // an evaluation
    ++steps;
    REQUIRE(record.at("rewards").contains("reward_model"));
    CHECK(record.at("rewards").at("reward_model").at("std").get<double>() > 0.0);
  }
  CHECK(steps == 1);

  const fs::path missing = fresh_directory("reward_model_missing");
  CHECK(run_grpo_hf("qwen2", missing, "1", {"--reward", "reward_model=1"}) != 0);
  CHECK(file_bytes(missing.string() + ".log").find("--reward reward_model=W needs --reward-model") != std::string::npos);
  const fs::path causal = fresh_directory("reward_model_causal");
  const fs::path policy = rlft_test::hf_fixtures_directory() / "qwen2";
  CHECK(run_grpo_hf("qwen2", causal, "1", {"--reward-model", policy.string()}) != 0);
  CHECK(file_bytes(causal.string() + ".log").find("is a causal language model") != std::string::npos);
}
