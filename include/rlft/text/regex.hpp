// The regular expressions of tokenizer.json files (split patterns with \p{L}, \p{N}, scoped
// case-insensitivity and look-ahead), matched by PCRE2 (Debian's libpcre2-dev; JIT-compiled where
// the platform has it) with Unicode properties, as Hugging Face `tokenizers` matches them with
// Oniguruma: backtracking, leftmost-first alternation, non-overlapping matches from left to right.
// One difference is bridged here: Oniguruma's Unicode \s is the White_Space property, which
// includes U+0085, and PCRE2's leaves U+0085 out; \s and \S are rewritten into explicit classes
// before compiling.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <pcre2.h>

#include "rlft/core/error.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

namespace detail {

// `pattern` with \s and \S spelled as the White_Space classes Oniguruma uses.
inline std::string with_white_space_classes(std::string_view pattern) {
  constexpr std::string_view space_members = "\\t-\\r\\x{85}\\p{Z}";
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      ++i;
      if (next == 's') {
        if (!in_class) out += '[';
        out += space_members;
        if (!in_class) out += ']';
      } else if (next == 'S') {
        if (in_class)
          throw error(rlft::detail::make_message("regex: \\S inside a character class is not supported: ", pattern));
        out += "[^";
        out += space_members;
        out += ']';
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct code_deleter {
  void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
};

// Per thread: match data and a JIT stack large enough for long runs of whitespace.
struct match_scratch {
  pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  match_scratch() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~match_scratch() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  match_scratch(const match_scratch&) = delete;
  match_scratch& operator=(const match_scratch&) = delete;
};

inline match_scratch& scratch_of_this_thread() {
  thread_local match_scratch scratch;
  return scratch;
}

}  // namespace detail

class regex {
 public:
  // Throws rlft::error naming the pattern and PCRE2's reason when it does not compile.
  explicit regex(std::string_view pattern) : pattern_(pattern) {
    const std::string rewritten = detail::with_white_space_classes(pattern);
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                         PCRE2_UTF | PCRE2_UCP, &code, &offset, nullptr);
    if (compiled == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      throw error(rlft::detail::make_message("regex \"", pattern, "\" does not compile at offset ", offset, ": ",
                                             reinterpret_cast<const char*>(message)));
    }
    code_.reset(compiled, detail::code_deleter{});
    pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);  // falls back to the interpreter where JIT is missing
  }

  const std::string& pattern() const noexcept { return pattern_; }

  // Calls on_match(begin, end) for every non-overlapping match in `subject` (valid UTF-8), leftmost
  // first; after an empty match the search moves on by one character. Throws rlft::error when the
  // matcher fails (a backtracking limit on hostile input).
  template <class OnMatch>
  void for_each_match(std::string_view subject, OnMatch&& on_match) const {
    auto& scratch = detail::scratch_of_this_thread();
    const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    std::size_t start = 0;
    while (start <= subject.size()) {
      const int found = pcre2_match(code_.get(), text, subject.size(), start, PCRE2_NO_UTF_CHECK, scratch.data,
                                    scratch.context);
      if (found == PCRE2_ERROR_NOMATCH) return;
      if (found < 0) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(found, message, sizeof message);
        throw error(rlft::detail::make_message("regex \"", pattern_, "\": ", reinterpret_cast<const char*>(message)));
      }
      const PCRE2_SIZE* range = pcre2_get_ovector_pointer(scratch.data);
      const std::size_t begin = range[0], end = range[1];
      on_match(begin, end);
      start = end > begin ? end : end + (end < subject.size() ? decode_utf8(subject, end).length : 1);
    }
  }

 private:
  std::string pattern_;
  std::shared_ptr<pcre2_code> code_;
};

}  // namespace rlft::text
