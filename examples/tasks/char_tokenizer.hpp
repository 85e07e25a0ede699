// Character-level tokenizer for the built-in reasoning tasks: one token per Unicode code point
// of a fixed alphabet (printable ASCII, newline, and the extra characters given at
// construction — the non-Latin letters of the tasks' mixed-language reasoning), and one token
// each for the R1 template tags <think>, </think>, <answer>, </answer> and for begin/end of
// sequence. Tags as single tokens keep sequences short
// and make the format something a tiny model can learn in minutes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <rlft/core/error.hpp>
#include <rlft/core/token_sequences.hpp>
#include <rlft/text/utf8.hpp>

namespace rlft::tasks {

class char_tokenizer {
 public:
  static constexpr token_id padding = 0;
  static constexpr token_id begin_of_sequence = 1;
  static constexpr token_id end_of_sequence = 2;
  static constexpr token_id think_open = 3;
  static constexpr token_id think_close = 4;
  static constexpr token_id answer_open = 5;
  static constexpr token_id answer_close = 6;
  static constexpr std::array<std::string_view, 7> special_texts{
      "<pad>", "<s>", "</s>", "<think>", "</think>", "<answer>", "</answer>"};

  // extra_characters: UTF-8 text whose characters join the alphabet (duplicates ignored).
  explicit char_tokenizer(std::string_view extra_characters = {}) {
    for (char32_t c = 0x20; c < 0x7F; ++c) add(c);
    add(U'\n');
    for (std::size_t i = 0; i < extra_characters.size();) {
      const auto [code_point, length] = decode_utf8(extra_characters, i);
      if (!ids_.contains(code_point)) add(code_point);
      i += length;
    }
  }

  std::size_t vocab_size() const noexcept { return special_texts.size() + code_points_.size(); }

  // Encodes UTF-8 text; the four template tags become their special tokens. Throws
  // rlft::error naming the offset of invalid UTF-8 or of a character outside the alphabet.
  std::vector<token_id> encode(std::string_view text) const {
    std::vector<token_id> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
      if (const auto special = match_tag(text.substr(i))) {
        tokens.push_back(*special);
        i += special_texts[static_cast<std::size_t>(*special)].size();
        continue;
      }
      const auto [code_point, length] = decode_utf8(text, i);
      const auto it = ids_.find(code_point);
      if (it == ids_.end())
        throw error(detail::make_message("char_tokenizer: character U+", std::hex,
                                         static_cast<std::uint32_t>(code_point), std::dec,
                                         " at byte ", i, " is not in the alphabet"));
      tokens.push_back(it->second);
      i += length;
    }
    return tokens;
  }

  // Decodes tokens to UTF-8; special tokens become their tag text, padding and sequence
  // markers are dropped. Ids outside the vocabulary become U+FFFD (generated text is never
  // an error).
  std::string decode(std::span<const token_id> tokens) const {
    std::string text;
    for (const token_id t : tokens) {
      if (t == padding || t == begin_of_sequence || t == end_of_sequence) continue;
      if (t >= 0 && static_cast<std::size_t>(t) < special_texts.size()) {
        text += special_texts[static_cast<std::size_t>(t)];
      } else if (t >= 0 && static_cast<std::size_t>(t) < vocab_size()) {
        rlft::append_utf8(code_points_[static_cast<std::size_t>(t) - special_texts.size()], text);
      } else {
        text += "\xEF\xBF\xBD";
      }
    }
    return text;
  }

 private:
  void add(char32_t code_point) {
    ids_.emplace(code_point, static_cast<token_id>(special_texts.size() + code_points_.size()));
    code_points_.push_back(code_point);
  }

  static std::optional<token_id> match_tag(std::string_view rest) {
    for (token_id t = think_open; t <= answer_close; ++t)
      if (rest.starts_with(special_texts[static_cast<std::size_t>(t)])) return t;
    return std::nullopt;
  }

  // The code point at text[at]; ill-formed UTF-8 (rlft::decode_utf8 substitutes U+FFFD for
  // it, the tokenizer refuses it) is an error naming the byte where the ill-formed sequence
  // starts.
  static decoded_code_point decode_utf8(std::string_view text, std::size_t at) {
    const decoded_code_point decoded = rlft::decode_utf8(text, at);
    constexpr std::string_view encoded_replacement = "\xEF\xBF\xBD";
    if (decoded.code_point == replacement_character && !text.substr(at).starts_with(encoded_replacement))
      throw error(detail::make_message("char_tokenizer: invalid UTF-8 at byte ", at));
    return decoded;
  }

  std::vector<char32_t> code_points_;
  std::unordered_map<char32_t, token_id> ids_;
};

}  // namespace rlft::tasks
