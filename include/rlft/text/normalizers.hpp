// The normalizers of tokenizer.json (Hugging Face `tokenizers`), applied to each segment of the
// text between added tokens: NFC, NFD, NFKC, NFKD (Qwen2's NFC), Lowercase, Strip, Prepend and
// Replace (Llama-2's legacy "▁" handling), and Sequence. Anything else in a file is an error naming
// it, never an approximation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/pattern.hpp"
#include "rlft/text/segment.hpp"
#include "rlft/text/unicode.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

class normalizer {
 public:
  normalizer() = default;

  // From a tokenizer.json "normalizer" value (null: none). Throws rlft::io_error naming an
  // unsupported or malformed component.
  static normalizer from_json(const nlohmann::json& json) {
    normalizer result;
    if (!json.is_null()) result.add(json);
    return result;
  }

  bool empty() const noexcept { return steps_.empty(); }

  // The normalized text of one segment. Strip moves a segment's start when it removes leading
  // characters, which matters to Metaspace's "first" scheme.
  void apply(segment& piece) const {
    for (const auto& step : steps_) std::visit([&](const auto& s) { s.apply(piece); }, step);
  }

  std::string apply(std::string_view text) const {
    segment piece{.text = std::string(text)};
    apply(piece);
    return std::move(piece.text);
  }

 private:
  struct unicode_form {
    normalization_form form;
    void apply(segment& piece) const { piece.text = normalize(piece.text, form); }
  };
  struct to_lowercase {
    void apply(segment& piece) const { piece.text = lowercase(piece.text); }
  };
  struct strip {
    bool left = true;
    bool right = true;
    void apply(segment& piece) const {
      std::size_t begin = 0, end = piece.text.size();
      if (left)
        while (begin < end) {
          const auto c = decode_utf8(piece.text, begin);
          if (!is_white_space(c.code_point)) break;
          begin += c.length;
        }
      if (right)
        while (end > begin) {
          std::size_t last = end - 1;
          while (last > begin && (static_cast<unsigned char>(piece.text[last]) & 0xC0) == 0x80) --last;
          if (!is_white_space(decode_utf8(piece.text, last).code_point)) break;
          end = last;
        }
      if (begin > 0) piece.at_input_start = false;
      piece.text = piece.text.substr(begin, end - begin);
    }
  };
  struct prepend {
    std::string text;
    void apply(segment& piece) const {
      if (!piece.text.empty()) piece.text = prefixed(text, piece.text);
    }
  };
  struct replace {
    std::shared_ptr<const text_pattern> pattern;
    std::string content;
    void apply(segment& piece) const { piece.text = pattern->replace_all(piece.text, content); }
  };
  using stage = std::variant<unicode_form, to_lowercase, strip, prepend, replace>;

  void add(const nlohmann::json& json) {
    constexpr std::string_view component = "normalizer";
    const std::string type = detail::type_of(json, component);
    if (type == "Sequence") {
      const auto& parts = detail::field(json, "normalizers", component);
      if (!parts.is_array()) detail::malformed(component, "Sequence.normalizers is not a list");
      for (const auto& part : parts) add(part);
    } else if (type == "NFC") {
      steps_.emplace_back(unicode_form{normalization_form::nfc});
    } else if (type == "NFD") {
      steps_.emplace_back(unicode_form{normalization_form::nfd});
    } else if (type == "NFKC") {
      steps_.emplace_back(unicode_form{normalization_form::nfkc});
    } else if (type == "NFKD") {
      steps_.emplace_back(unicode_form{normalization_form::nfkd});
    } else if (type == "Lowercase") {
      steps_.emplace_back(to_lowercase{});
    } else if (type == "Strip") {
      steps_.emplace_back(strip{.left = detail::field_as<bool>(json, "strip_left", component),
                                .right = detail::field_as<bool>(json, "strip_right", component)});
    } else if (type == "Prepend") {
      steps_.emplace_back(prepend{detail::field_as<std::string>(json, "prepend", component)});
    } else if (type == "Replace") {
      steps_.emplace_back(replace{std::make_shared<const text_pattern>(detail::pattern_of(json, component)),
                                  detail::field_as<std::string>(json, "content", component)});
    } else {
      detail::malformed(component, "type \"" + type +
                                       "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                                       "Prepend, Replace, Sequence)");
    }
  }

  std::vector<stage> steps_;
};

}  // namespace rlft::text
