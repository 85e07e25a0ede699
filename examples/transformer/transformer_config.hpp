// The shape of a decoder-only transformer in the Hugging Face Qwen2 / Llama family, read from
// and written to the config.json of a Hugging Face checkpoint. Both architectures are the same
// network (Touvron et al., "LLaMA", arXiv 2302.13971, section 2.2: pre-normalisation with
// RMSNorm, SwiGLU feed-forward, rotary embeddings; grouped-query attention from Ainslie et al.,
// arXiv 2305.13245); Qwen2 adds biases to the query, key and value projections. Options the
// reference transformer does not implement (rope scaling, sliding windows, other activations)
// are refused with rlft::io_error rather than silently ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/atomic_file.hpp"
#include "rlft/io/json_number.hpp"
#include "rlft/io/safetensors.hpp"

namespace rlft::examples {

// Ceilings a config is checked against before anything is allocated, so that a corrupt or hostile
// config.json is an error naming the field, never a hang or a terabyte allocation. The defaults
// are far above today's open models (Llama-3.1-405B: 126 layers, width 53248); raise them for a
// larger one.
struct transformer_limits {
  std::size_t max_layers = 1024;
  std::size_t max_width = std::size_t{1} << 20;        // hidden, intermediate, heads, head_dim
  std::uint64_t max_parameters = 100'000'000'000;      // 400 GB as fp32
};

// What sits on the final norm: the LM head (transformers' …ForCausalLM) or a score head of one
// output (…ForSequenceClassification with num_labels 1: a reward or value model).
enum class transformer_head { language_model, score };

struct transformer_config {
  std::string model_type = "qwen2";  // "qwen2" or "llama"
  transformer_head head = transformer_head::language_model;
  std::size_t vocab_size = 512;
  std::size_t hidden_size = 64;
  std::size_t intermediate_size = 128;
  std::size_t num_layers = 2;
  std::size_t num_heads = 4;
  std::size_t num_kv_heads = 2;
  std::size_t head_dim = 16;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  bool attention_bias = true;  // biases on q, k and v (always in Qwen2)
  bool tie_word_embeddings = false;
  std::size_t max_position_embeddings = 32768;

  std::size_t query_width() const noexcept { return num_heads * head_dim; }
  std::size_t kv_width() const noexcept { return num_kv_heads * head_dim; }
  std::size_t qkv_width() const noexcept { return query_width() + 2 * kv_width(); }

  // Parameters of the network: embedding, per layer the q/k/v (and their biases), output and
  // SwiGLU matrices and two norms, the final norm, and the LM head unless tied (or the score
  // head's one row). Meaningful for a config within transformer_limits (no overflow there).
  std::uint64_t num_parameters() const noexcept {
    const std::uint64_t h = hidden_size;
    const std::uint64_t layer = qkv_width() * h + h * query_width() + 3 * intermediate_size * h +
                                (attention_bias ? qkv_width() : 0) + 2 * h;
    const std::uint64_t output = head == transformer_head::score ? h : tie_word_embeddings ? 0 : vocab_size * h;
    return vocab_size * h + output + num_layers * layer + h;
  }

  // Throws rlft::error naming the first inconsistent field or the ceiling it exceeds.
  void validate(const transformer_limits& limits = {}) const {
    const auto fail = [](auto... parts) { throw error(::rlft::detail::make_message("transformer config: ", parts...)); };
    if (model_type != "qwen2" && model_type != "llama") fail("model_type '", model_type, "' is neither qwen2 nor llama");
    if (vocab_size == 0 || hidden_size == 0 || intermediate_size == 0 || num_layers == 0 || num_heads == 0 ||
        num_kv_heads == 0 || head_dim == 0)
      fail("every size must be positive");
    if (num_heads % num_kv_heads != 0) fail(num_heads, " attention heads do not split into ", num_kv_heads, " key/value groups");
    if (head_dim % 2 != 0) fail("head_dim ", head_dim, " must be even for rotary embeddings");
    if (vocab_size > static_cast<std::size_t>(INT32_MAX)) fail("vocab_size ", vocab_size, " exceeds the token id range");
    if (num_layers > limits.max_layers)
      fail("num_hidden_layers ", num_layers, " exceeds transformer_limits::max_layers = ", limits.max_layers);
    for (const auto& [name, value] : {std::pair{"hidden_size", hidden_size}, {"intermediate_size", intermediate_size},
                                      {"num_attention_heads", num_heads}, {"num_key_value_heads", num_kv_heads},
                                      {"head_dim", head_dim}})
      if (value > limits.max_width) fail(name, " ", value, " exceeds transformer_limits::max_width = ", limits.max_width);
    if (num_parameters() > limits.max_parameters)
      fail("the shape makes ", num_parameters(), " parameters, above transformer_limits::max_parameters = ",
           limits.max_parameters);
    if (!(rms_norm_eps > 0.0f)) fail("rms_norm_eps must be positive");
    if (!(rope_theta > 0.0f)) fail("rope_theta must be positive");
  }

