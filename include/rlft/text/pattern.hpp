// The pattern of a Split pre-tokenizer or a Replace normalizer or decoder: a literal string or a
// regular expression (tokenizer.json's {"String": ...} and {"Regex": ...}), with one way to find
// its non-overlapping matches from left to right, as Hugging Face `tokenizers` finds them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "rlft/text/detail/json_fields.hpp"
#include "rlft/text/regex.hpp"

namespace rlft::text {

class text_pattern {
 public:
  // Throws rlft::error when a regular expression does not compile.
  explicit text_pattern(const detail::pattern_field& pattern) : literal_(pattern.text) {
    // An empty literal matches the empty string everywhere, as its escaped regex does.
    if (pattern.is_regex || pattern.text.empty()) compiled_.emplace(pattern.text);
  }

  // Calls on_match(begin, end) for each non-overlapping match of `subject`, leftmost first.
  template <class OnMatch>
  void for_each_match(std::string_view subject, OnMatch&& on_match) const {
    if (compiled_) {
      compiled_->for_each_match(subject, on_match);
      return;
    }
    for (std::size_t at = subject.find(literal_); at != std::string_view::npos;
         at = subject.find(literal_, at + literal_.size()))
      on_match(at, at + literal_.size());
  }

  // `subject` with every match replaced by `content`.
  std::string replace_all(std::string_view subject, std::string_view content) const {
    std::string out;
    std::size_t copied = 0;
    for_each_match(subject, [&](std::size_t begin, std::size_t end) {
      out.append(subject.substr(copied, begin - copied));
      out.append(content);
      copied = end;
    });
    out.append(subject.substr(copied));
    return out;
  }

 private:
  std::string literal_;
  std::optional<regex> compiled_;
};

}  // namespace rlft::text
