// UTF-8 for rewards, which score model output that may be cut mid-character or be plain
// garbage, and for the tokenizers. Well-formed sequences follow the Unicode Standard, table 3-7 (no overlong forms,
// no surrogates, nothing above U+10FFFF). Each maximal ill-formed subpart (a lead byte and the
// continuation bytes that were still valid for it, or one stray byte) becomes one U+FFFD, the
// substitution practice recommended in section 3.9 of the standard, so decoding always moves
// forward, never reads past the text and never fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rlft {

inline constexpr char32_t replacement_character = U'\uFFFD';

struct decoded_code_point {
  char32_t code_point = replacement_character;
  std::size_t length = 1;  // bytes consumed, at least 1
};

// The code point starting at text[position] (position < text.size()).
constexpr decoded_code_point decode_utf8(std::string_view text, std::size_t position) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(position);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = 0;
  std::uint8_t second_low = 0x80, second_high = 0xBF;  // the valid range of the second byte
  char32_t value = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0Fu;
    if (lead == 0xE0) second_low = 0xA0;   // overlong
    if (lead == 0xED) second_high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07u;
    if (lead == 0xF0) second_low = 0x90;   // overlong
    if (lead == 0xF4) second_high = 0x8F;  // above U+10FFFF
  } else {
    return {replacement_character, 1};  // continuation byte, C0, C1 or F5..FF
  }
  for (std::size_t i = 1; i < length; ++i) {
    const std::size_t at = position + i;
    const std::uint8_t low = i == 1 ? second_low : 0x80;
    const std::uint8_t high = i == 1 ? second_high : 0xBF;
    if (at >= text.size() || byte(at) < low || byte(at) > high) return {replacement_character, i};
    value = (value << 6) | (byte(at) & 0x3Fu);
  }
  return {value, length};
}

// Calls visit(code_point) for every code point of `text`, in order.
template <class Visit>
constexpr void for_each_code_point(std::string_view text, Visit&& visit) {
  for (std::size_t position = 0; position < text.size();) {
    const decoded_code_point decoded = decode_utf8(text, position);
    visit(decoded.code_point);
    position += decoded.length;
  }
}

// Appends the UTF-8 bytes of `code_point` (at most U+10FFFF) to `out`.
inline void append_utf8(char32_t code_point, std::string& out) {
  const auto c = static_cast<std::uint32_t>(code_point);
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// `bytes` as valid UTF-8: each maximal ill-formed subpart becomes one U+FFFD (what Python's
// errors="replace" and Rust's String::from_utf8_lossy do).
inline std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for_each_code_point(bytes, [&](char32_t c) { append_utf8(c, out); });
  return out;
}

// Whether every byte of `bytes` belongs to a well-formed UTF-8 sequence.
inline bool is_valid_utf8(std::string_view bytes) noexcept {
  for (std::size_t position = 0; position < bytes.size();) {
    const decoded_code_point decoded = decode_utf8(bytes, position);
    if (decoded.code_point == replacement_character && !bytes.substr(position).starts_with("\xEF\xBF\xBD"))
      return false;
    position += decoded.length;
  }
  return true;
}

}  // namespace rlft
