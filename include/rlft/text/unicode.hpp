// The Unicode facts the tokenizers need, from utf8proc (a well-kept library, Debian's
// libutf8proc-dev) instead of hand-made tables: normalization forms (Unicode Standard Annex #15),
// general categories, the White_Space property and lowercase mappings. Hugging Face `tokenizers`
// takes the same facts from Rust's tables and an older normalization crate (Unicode 9 for NFC);
// the two agree on every character assigned by Unicode 9 and may differ on newer ones.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <utf8proc.h>

#include "rlft/core/error.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft::text {

enum class normalization_form { nfc, nfd, nfkc, nfkd };

// `text` (valid UTF-8) in the given normalization form.
inline std::string normalize(std::string_view text, normalization_form form) {
  if (text.empty()) return {};
  int options = UTF8PROC_STABLE;
  switch (form) {
    case normalization_form::nfc: options |= UTF8PROC_COMPOSE; break;
    case normalization_form::nfd: options |= UTF8PROC_DECOMPOSE; break;
    case normalization_form::nfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case normalization_form::nfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  utf8proc_uint8_t* normalized = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &normalized, static_cast<utf8proc_option_t>(options));
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(normalized, &std::free);
  if (length < 0)
    throw error(rlft::detail::make_message("unicode normalization: ", utf8proc_errmsg(length)));
  return std::string(reinterpret_cast<const char*>(normalized), static_cast<std::size_t>(length));
}

inline utf8proc_category_t category_of(char32_t c) noexcept {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

// General category N: Nd, Nl, No (Rust's char::is_numeric, the Digits pre-tokenizer's test).
inline bool is_numeric(char32_t c) noexcept {
  const auto category = category_of(c);
  return category == UTF8PROC_CATEGORY_ND || category == UTF8PROC_CATEGORY_NL || category == UTF8PROC_CATEGORY_NO;
}

// The White_Space property: the separators Zs, Zl, Zp and the controls U+0009..U+000D, U+0085.
inline bool is_white_space(char32_t c) noexcept {
  if ((c >= 0x09 && c <= 0x0D) || c == 0x85) return true;
  const auto category = category_of(c);
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL || category == UTF8PROC_CATEGORY_ZP;
}

// A word character as regular expressions' Unicode \w: letters, marks, decimal digits, letter
// numbers, connector punctuation and the joiners (added tokens' single_word test).
inline bool is_word_character(char32_t c) noexcept {
  if (c == 0x200C || c == 0x200D) return true;
  switch (category_of(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC: return true;
    default: return false;
  }
}

// Lowercase, character by character, without context (no final sigma): the one full mapping of
// more than one character, U+0130 → "i̇", and the simple mappings otherwise.
inline std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_code_point(text, [&](char32_t c) {
    if (c == 0x130) {
      out += "i\xCC\x87";
      return;
    }
    append_utf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), out);
  });
  return out;
}

}  // namespace rlft::text
