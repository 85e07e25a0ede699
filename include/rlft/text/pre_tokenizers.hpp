// The pre-tokenizers of tokenizer.json (Hugging Face `tokenizers`), which cut each segment into
// the pieces the model tokenizes one by one: ByteLevel (GPT-2's split pattern and byte alphabet),
// Split (a pattern with one of five behaviours, optionally inverted: Qwen2's and Llama-3's
// patterns), Metaspace (SentencePiece's "▁"), Digits and Sequence. Pieces that come out empty are
// dropped, as in `tokenizers`. Anything else in a file is an error naming it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/byte_level.hpp"
#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/pattern.hpp"
#include "rlft/text/regex.hpp"
#include "rlft/text/segment.hpp"
#include "rlft/text/unicode.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

// What a Split does with the matches of its pattern (Hugging Face's SplitDelimiterBehavior).
enum class split_behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// The pattern GPT-2 splits text with, which ByteLevel uses when use_regex is set.
inline constexpr std::string_view gpt2_split_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace detail {

struct text_range {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool matched = false;
};

// The pieces of `text` that `behavior` keeps, given its cut into matches and the gaps between
// them (empty gaps are not listed; empty matches are).
inline std::vector<text_range> apply_behavior(std::vector<text_range> parts, split_behavior behavior, bool invert) {
  if (invert)
    for (auto& part : parts) part.matched = !part.matched;
  std::vector<text_range> kept;
  switch (behavior) {
    case split_behavior::removed:
      for (const auto& part : parts)
        if (!part.matched) kept.push_back(part);
      break;
    case split_behavior::isolated: kept = std::move(parts); break;
    case split_behavior::contiguous: {
      bool previous = false;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0 && parts[i].matched == previous)
          kept.back().end = parts[i].end;
        else
          kept.push_back(parts[i]);
        previous = parts[i].matched;
      }
      break;
    }
    case split_behavior::merged_with_previous: {
      bool previous = false;
      for (const auto& part : parts) {
        if (part.matched && !previous && !kept.empty())
          kept.back().end = part.end;
        else
          kept.push_back(part);
        previous = part.matched;
      }
      break;
    }
    case split_behavior::merged_with_next: {
      bool next = false;
      for (auto part = parts.rbegin(); part != parts.rend(); ++part) {
        if (part->matched && !next && !kept.empty())
          kept.back().begin = part->begin;
        else
          kept.push_back(*part);
        next = part->matched;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  return kept;
}

// Replaces each segment without a token by the pieces `cut(text)` gives; a piece starts the
// input when its segment does and it begins at the segment's first byte.
template <class Cut>
void split_each(segments& pieces, Cut&& cut) {
  segments out;
  out.reserve(pieces.size());
  for (auto& piece : pieces) {
    if (piece.token) {
      out.push_back(std::move(piece));
      continue;
    }
    for (const text_range& range : cut(std::string_view(piece.text))) {
      if (range.end == range.begin) continue;
      out.push_back({.text = piece.text.substr(range.begin, range.end - range.begin),
                     .at_input_start = piece.at_input_start && range.begin == 0});
    }
  }
  pieces = std::move(out);
}

// `text` cut at the matches of `find` (which calls back with (begin, end) of each match).
template <class Find>
std::vector<text_range> matches_and_gaps(std::string_view text, Find&& find) {
  std::vector<text_range> parts;
  std::size_t previous = 0;
  find(text, [&](std::size_t begin, std::size_t end) {
    if (previous != begin) parts.push_back({previous, begin, false});
    parts.push_back({begin, end, true});
    previous = end;
  });
  if (previous != text.size()) parts.push_back({previous, text.size(), false});
  return parts;
}

}  // namespace detail

class pre_tokenizer {
 public:
  pre_tokenizer() = default;

  // From a tokenizer.json "pre_tokenizer" value (null: none). Throws rlft::io_error naming an
  // unsupported or malformed component.
  static pre_tokenizer from_json(const nlohmann::json& json) {
    pre_tokenizer result;
    if (!json.is_null()) result.add(json);
    return result;
  }

  bool empty() const noexcept { return steps_.empty(); }

  void apply(segments& pieces) const {
    for (const auto& step : steps_) std::visit([&](const auto& s) { s.apply(pieces); }, step);
  }

 private:
  struct byte_level {
    bool add_prefix_space = false;
    std::shared_ptr<const regex> split;  // GPT-2's pattern, or null for use_regex false
    void apply(segments& pieces) const {
      for (auto& piece : pieces)
        if (!piece.token && add_prefix_space && !piece.text.starts_with(' ')) piece.text = prefixed(" ", piece.text);
      if (split)
        detail::split_each(pieces, [&](std::string_view text) {
          return detail::matches_and_gaps(text, [&](std::string_view t, auto&& on) { split->for_each_match(t, on); });
        });
      for (auto& piece : pieces)
        if (!piece.token) piece.text = to_byte_level(piece.text);
    }
  };
  struct split {
    std::shared_ptr<const text_pattern> pattern;
    split_behavior behavior = split_behavior::isolated;
    bool invert = false;
    void apply(segments& pieces) const {
      detail::split_each(pieces, [&](std::string_view text) {
        return detail::apply_behavior(
            detail::matches_and_gaps(text, [&](std::string_view t, auto&& on) { pattern->for_each_match(t, on); }),
            behavior, invert);
      });
    }
  };
  enum class prepend_scheme { always, first, never };
  struct metaspace {
    std::string replacement;  // one character, in UTF-8
    prepend_scheme scheme = prepend_scheme::always;
    bool split = true;
    void apply(segments& pieces) const {
      for (auto& piece : pieces) {
        if (piece.token) continue;
        std::string replaced;
        for (const char c : piece.text) {
          if (c == ' ')
            replaced += replacement;
          else
            replaced += c;
        }
        const bool prepend = scheme == prepend_scheme::always || (scheme == prepend_scheme::first && piece.at_input_start);
        if (prepend && !replaced.starts_with(replacement)) replaced = prefixed(replacement, replaced);
        piece.text = std::move(replaced);
      }
      if (split)
        detail::split_each(pieces, [&](std::string_view text) {
          return detail::apply_behavior(detail::matches_and_gaps(text,
                                                                 [&](std::string_view t, auto&& on) {
                                                                   for (std::size_t at = t.find(replacement);
                                                                        at != std::string_view::npos;
                                                                        at = t.find(replacement, at + replacement.size()))
                                                                     on(at, at + replacement.size());
                                                                 }),
                                        split_behavior::merged_with_next, false);
        });
    }
  };
  struct digits {
    bool individual = false;
    void apply(segments& pieces) const {
      detail::split_each(pieces, [&](std::string_view text) {
        std::vector<detail::text_range> parts;
        for (std::size_t at = 0; at < text.size();) {
          const auto c = decode_utf8(text, at);
          const bool numeric = is_numeric(c.code_point);
          const bool extend = !parts.empty() && parts.back().matched == numeric && (!numeric || !individual);
          if (extend)
            parts.back().end = at + c.length;
          else
            parts.push_back({at, at + c.length, numeric});
          at += c.length;
        }
        return parts;
      });
    }
  };
  using stage = std::variant<byte_level, split, metaspace, digits>;

  static split_behavior behavior_of(const std::string& name, std::string_view component) {
    if (name == "Removed") return split_behavior::removed;
    if (name == "Isolated") return split_behavior::isolated;
    if (name == "MergedWithPrevious") return split_behavior::merged_with_previous;
    if (name == "MergedWithNext") return split_behavior::merged_with_next;
    if (name == "Contiguous") return split_behavior::contiguous;
    detail::malformed(component, "Split.behavior \"" + name + "\" is unknown");
  }

  static metaspace metaspace_of(const nlohmann::json& json, std::string_view component) {
    metaspace m{.replacement = detail::field_as<std::string>(json, "replacement", component)};
    if (m.replacement.empty() || decode_utf8(m.replacement, 0).length != m.replacement.size())
      detail::malformed(component, "Metaspace.replacement must be one character");
    const std::string scheme = detail::field_or<std::string>(json, "prepend_scheme", "always", component);
    if (scheme == "always") m.scheme = prepend_scheme::always;
    else if (scheme == "first") m.scheme = prepend_scheme::first;
    else if (scheme == "never") m.scheme = prepend_scheme::never;
    else detail::malformed(component, "Metaspace.prepend_scheme \"" + scheme + "\" is unknown");
    // The legacy add_prefix_space = false means "never" and must agree with prepend_scheme.
    if (!detail::field_or<bool>(json, "add_prefix_space", true, component) && m.scheme != prepend_scheme::never)
      detail::malformed(component, "Metaspace.add_prefix_space does not match prepend_scheme");
    m.split = detail::field_or<bool>(json, "split", true, component);
    return m;
  }

  void add(const nlohmann::json& json) {
    constexpr std::string_view component = "pre_tokenizer";
    const std::string type = detail::type_of(json, component);
    if (type == "Sequence") {
      const auto& parts = detail::field(json, "pretokenizers", component);
      if (!parts.is_array()) detail::malformed(component, "Sequence.pretokenizers is not a list");
      for (const auto& part : parts) add(part);
    } else if (type == "ByteLevel") {
      byte_level level{.add_prefix_space = detail::field_or<bool>(json, "add_prefix_space", false, component),
                       .split = nullptr};
      if (detail::field_or<bool>(json, "use_regex", true, component))
        level.split = std::make_shared<const regex>(gpt2_split_pattern);
      steps_.emplace_back(std::move(level));
    } else if (type == "Split") {
      steps_.emplace_back(split{std::make_shared<const text_pattern>(detail::pattern_of(json, component)),
                                behavior_of(detail::field_as<std::string>(json, "behavior", component), component),
                                detail::field_as<bool>(json, "invert", component)});
    } else if (type == "Metaspace") {
      steps_.emplace_back(metaspace_of(json, component));
    } else if (type == "Digits") {
      steps_.emplace_back(digits{detail::field_as<bool>(json, "individual_digits", component)});
    } else {
      detail::malformed(component, "type \"" + type +
                                       "\" is not supported (supported: ByteLevel, Split, Metaspace, Digits, "
                                       "Sequence)");
    }
  }

  std::vector<stage> steps_;
};

}  // namespace rlft::text
