// Byte-pair encoding (Sennrich, Haddow and Birch, "Neural Machine Translation of Rare Words with
// Subword Units", ACL 2016), as Hugging Face `tokenizers` runs the "BPE" model of tokenizer.json:
// a piece starts as one symbol per character (byte-level tokenizers have already spelled every byte
// as one character), then the adjacent pair with the lowest merge rank is merged — the leftmost
// such pair when several tie — until no adjacent pair has a merge. Options of the files rlft
// supports: ignore_merges (a piece that is itself in the vocabulary is one token: Llama-3),
// byte_fallback (a character outside the vocabulary becomes its UTF-8 bytes as <0xAB> tokens:
// Llama-2, Mistral), an unknown token and fuse_unk. A character with neither becomes nothing, as
// in `tokenizers`. Subword prefixes and suffixes (WordPiece-style BPE) and dropout are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/token_sequences.hpp"
#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

class bpe_model {
 public:
  bpe_model() = default;

  // From a tokenizer.json "model" value. Throws rlft::io_error naming what is malformed or
  // unsupported.
  static bpe_model from_json(const nlohmann::json& json) {
    constexpr std::string_view component = "model";
    if (detail::field_or<std::string>(json, "type", "BPE", component) != "BPE")
      detail::malformed(component, "type \"" + json.at("type").get<std::string>() + "\" is not supported (supported: BPE)");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (!detail::field_or<std::string>(json, key, "", component).empty())
        detail::malformed(component, rlft::detail::make_message(key, " is not supported"));
    if (const double dropout = detail::field_or<double>(json, "dropout", 0.0, component); dropout != 0.0)
      detail::malformed(component, "dropout is not supported (it makes encoding random)");

    bpe_model model;
    const auto& vocabulary = detail::field(json, "vocab", component);
    if (!vocabulary.is_object()) detail::malformed(component, "vocab is not an object");
    for (const auto& [token, id_json] : vocabulary.items()) {
      if (!id_json.is_number_integer() || id_json.get<std::int64_t>() < 0 ||
          id_json.get<std::int64_t>() > std::numeric_limits<token_id>::max())
        detail::malformed(component, "vocab id of \"" + token + "\" is not a non-negative 32-bit integer");
      model.add_to_vocabulary(token, id_json.get<token_id>());
    }
    model.read_merges(detail::field(json, "merges", component));
    model.ignore_merges_ = detail::field_or<bool>(json, "ignore_merges", false, component);
    model.byte_fallback_ = detail::field_or<bool>(json, "byte_fallback", false, component);
    model.fuse_unknown_ = detail::field_or<bool>(json, "fuse_unk", false, component);
    if (const auto unknown = detail::field_or<std::string>(json, "unk_token", "", component); !unknown.empty()) {
      const auto id = model.token_to_id(unknown);
      if (!id) detail::malformed(component, "unk_token \"" + unknown + "\" is not in the vocabulary");
      model.unknown_ = *id;
    }
    return model;
  }

  std::optional<token_id> token_to_id(std::string_view token) const {
    const auto it = vocabulary_.find(token);
    if (it == vocabulary_.end()) return std::nullopt;
    return it->second;
  }

  // The token of `id`, or nothing for an id outside the vocabulary.
  const std::string* id_to_token(token_id id) const {
    const auto it = tokens_.find(id);
    return it == tokens_.end() ? nullptr : &it->second;
  }

  std::size_t vocabulary_entries() const noexcept { return vocabulary_.size(); }

  // Appends the ids of one pre-tokenized piece.
  void tokenize(std::string_view piece, std::vector<token_id>& ids) const {
    if (piece.empty()) return;
    if (ignore_merges_)
      if (const auto whole = token_to_id(piece)) {
        ids.push_back(*whole);
        return;
      }
    std::vector<symbol> symbols = initial_symbols(piece);
    merge(symbols);
    for (const symbol& s : symbols)
      if (s.length != 0) ids.push_back(s.id);
  }

 private:
  struct symbol {
    token_id id = 0;
    std::size_t length = 0;  // bytes of the piece it covers; 0 once merged into its left neighbour
    std::ptrdiff_t previous = -1;
    std::ptrdiff_t next = -1;
  };
  struct merge_rule {
    std::uint32_t rank = 0;
    token_id merged = 0;
  };