  friend bool operator==(const transformer_config&, const transformer_config&) = default;
};

namespace config_detail {

inline std::size_t size_field(const nlohmann::json& json, const char* name, const std::filesystem::path& path) {
  const auto it = json.find(name);
  if (it == json.end() || !it->is_number_unsigned())
    throw io_error(::rlft::detail::make_message(path.string(), ": missing or non-integer field '", name, "'"));
  return it->get<std::size_t>();
}


// The fields of a parsed config.json; refuse(parts...) throws the io_error naming the file.
template <class Refuse>
transformer_config parse_transformer_config(const nlohmann::json& json, const std::filesystem::path& path,
                                            const Refuse& refuse) {
  transformer_config config;
  config.model_type = json.value("model_type", std::string{});
  if (config.model_type != "qwen2" && config.model_type != "llama")
    refuse("model_type '", config.model_type, "' is not supported (qwen2 or llama)");
  const auto architectures = json.value("architectures", nlohmann::json::array());
  if (!architectures.empty() && architectures[0].is_string() &&
      architectures[0].get<std::string>().ends_with("ForSequenceClassification")) {
    config.head = transformer_head::score;
    // transformers keeps the label count in id2label (num_labels is not saved).
    const auto labels = json.contains("id2label") && json["id2label"].is_object() ? json["id2label"].size()
                        : json.contains("num_labels")                           ? size_field(json, "num_labels", path)
                                                                                : 2;  // transformers' default
    if (labels != 1) refuse("a sequence classifier with ", labels, " labels is not a reward or value model (num_labels 1)");
  }
  config.vocab_size = size_field(json, "vocab_size", path);
  config.hidden_size = size_field(json, "hidden_size", path);
  config.intermediate_size = size_field(json, "intermediate_size", path);
  config.num_layers = size_field(json, "num_hidden_layers", path);
  config.num_heads = size_field(json, "num_attention_heads", path);
  config.num_kv_heads = json.contains("num_key_value_heads") && !json["num_key_value_heads"].is_null()
                            ? size_field(json, "num_key_value_heads", path)
                            : config.num_heads;
  config.head_dim = json.contains("head_dim") && !json["head_dim"].is_null() ? size_field(json, "head_dim", path)
                    : config.num_heads == 0                                 ? 0
                                                                            : config.hidden_size / config.num_heads;
  const auto eps = json.contains("rms_norm_eps") ? io::json_number<float>(json["rms_norm_eps"]) : std::nullopt;
  if (!eps) refuse("rms_norm_eps is missing or not a finite float");
  config.rms_norm_eps = *eps;
  config.tie_word_embeddings = json.value("tie_word_embeddings", false);
  if (json.contains("max_position_embeddings") && !json["max_position_embeddings"].is_null()) {
    const auto positions = io::json_number<std::size_t>(json["max_position_embeddings"]);
    if (!positions) refuse("max_position_embeddings is not a non-negative integer");
    config.max_position_embeddings = *positions;
  }
  config.attention_bias = config.model_type == "qwen2" ? true : json.value("attention_bias", false);
  if (json.value("hidden_act", std::string("silu")) != "silu") refuse("hidden_act must be silu");
  if (json.value("mlp_bias", false)) refuse("mlp_bias is not supported");
  if (json.value("use_sliding_window", false)) refuse("use_sliding_window is not supported");

  // Older configs keep rope_theta at the top level; transformers 5 moved it into rope_parameters.
  const nlohmann::json* rope = nullptr;
  if (json.contains("rope_parameters") && json["rope_parameters"].is_object()) rope = &json["rope_parameters"];
  if (json.contains("rope_scaling") && !json["rope_scaling"].is_null()) refuse("rope_scaling is not supported");
  if (rope != nullptr && rope->value("rope_type", std::string("default")) != "default")
    refuse("rope_type '", rope->value("rope_type", std::string{}), "' is not supported (default only)");
  const nlohmann::json& theta_source = (rope != nullptr && rope->contains("rope_theta")) ? *rope : json;
  if (theta_source.contains("rope_theta") && !theta_source["rope_theta"].is_null()) {
    const auto theta = io::json_number<float>(theta_source["rope_theta"]);
    if (!theta) refuse("rope_theta is not a finite float");
    config.rope_theta = *theta;
  }
  try {
    config.validate();
  } catch (const io_error&) {
    throw;
  } catch (const error& problem) {
    throw io_error(::rlft::detail::make_message(path.string(), ": ", problem.what()));
  }
  return config;
}

}  // namespace config_detail

// Reads directory/config.json. Throws rlft::io_error naming the file and the field.
inline transformer_config read_transformer_config(const std::filesystem::path& directory) {
  const auto path = directory / "config.json";
  std::ifstream stream(path);
  if (!stream) throw io_error(::rlft::detail::make_message("cannot open ", path.string()));
  std::stringstream text;
  text << stream.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) throw io_error(::rlft::detail::make_message(path.string(), " is not a JSON object"));
  const auto refuse = [&](auto... parts) { throw io_error(::rlft::detail::make_message(path.string(), ": ", parts...)); };
  try {
    return config_detail::parse_transformer_config(json, path, refuse);
  } catch (const nlohmann::json::exception& wrong_type) {  // a field of the wrong JSON type
    throw io_error(::rlft::detail::make_message(path.string(), ": ", wrong_type.what()));
  }
}


