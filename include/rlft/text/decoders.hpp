// The decoders of tokenizer.json (Hugging Face `tokenizers`), which turn the list of token strings
// back into text: ByteLevel (the byte alphabet back to bytes; invalid UTF-8 becomes one U+FFFD per
// maximal ill-formed subpart), Metaspace, ByteFallback (runs of <0xAB> tokens back to bytes; a run
// that is not valid UTF-8 becomes one U+FFFD per byte), Fuse, Strip, Replace and Sequence. Each
// works on the whole list, as `tokenizers`' decode_chain does; the results are concatenated.
// Anything else in a file is an error naming it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/byte_level.hpp"
#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/pattern.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

class decoder {
 public:
  decoder() = default;

  // From a tokenizer.json "decoder" value (null: tokens joined with spaces). Throws
  // rlft::io_error naming an unsupported or malformed component.
  static decoder from_json(const nlohmann::json& json) {
    decoder result;
    if (!json.is_null()) result.add(json);
    return result;
  }

  std::string decode(std::vector<std::string> tokens) const {
    if (steps_.empty()) {
      std::string joined;
      for (std::size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      return joined;
    }
    for (const auto& step : steps_) tokens = std::visit([&](const auto& s) { return s.apply(std::move(tokens)); }, step);
    std::string text;
    for (const auto& token : tokens) text += token;
    return text;
  }

 private:
  struct byte_level {
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      std::string bytes;
      for (const auto& token : tokens) {
        const auto decoded = from_byte_level(token);
        bytes += decoded ? *decoded : token;
      }
      return {valid_utf8(bytes)};
    }
  };
  struct metaspace {
    std::string replacement;
    bool prepended = true;  // prepend_scheme is not "never": the first token's replacements go
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        std::string out;
        const std::string& token = tokens[i];
        for (std::size_t at = 0; at < token.size();) {
          if (token.compare(at, replacement.size(), replacement) == 0) {
            if (i != 0 || !prepended) out += ' ';
            at += replacement.size();
          } else {
            out += token[at++];
          }
        }
        tokens[i] = std::move(out);
      }
      return tokens;
    }
  };
  struct byte_fallback {
    static std::optional<char> byte_of(std::string_view token) {
      if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
      const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int high = digit(token[3]), low = digit(token[4]);
      if (high < 0 || low < 0) return std::nullopt;
      return static_cast<char>(high * 16 + low);
    }
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      std::vector<std::string> out;
      std::string run;
      std::size_t run_length = 0;
      const auto flush = [&] {
        if (run_length == 0) return;
        if (is_valid_utf8(run)) {
          out.push_back(run);
        } else {
          std::string replaced;
          for (std::size_t i = 0; i < run_length; ++i) replaced += "\xEF\xBF\xBD";
          out.push_back(replaced);
        }
        run.clear();
        run_length = 0;
      };
      for (auto& token : tokens) {
        if (const auto b = byte_of(token)) {
          run += *b;
          ++run_length;
        } else {
          flush();
          out.push_back(std::move(token));
        }
      }
      flush();
      return out;
    }
  };
  struct fuse {
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      std::string joined;
      for (const auto& token : tokens) joined += token;
      return {joined};
    }
  };
  struct strip {
    std::string content;  // one character
    std::size_t start = 0;
    std::size_t stop = 0;
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      for (auto& token : tokens) {
        std::size_t begin = 0, end = token.size();
        for (std::size_t n = 0; n < start && token.compare(begin, content.size(), content) == 0 && begin < end; ++n)
          begin += content.size();
        for (std::size_t n = 0; n < stop && end >= begin + content.size() &&
                                token.compare(end - content.size(), content.size(), content) == 0;
             ++n)
          end -= content.size();
        token = token.substr(begin, end - begin);
      }
      return tokens;
    }
  };
  struct replace {
    std::shared_ptr<const text_pattern> pattern;
    std::string content;
    std::vector<std::string> apply(std::vector<std::string> tokens) const {
      for (auto& token : tokens) token = pattern->replace_all(token, content);
      return tokens;
    }
  };
  using stage = std::variant<byte_level, metaspace, byte_fallback, fuse, strip, replace>;

  void add(const nlohmann::json& json) {
    constexpr std::string_view component = "decoder";
    const std::string type = detail::type_of(json, component);
    if (type == "Sequence") {
      const auto& parts = detail::field(json, "decoders", component);
      if (!parts.is_array()) detail::malformed(component, "Sequence.decoders is not a list");
      for (const auto& part : parts) add(part);
    } else if (type == "ByteLevel") {
      steps_.emplace_back(byte_level{});
    } else if (type == "Metaspace") {
      const std::string scheme = detail::field_or<std::string>(json, "prepend_scheme", "always", component);
      steps_.emplace_back(metaspace{detail::field_as<std::string>(json, "replacement", component), scheme != "never"});
    } else if (type == "ByteFallback") {
      steps_.emplace_back(byte_fallback{});
    } else if (type == "Fuse") {
      steps_.emplace_back(fuse{});
    } else if (type == "Strip") {
      strip s{.content = detail::field_as<std::string>(json, "content", component),
              .start = detail::field_as<std::size_t>(json, "start", component),
              .stop = detail::field_as<std::size_t>(json, "stop", component)};
      if (s.content.empty()) detail::malformed(component, "Strip.content is empty");
      steps_.emplace_back(std::move(s));
    } else if (type == "Replace") {
      steps_.emplace_back(replace{std::make_shared<const text_pattern>(detail::pattern_of(json, component)),
                                  detail::field_as<std::string>(json, "content", component)});
    } else {
      detail::malformed(component, "type \"" + type +
                                       "\" is not supported (supported: ByteLevel, Metaspace, ByteFallback, Fuse, "
                                       "Strip, Replace, Sequence)");
    }
  }

  std::vector<stage> steps_;
};

}  // namespace rlft::text
