// The added tokens of tokenizer.json (special tokens such as <|im_start|>, and tokens added after
// training), found in the text before anything else runs, as Hugging Face `tokenizers` finds them:
//   1. tokens with normalized = false are matched in the raw text;
//   2. the normalizer runs on each remaining segment alone, then tokens with normalized = true are
//      matched in the normalized segments.
// Matching is leftmost-longest and non-overlapping, and resumes after each match even when the
// match is then discarded. single_word discards a match that touches a word character; lstrip
// and rstrip take the whitespace before or after a token into it (the model never sees it). The
// `special` flag plays no part here, only in decoding (skip_special_tokens) and when special tokens
// are to be encoded as plain text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rlft/core/token_sequences.hpp"
#include "rlft/text/normalizers.hpp"
#include "rlft/text/segment.hpp"
#include "rlft/text/unicode.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

struct added_token {
  std::string content;
  token_id id = 0;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

namespace detail {

// Leftmost-longest search over a set of strings: a byte trie walked from each position in turn.
class token_matcher {
 public:
  void add(std::string_view text, std::size_t token) {
    if (text.empty()) return;
    std::size_t node = 0;
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      const auto it = nodes_[node].children.find(byte);
      if (it != nodes_[node].children.end()) {
        node = it->second;
      } else {
        nodes_.push_back({});
        nodes_[node].children.emplace(byte, nodes_.size() - 1);
        node = nodes_.size() - 1;
      }
    }
    nodes_[node].token = token;
    first_bytes_[static_cast<unsigned char>(text.front())] = true;
  }

  struct match {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t token = 0;
  };

  // The leftmost-longest match starting at or after `from`.
  std::optional<match> next(std::string_view text, std::size_t from) const {
    for (std::size_t begin = from; begin < text.size(); ++begin) {
      if (!first_bytes_[static_cast<unsigned char>(text[begin])]) continue;
      std::size_t node = 0;
      std::optional<match> longest;
      for (std::size_t at = begin; at < text.size(); ++at) {
        const auto it = nodes_[node].children.find(static_cast<unsigned char>(text[at]));
        if (it == nodes_[node].children.end()) break;
        node = it->second;
        if (nodes_[node].token) longest = match{begin, at + 1, *nodes_[node].token};
      }
      if (longest) return longest;
    }
    return std::nullopt;
  }

 private:
  struct trie_node {
    std::unordered_map<unsigned char, std::size_t> children;
    std::optional<std::size_t> token;
  };
  std::vector<trie_node> nodes_ = std::vector<trie_node>(1);
  std::array<bool, 256> first_bytes_{};
};

inline char32_t last_character(std::string_view text) {
  std::size_t last = text.size() - 1;
  while (last > 0 && (static_cast<unsigned char>(text[last]) & 0xC0) == 0x80) --last;
  return decode_utf8(text, last).code_point;
}

}  // namespace detail

class added_vocabulary {
 public:
  // Adds a token (an empty content is ignored; the same content again replaces its flags). The
  // normalizer gives the text a normalized token is matched by.
  void add(const added_token& token, const normalizer& normalize) {
    if (token.content.empty()) return;
    if (const auto it = index_of_content_.find(token.content); it != index_of_content_.end()) {
      tokens_[it->second] = token;
    } else {
      index_of_content_.emplace(token.content, tokens_.size());
      tokens_.push_back(token);
    }
    rebuild(normalize);
  }

  const added_token* find(std::string_view content) const {
    const auto it = index_of_content_.find(std::string(content));
    return it == index_of_content_.end() ? nullptr : &tokens_[it->second];
  }

  const added_token* find(token_id id) const {
    const auto it = index_of_id_.find(id);
    return it == index_of_id_.end() ? nullptr : &tokens_[it->second];
  }

  const std::vector<added_token>& tokens() const noexcept { return tokens_; }

  bool is_special_content(std::string_view text) const {
    const added_token* token = find(text);
    return token != nullptr && token->special;
  }

  // Splits `text` into segments: added tokens found in both passes, the rest normalized. With
  // `special_as_text`, special tokens are not matched (transformers' split_special_tokens).
  segments split(std::string_view text, const normalizer& normalize, bool special_as_text) const {
    segments pieces;
    cut({.text = std::string(text), .at_input_start = true}, raw_matcher_, special_as_text, pieces);
    segments out;
    for (auto& piece : pieces) {
      if (piece.token) {
        out.push_back(std::move(piece));
        continue;
      }
      normalize.apply(piece);
      cut(std::move(piece), normalized_matcher_, special_as_text, out);
    }
    return out;
  }

 private:
  void rebuild(const normalizer& normalize) {
    raw_matcher_ = {};
    normalized_matcher_ = {};
    index_of_id_.clear();
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const added_token& token = tokens_[i];
      index_of_id_[token.id] = i;
      if (token.normalized)
        normalized_matcher_.add(normalize.apply(token.content), i);
      else
        raw_matcher_.add(token.content, i);
    }
  }

  // Appends to `out` the segments of `piece` cut at the matches of `matcher` (empty ones dropped).
  void cut(segment piece, const detail::token_matcher& matcher, bool special_as_text, segments& out) const {
    const std::string_view text = piece.text;
    const auto push_text = [&](std::size_t begin, std::size_t end) {
      if (end > begin)
        out.push_back({.text = std::string(text.substr(begin, end - begin)),
                       .at_input_start = piece.at_input_start && begin == 0});
    };
    std::size_t done = 0;
    for (auto match = matcher.next(text, 0); match; match = matcher.next(text, match->end)) {
      const added_token& token = tokens_[match->token];
      std::size_t begin = match->begin, end = match->end;
      if (special_as_text && token.special) continue;
      if (token.single_word) {
        const bool word_before = begin > 0 && is_word_character(detail::last_character(text.substr(0, begin)));
        const bool word_after = end < text.size() && is_word_character(decode_utf8(text, end).code_point);
        if (word_before || word_after) continue;
      }
      if (token.lstrip)
        while (begin > done) {
          const std::size_t previous = begin - 1 - trailing_continuation_bytes(text.substr(0, begin));
          if (!is_white_space(decode_utf8(text, previous).code_point)) break;
          begin = previous;
        }
      if (token.rstrip)
        while (end < text.size()) {
          const auto next = decode_utf8(text, end);
          if (!is_white_space(next.code_point)) break;
          end += next.length;
        }
      push_text(done, begin);
      out.push_back({.text = std::string(text.substr(begin, end - begin)), .token = token.id});
      done = end;
    }
    push_text(done, text.size());
  }

  // Continuation bytes at the end of `text` (0 to 3): how far back the last character starts.
  static std::size_t trailing_continuation_bytes(std::string_view text) {
    std::size_t count = 0;
    while (count + 1 < text.size() && (static_cast<unsigned char>(text[text.size() - 1 - count]) & 0xC0) == 0x80)
      ++count;
    return count;
  }

  std::vector<added_token> tokens_;
  std::unordered_map<std::string, std::size_t> index_of_content_;
  std::unordered_map<token_id, std::size_t> index_of_id_;
  detail::token_matcher raw_matcher_;
  detail::token_matcher normalized_matcher_;
};

}  // namespace rlft::text
