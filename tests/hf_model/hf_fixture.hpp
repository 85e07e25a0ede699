// Reads the end-to-end Hugging Face fixtures written by tools/make_hf_fixtures.py: for each model
// directory, the conversations, the prompts transformers rendered and encoded, its greedy
// continuations (cases.json) and its fp32 logits (logits.safetensors); and the stop tokens of a
// model's generation_config.json, which rlft has no reader for yet.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/io/safetensors.hpp"

namespace rlft_test {

inline std::filesystem::path hf_fixtures_directory() { return RLFT_HF_FIXTURES_DIR; }

struct hf_case {
  std::string prompt_text;                                 // the chat template's output
  std::vector<rlft::token_id> prompt_ids;                  // as apply_chat_template(tokenize=True) encodes it
  std::vector<rlft::token_id> prompt_ids_add_special_tokens;
  std::vector<rlft::token_id> generated_ids;               // greedy, ending on a stop token when stopped
  bool stopped = false;
  std::string generated_text;                              // decoded with skip_special_tokens
  std::vector<float> generated_logprobs;
  std::vector<std::size_t> logit_positions;                // rows of prompt + generated in logits.safetensors
};

struct hf_model_fixture {
  std::string name;
  std::filesystem::path directory;
  std::vector<rlft::token_id> stop_tokens;  // what transformers stopped on
  std::size_t max_new_tokens = 0;
  std::size_t vocab_size = 0;      // the model's
  std::size_t tokenizer_size = 0;  // vocabulary plus added tokens
  std::vector<hf_case> cases;
};

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) throw rlft::io_error("cannot open " + path.string());
  return nlohmann::json::parse(file);
}

inline hf_model_fixture read_hf_fixture(const std::string& name) {
  const auto json = read_json_file(hf_fixtures_directory() / "cases.json");
  const auto& model = json.at("models").at(name);
  hf_model_fixture fixture{.name = name,
                           .directory = hf_fixtures_directory() / model.at("directory").get<std::string>(),
                           .stop_tokens = model.at("stop_tokens").get<std::vector<rlft::token_id>>(),
                           .max_new_tokens = json.at("max_new_tokens").get<std::size_t>(),
                           .vocab_size = model.at("vocab_size").get<std::size_t>(),
                           .tokenizer_size = model.at("tokenizer_size").get<std::size_t>(),
                           .cases = {}};
  for (const auto& c : model.at("cases"))
    fixture.cases.push_back({c.at("prompt_text").get<std::string>(),
                             c.at("prompt_ids").get<std::vector<rlft::token_id>>(),
                             c.at("prompt_ids_add_special_tokens").get<std::vector<rlft::token_id>>(),
                             c.at("generated_ids").get<std::vector<rlft::token_id>>(), c.at("stopped").get<bool>(),
                             c.at("generated_text").get<std::string>(),
                             c.at("generated_logprobs").get<std::vector<float>>(),
                             c.at("logit_positions").get<std::vector<std::size_t>>()});
  return fixture;
}

// transformers' logits of case `index`: [logit_positions, vocab_size].
inline std::vector<float> read_hf_logits(const hf_model_fixture& fixture, std::size_t index) {
  const rlft::io::safetensors_file file(hf_fixtures_directory() / "logits.safetensors");
  const auto name = fixture.name + "/" + std::to_string(index);
  std::vector<float> values(file.at(name).num_elements());
  file.read(name, values);
  return values;
}

// generation_config.json's eos_token_id, one id or a list: the tokens generation stops on.
inline std::vector<rlft::token_id> read_generation_stop_tokens(const std::filesystem::path& model_directory) {
  const auto eos = read_json_file(model_directory / "generation_config.json").at("eos_token_id");
  if (eos.is_array()) return eos.get<std::vector<rlft::token_id>>();
  return {eos.get<rlft::token_id>()};
}

}  // namespace rlft_test
