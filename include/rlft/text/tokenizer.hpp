// A Hugging Face tokenizer, read from a model's tokenizer.json (and tokenizer_config.json beside
// it) and run as `tokenizers` runs it, so that rlft gives the ids transformers gives:
//   encode: added tokens (rlft/text/added_tokens.hpp) → normalizer → pre-tokenizer → BPE model →
//           post-processor (special tokens, when asked for);
//   decode: ids → token strings (special ones skipped when asked) → decoder, then the
//           tokenization-space clean-up where the config asks for it.
// Supported: byte-level BPE (GPT-2, Qwen2/2.5, Llama-3, DeepSeek-V3/R1, SmolLM2) and BPE with "▁"
// and byte fallback (Llama-2, Mistral), with the components each family uses; anything else in
// a file is an rlft::io_error naming it. From tokenizer_config.json, as transformers 4.x reads it:
// the special tokens (bos, eos, pad, unk), added_tokens_decoder, the Llama classes' BOS/EOS
// template (add_bos_token, add_eos_token), add_prefix_space of a ByteLevel pre-tokenizer,
// clean_up_tokenization_spaces, split_special_tokens and the chat templates. Truncation and
// padding in tokenizer.json are ignored, as transformers ignores them unless asked.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/text/added_tokens.hpp"
#include "rlft/text/bpe.hpp"
#include "rlft/text/decoders.hpp"
#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/normalizers.hpp"
#include "rlft/text/post_processors.hpp"
#include "rlft/text/pre_tokenizers.hpp"
#include "rlft/text/segment.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft {

// The special tokens a tokenizer_config.json names, with their ids (none where unnamed).
struct special_token {
  std::string content;
  token_id id = 0;
};

struct special_tokens {
  std::optional<special_token> bos;
  std::optional<special_token> eos;
  std::optional<special_token> pad;
  std::optional<special_token> unk;
};

class tokenizer {
 public:
  // tokenizer.json of `directory`, and tokenizer_config.json when it is there. Chat templates
  // saved as files, as transformers saves them since 4.45, come on top of the config's:
  // chat_template.jinja is the default one, additional_chat_templates/NAME.jinja the named
  // ones. Throws rlft::io_error for a missing or malformed file (naming it and the component).
  static tokenizer from_directory(const std::filesystem::path& directory) {
    const auto config = directory / "tokenizer_config.json";
    tokenizer result = from_files(directory / "tokenizer.json",
                                  std::filesystem::exists(config) ? std::optional(config) : std::nullopt);
    if (const auto file = directory / "chat_template.jinja"; std::filesystem::exists(file))
      result.chat_templates_["default"] = read_text(file);
    if (const auto named = directory / "additional_chat_templates"; std::filesystem::is_directory(named))
      for (const auto& entry : std::filesystem::directory_iterator(named))
        if (entry.path().extension() == ".jinja") result.chat_templates_[entry.path().stem().string()] = read_text(entry.path());
    return result;
  }

  static tokenizer from_files(const std::filesystem::path& tokenizer_json,
                              const std::optional<std::filesystem::path>& tokenizer_config) {
    const nlohmann::json file = read_json(tokenizer_json);
    const nlohmann::json config = tokenizer_config ? read_json(*tokenizer_config) : nlohmann::json::object();
    try {
      return from_json(file, config);
    } catch (const io_error& e) {
      throw io_error(rlft::detail::make_message(tokenizer_json.string(), ": ", e.what()));
    }
  }

  // From the parsed files (config: an object, empty when there is none).
  static tokenizer from_json(const nlohmann::json& file, const nlohmann::json& config) {
    tokenizer result;
    result.read_tokenizer(file, config);
    result.read_config(config);
    return result;
  }

  // The ids of `text` (UTF-8), with the post-processor's special tokens when add_special_tokens.
  // Throws rlft::data_error when the text is not valid UTF-8.
  std::vector<token_id> encode(std::string_view text, bool add_special_tokens = true) const {
    if (!is_valid_utf8(text)) throw data_error("tokenizer: the text to encode is not valid UTF-8");
    text::segments pieces = added_.split(text, normalizer_, split_special_tokens_);
    pre_tokenizer_.apply(pieces);
    std::vector<token_id> ids;
    for (const auto& piece : pieces) {
      if (piece.token)
        ids.push_back(*piece.token);
      else
        model_.tokenize(piece.text, ids);
    }
    return post_processor_.apply(std::move(ids), add_special_tokens);
  }