// The name config.json gives a weight dtype (PyTorch's).
inline const char* torch_dtype_name(io::tensor_dtype dtype) {
  switch (dtype) {
    case io::tensor_dtype::f16: return "float16";
    case io::tensor_dtype::bf16: return "bfloat16";
    default: return "float32";
  }
}

// Writes directory/config.json (atomically) in the Hugging Face layout of its model_type, for
// weights stored as `dtype`.
inline void write_transformer_config(const transformer_config& config, const std::filesystem::path& directory,
                                     io::tensor_dtype dtype = io::tensor_dtype::f32) {
  nlohmann::ordered_json json;
  const bool score = config.head == transformer_head::score;
  const std::string family = config.model_type == "qwen2" ? "Qwen2" : "Llama";
  json["architectures"] = {family + (score ? "ForSequenceClassification" : "ForCausalLM")};
  json["model_type"] = config.model_type;
  if (score) {
    json["id2label"] = {{"0", "LABEL_0"}};
    json["label2id"] = {{"LABEL_0", 0}};
  }
  json["vocab_size"] = config.vocab_size;
  json["hidden_size"] = config.hidden_size;
  json["intermediate_size"] = config.intermediate_size;
  json["num_hidden_layers"] = config.num_layers;
  json["num_attention_heads"] = config.num_heads;
  json["num_key_value_heads"] = config.num_kv_heads;
  json["head_dim"] = config.head_dim;
  json["hidden_act"] = "silu";
  json["rms_norm_eps"] = config.rms_norm_eps;
  json["rope_theta"] = config.rope_theta;
  json["tie_word_embeddings"] = config.tie_word_embeddings;
  json["max_position_embeddings"] = config.max_position_embeddings;
  if (config.model_type == "llama") json["attention_bias"] = config.attention_bias;
  json["torch_dtype"] = torch_dtype_name(dtype);
  io::write_file_atomically(directory / "config.json", json.dump(2) + "\n");
}

}  // namespace rlft::examples
