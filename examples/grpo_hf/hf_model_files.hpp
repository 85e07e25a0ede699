// What a trainer reads from and writes to a Hugging Face model directory besides the weights:
// the ids that end generation (generation_config.json, as transformers' generate reads them),
// the dtype the weights are stored in, and the trained model written back as a directory that
// transformers (and vLLM, TGI, llama.cpp's converter) load: weights in the chosen dtype, the
// input's config.json with only its dtype changed, and the tokenizer and generation files
// copied unchanged.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rlft/core/error.hpp>
#include <rlft/io/atomic_file.hpp>
#include <rlft/io/safetensors_checkpoint.hpp>
#include <rlft/text/tokenizer.hpp>

#include "transformer/transformer.hpp"

namespace rlft::hf {

namespace files_detail {

inline std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  std::ifstream file(path);
  const auto json = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) throw io_error(path.string() + " is not a JSON object");
  return json;
}

// An id or a list of ids (eos_token_id takes both forms).
inline void add_ids(const nlohmann::json& value, const std::filesystem::path& path, std::set<token_id>& ids) {
  if (value.is_null()) return;
  if (value.is_array()) {
    for (const auto& id : value) add_ids(id, path, ids);
    return;
  }
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
    throw io_error(path.string() + ": eos_token_id holds " + value.dump() + ", not a token id");
  ids.insert(value.get<token_id>());
}

}  // namespace files_detail

// The tokens that end a completion: generation_config.json's eos_token_id (one or a list), else
// config.json's, else the tokenizer's eos token. Throws rlft::io_error for a malformed file and
// rlft::error when none is found or one lies outside the model's vocabulary.
inline std::vector<token_id> stop_tokens(const std::filesystem::path& model, const tokenizer& tokens,
                                         std::size_t vocab_size) {
  std::set<token_id> ids;
  for (const char* name : {"generation_config.json", "config.json"}) {
    const auto path = model / name;
    if (const auto json = files_detail::read_json_file(path); json && json->contains("eos_token_id")) {
      files_detail::add_ids(json->at("eos_token_id"), path, ids);
      if (!ids.empty()) break;
    }
  }
  if (ids.empty() && tokens.special().eos) ids.insert(tokens.special().eos->id);
  if (ids.empty()) throw error(model.string() + ": no end-of-sequence token in generation_config.json, config.json or the tokenizer");
  for (const token_id id : ids)
    if (static_cast<std::size_t>(id) >= vocab_size)
      throw error(model.string() + ": end-of-sequence id " + std::to_string(id) + " lies outside the vocabulary of " +
                  std::to_string(vocab_size));
  return {ids.begin(), ids.end()};
}

// The dtype of the checkpoint's embedding matrix: what the model was published in.
inline io::tensor_dtype stored_dtype(const std::filesystem::path& model) {
  const io::tensor_dtype dtype = io::safetensors_checkpoint(model).at("model.embed_tokens.weight").dtype;
  return dtype == io::tensor_dtype::f16 || dtype == io::tensor_dtype::bf16 ? dtype : io::tensor_dtype::f32;
}

// The files of a model directory that are not weights or config.json, copied with the model.
inline const std::vector<std::string>& companion_files() {
  static const std::vector<std::string> names = {
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "vocab.json",     "merges.txt",            "tokenizer.model",         "chat_template.jinja",
      "chat_template.json", "generation_config.json"};
  return names;
}

// Writes `model` to `output` as a Hugging Face model directory, the input directory's config.json
// and companion files (and additional_chat_templates/) kept. Weights go first, config.json last,
// each atomically. Throws rlft::io_error when a file cannot be written.
inline void save_hf_model(const examples::transformer& model, const std::filesystem::path& input,
                          const std::filesystem::path& output, io::tensor_dtype dtype) {
  std::filesystem::create_directories(output);
  for (const auto& name : companion_files())
    if (std::filesystem::exists(input / name))
      std::filesystem::copy_file(input / name, output / name, std::filesystem::copy_options::overwrite_existing);
  if (std::filesystem::is_directory(input / "additional_chat_templates"))
    std::filesystem::copy(input / "additional_chat_templates", output / "additional_chat_templates",
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  model.save(output, dtype);  // model.safetensors, then rlft's own config.json
  // The input's config.json keeps what rlft does not read (architectures, token ids, ...).
  if (auto config = files_detail::read_json_file(input / "config.json")) {
    const std::string name = examples::torch_dtype_name(dtype);
    (*config)["torch_dtype"] = name;
    if (config->contains("dtype")) (*config)["dtype"] = name;  // transformers 5's key
    io::write_file_atomically(output / "config.json", config->dump(2) + "\n");
  }
  // A sharded input's index would point at shards that are not there.
  std::filesystem::remove(output / "model.safetensors.index.json");
}

}  // namespace rlft::hf