  static std::uint64_t pair_key(token_id left, token_id right) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }

  void add_to_vocabulary(const std::string& token, token_id id) {
    vocabulary_[token] = id;
    tokens_[id] = token;
  }

  void read_merges(const nlohmann::json& merges) {
    constexpr std::string_view component = "model";
    if (!merges.is_array()) detail::malformed(component, "merges is not a list");
    std::uint32_t rank = 0;
    for (const auto& merge : merges) {
      std::string left, right;
      if (merge.is_string()) {  // "a b", the older form
        const auto text = merge.get<std::string>();
        if (text.starts_with("#version")) continue;
        const auto space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
          detail::malformed(component, "merge \"" + text + "\" is not two tokens separated by one space");
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        detail::malformed(component, "merge " + merge.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
      }
      const auto left_id = token_to_id(left), right_id = token_to_id(right), merged_id = token_to_id(left + right);
      if (!left_id || !right_id || !merged_id)
        detail::malformed(component, "merge \"" + left + " " + right + "\" uses a token outside the vocabulary");
      merges_[pair_key(*left_id, *right_id)] = {rank++, *merged_id};  // a repeated pair keeps its last rank
    }
  }

  const merge_rule* find_merge(token_id left, token_id right) const {
    const auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }

  // One symbol per character; characters outside the vocabulary become their byte tokens (when
  // every one exists) or the unknown token (consecutive ones fused into one with fuse_unk).
  std::vector<symbol> initial_symbols(std::string_view piece) const {
    std::vector<symbol> symbols;
    symbol pending_unknown;  // an unknown token not yet pushed, when pending_unknown.length > 0
    const auto push = [&](token_id id, std::size_t length) { symbols.push_back({.id = id, .length = length}); };
    const auto flush_unknown = [&] {
      if (pending_unknown.length > 0) push(pending_unknown.id, pending_unknown.length);
      pending_unknown.length = 0;
    };
    for (std::size_t at = 0; at < piece.size();) {
      const std::size_t length = decode_utf8(piece, at).length;
      const std::string_view character = piece.substr(at, length);
      at += length;
      if (const auto id = token_to_id(character)) {
        flush_unknown();
        push(*id, length);
        continue;
      }
      if (byte_fallback_) {
        std::vector<token_id> bytes;
        for (const char b : character) {
          char name[8];
          std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned>(static_cast<unsigned char>(b)));
          if (const auto id = token_to_id(name)) bytes.push_back(*id);
        }
        if (bytes.size() == character.size()) {  // all or nothing; a pending unknown waits, as in `tokenizers`
          for (const token_id id : bytes) push(id, 1);
          continue;
        }
      }
      if (!unknown_) continue;  // no unknown token: the character is dropped
      if (pending_unknown.length > 0 && fuse_unknown_) {
        pending_unknown.length += length;
      } else {
        flush_unknown();
        pending_unknown = {.id = *unknown_, .length = length};
      }
    }
    flush_unknown();
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      symbols[i].previous = static_cast<std::ptrdiff_t>(i) - 1;
      symbols[i].next = i + 1 < symbols.size() ? static_cast<std::ptrdiff_t>(i + 1) : -1;
    }
    return symbols;
  }

  // The merge loop of `tokenizers`' Word::merge_all: a queue ordered by (rank, position of the left
  // symbol); entries made stale by earlier merges are skipped.
  void merge(std::vector<symbol>& symbols) const {
    struct candidate {
      std::uint32_t rank;
      std::size_t position;
      token_id merged;
      bool operator>(const candidate& other) const noexcept {
        return rank != other.rank ? rank > other.rank : position > other.position;
      }
    };
    std::priority_queue<candidate, std::vector<candidate>, std::greater<>> queue;
    const auto consider = [&](std::size_t left) {
      const std::ptrdiff_t right = symbols[left].next;
      if (right < 0) return;
      if (const merge_rule* rule = find_merge(symbols[left].id, symbols[static_cast<std::size_t>(right)].id))
        queue.push({rule->rank, left, rule->merged});
    };
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) consider(i);
    while (!queue.empty()) {
      const candidate top = queue.top();
      queue.pop();
      symbol& left = symbols[top.position];
      if (left.length == 0 || left.next < 0) continue;
      const auto right_index = static_cast<std::size_t>(left.next);
      symbol& right = symbols[right_index];
      const merge_rule* rule = find_merge(left.id, right.id);
      if (rule == nullptr || rule->merged != top.merged) continue;
      left.id = top.merged;
      left.length += right.length;
      left.next = right.next;
      right.length = 0;
      if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].previous = static_cast<std::ptrdiff_t>(top.position);
      if (left.previous >= 0) consider(static_cast<std::size_t>(left.previous));
      consider(top.position);
    }
  }

  // Looked up by string_view, without building a string per lookup.
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, token_id, string_hash, std::equal_to<>> vocabulary_;
  std::unordered_map<token_id, std::string> tokens_;  // ids may have holes
  std::unordered_map<std::uint64_t, merge_rule> merges_;
  std::optional<token_id> unknown_;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unknown_ = false;
};

}  // namespace rlft::text