  // Every text encoded, across threads; the result does not depend on the thread count.
  token_sequences encode_batch(std::span<const std::string> texts, bool add_special_tokens = true) const {
    std::vector<std::vector<token_id>> encoded(texts.size());
    parallel_for(texts.size(), [&](std::size_t i) { encoded[i] = encode(texts[i], add_special_tokens); },
                 costly_iterations);
    token_sequences sequences;
    for (const auto& ids : encoded) sequences.push_back(ids);
    return sequences;
  }

  // The text of `ids`. Ids outside the vocabulary are left out, as in `tokenizers`.
  std::string decode(std::span<const token_id> ids, bool skip_special_tokens = false) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const token_id id : ids) {
      const auto token = id_to_token(id);
      if (!token) continue;
      if (skip_special_tokens && added_.is_special_content(*token)) continue;
      tokens.push_back(*token);
    }
    std::string decoded = decoder_.decode(std::move(tokens));
    return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(decoded)) : decoded;
  }

  // Added tokens first, then the model's vocabulary.
  std::optional<token_id> token_to_id(std::string_view token) const {
    if (const auto* added = added_.find(token)) return added->id;
    return model_.token_to_id(token);
  }

  std::optional<std::string> id_to_token(token_id id) const {
    if (const auto* added = added_.find(id)) return added->content;
    if (const auto* token = model_.id_to_token(id)) return *token;
    return std::nullopt;
  }

  // The model's vocabulary and the added tokens it lacks.
  std::size_t vocab_size() const noexcept { return static_cast<std::size_t>(next_added_id_); }

  const special_tokens& special() const noexcept { return special_; }
  const std::vector<text::added_token>& added_tokens() const noexcept { return added_.tokens(); }

  // The config's chat templates by name; a single template is named "default".
  const std::map<std::string, std::string>& chat_templates() const noexcept { return chat_templates_; }

 private:
  static std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw io_error(rlft::detail::make_message("cannot open ", path.string()));
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  }

  static nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream file(path);
    if (!file) throw io_error(rlft::detail::make_message("cannot open ", path.string()));
    try {
      return nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& e) {
      throw io_error(rlft::detail::make_message(path.string(), ": ", e.what()));
    }
  }

  void read_tokenizer(const nlohmann::json& file, const nlohmann::json& config) {
    try {
      read_components(file, config);
    } catch (const io_error&) {
      throw;
    } catch (const error& e) {  // a pattern that does not compile: the file is malformed
      throw io_error(e.what());
    }
  }

  void read_components(const nlohmann::json& file, const nlohmann::json& config) {
    if (!file.is_object()) text::detail::malformed("tokenizer.json", "expected a JSON object");
    if (file.contains("version") && file["version"] != "1.0")
      text::detail::malformed("tokenizer.json", "version " + file["version"].dump() + " is not 1.0");
    const auto component = [&](const char* key) -> const nlohmann::json& {
      static const nlohmann::json none;
      const auto it = file.find(key);
      return it == file.end() ? none : *it;
    };
    normalizer_ = text::normalizer::from_json(component("normalizer"));
    pre_tokenizer_ = text::pre_tokenizer::from_json(with_config_prefix_space(component("pre_tokenizer"), config));
    model_ = text::bpe_model::from_json(text::detail::field(file, "model", "tokenizer.json"));
    post_processor_ = text::post_processor::from_json(component("post_processor"));
    decoder_ = text::decoder::from_json(component("decoder"));
    next_added_id_ = static_cast<token_id>(model_.vocabulary_entries());
    const auto& added = component("added_tokens");
    if (!added.is_null() && !added.is_array()) text::detail::malformed("added_tokens", "expected a list");
    for (const auto& token : added) add_token(token, "added_tokens");
  }

  // transformers rebuilds a top-level ByteLevel pre-tokenizer with the config's add_prefix_space
  // (false when the config does not say).
  static nlohmann::json with_config_prefix_space(nlohmann::json pre_tokenizer, const nlohmann::json& config) {
    if (pre_tokenizer.is_object() && pre_tokenizer.value("type", "") == "ByteLevel" &&
        pre_tokenizer.contains("add_prefix_space"))
      pre_tokenizer["add_prefix_space"] = config.is_object() && config.value("add_prefix_space", false);
    return pre_tokenizer;
  }

  // An added token (from tokenizer.json or the config's added_tokens_decoder). Its id is the one
  // `tokenizers` assigns, whatever the file says: the id of the same content if the added tokens
  // or the vocabulary have it, the next free id after the vocabulary otherwise.
  void add_token(const nlohmann::json& json, std::string_view component) {
    text::added_token token{.content = text::detail::field_as<std::string>(json, "content", component),
                            .special = text::detail::field_or<bool>(json, "special", false, component),
                            .normalized = text::detail::field_or<bool>(json, "normalized", true, component),
                            .lstrip = text::detail::field_or<bool>(json, "lstrip", false, component),
                            .rstrip = text::detail::field_or<bool>(json, "rstrip", false, component),
                            .single_word = text::detail::field_or<bool>(json, "single_word", false, component)};
    if (token.content.empty()) return;
    if (const auto* existing = added_.find(token.content))
      token.id = existing->id;
    else if (const auto id = model_.token_to_id(token.content))
      token.id = *id;
    else
      token.id = next_added_id_++;
    added_.add(token, normalizer_);
  }

  void read_config(const nlohmann::json& config) {
    if (!config.is_object()) text::detail::malformed("tokenizer_config.json", "expected a JSON object");
    if (const auto it = config.find("added_tokens_decoder"); it != config.end() && it->is_object()) {
      std::map<long long, const nlohmann::json*> by_id;  // in id order, as transformers adds them
      for (const auto& [id, token] : it->items()) {
        try {
          by_id.emplace(std::stoll(id), &token);
        } catch (const std::exception&) {
          text::detail::malformed("added_tokens_decoder", "key \"" + id + "\" is not an id");
        }
      }
      for (const auto& [id, token] : by_id)
        if (!token_to_id(text::detail::field_as<std::string>(*token, "content", "added_tokens_decoder")))
          add_token(*token, "added_tokens_decoder");
    }
    special_.bos = special_of(config, "bos_token");
    special_.eos = special_of(config, "eos_token");
    special_.pad = special_of(config, "pad_token");
    special_.unk = special_of(config, "unk_token");
    clean_up_tokenization_spaces_ = config.value("clean_up_tokenization_spaces", false);
    split_special_tokens_ = config.value("split_special_tokens", false);
    const std::string tokenizer_class = config.value("tokenizer_class", "");
    if (tokenizer_class == "LlamaTokenizer" || tokenizer_class == "LlamaTokenizerFast" ||
        tokenizer_class == "CodeLlamaTokenizer" || tokenizer_class == "CodeLlamaTokenizerFast") {
      // transformers' Llama tokenizers replace the file's post-processor with BOS/EOS as configured.
      std::vector<token_id> before, after;
      if (config.value("add_bos_token", true) && special_.bos) before.push_back(special_.bos->id);
      if (config.value("add_eos_token", false) && special_.eos) after.push_back(special_.eos->id);
      post_processor_ = text::post_processor::around(std::move(before), std::move(after));
    }
    read_chat_templates(config);
  }

  std::optional<special_token> special_of(const nlohmann::json& config, const char* key) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    std::string content;
    if (it->is_string())
      content = it->get<std::string>();
    else
      content = text::detail::field_as<std::string>(*it, "content", key);
    // transformers adds a special token the vocabulary lacks, as special and not normalized.
    if (!token_to_id(content)) add_token({{"content", content}, {"special", true}, {"normalized", false}}, key);
    return special_token{content, *token_to_id(content)};
  }

  void read_chat_templates(const nlohmann::json& config) {
    const auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) return;
    if (it->is_string()) {
      chat_templates_["default"] = it->get<std::string>();
      return;
    }
    if (!it->is_array()) text::detail::malformed("chat_template", "neither a string nor a list of named templates");
    for (const auto& named : *it)
      chat_templates_[text::detail::field_as<std::string>(named, "name", "chat_template")] =
          text::detail::field_as<std::string>(named, "template", "chat_template");
  }

  // transformers' clean_up_tokenization: no space before punctuation and English contractions.
  static std::string clean_up_tokenization(std::string text) {
    static constexpr std::pair<std::string_view, std::string_view> replacements[] = {
        {" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : replacements) {
      std::string out;
      std::size_t copied = 0;
      for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + from.size())) {
        out.append(text, copied, at - copied);
        out.append(to);
        copied = at + from.size();
      }
      out.append(text, copied);
      text = std::move(out);
    }
    return text;
  }

  text::normalizer normalizer_;
  text::pre_tokenizer pre_tokenizer_;
  text::bpe_model model_;
  text::post_processor post_processor_;
  text::decoder decoder_;
  text::added_vocabulary added_;
  token_id next_added_id_ = 0;  // the next id an added token outside the vocabulary gets
  special_tokens special_;
  bool clean_up_tokenization_spaces_ = false;
  bool split_special_tokens_ = false;
  std::map<std::string, std::string> chat_templates_;
};

}  // namespace rlft
