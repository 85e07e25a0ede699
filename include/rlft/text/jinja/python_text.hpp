// Python's str semantics on UTF-8 text. Jinja runs on Python strings, so to render a chat
// template byte-identically the interpreter must whitespace-strip, split, index and print the
// way Python does: whitespace is str.isspace's set, indices and lengths count code points, and
// floats and strings print as repr() prints them. Malformed UTF-8 (which Python strings cannot
// hold) is read with U+FFFD substitutions and never read past its end.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "rlft/text/utf8.hpp"
#include "rlft/text/jinja/failure.hpp"

namespace rlft::jinja::python {

// str.isspace(), which is also what str.strip(), str.split() and the regular expression \s use.
constexpr bool is_whitespace(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The line boundaries of str.splitlines() (a "\r\n" pair is one boundary).
constexpr bool is_line_boundary(char32_t c) noexcept {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 ||
         c == 0x2029;
}

inline bool is_ascii(std::string_view text) noexcept {
  for (const char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

inline std::size_t code_point_count(std::string_view text) noexcept {
  if (is_ascii(text)) return text.size();
  std::size_t count = 0;
  for (std::size_t position = 0; position < text.size(); position += decode_utf8(text, position).length) ++count;
  return count;
}

inline std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> result;
  for_each_code_point(text, [&](char32_t c) { result.push_back(c); });
  return result;
}

// The number of code points before byte offset `offset` (a code point boundary).
inline std::size_t code_point_index(std::string_view text, std::size_t offset) noexcept {
  return code_point_count(text.substr(0, offset));
}

// The code point that ends at byte `end` (> begin): it starts at most three continuation
// bytes back; a malformed tail counts one byte at a time, as decoding forwards would.
struct code_point_at {
  char32_t code_point;
  std::size_t start;
};
inline code_point_at code_point_before(std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t start = end - 1;
  while (start > begin && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  const decoded_code_point decoded = decode_utf8(text, start);
  if (start + decoded.length != end) return {replacement_character, end - 1};
  return {decoded.code_point, start};
}

enum class strip_side { leading, trailing, both };

// str.strip / lstrip / rstrip: `characters` is the set to remove, whitespace when absent.
inline std::string_view strip(std::string_view text, const std::optional<std::string_view>& characters,
                              strip_side side) {
  const std::vector<char32_t> set = characters ? code_points(*characters) : std::vector<char32_t>{};
  const auto removable = [&](char32_t c) {
    if (!characters) return is_whitespace(c);
    for (const char32_t member : set)
      if (member == c) return true;
    return false;
  };
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (side != strip_side::trailing) {
    while (begin < end) {
      const decoded_code_point decoded = decode_utf8(text, begin);
      if (!removable(decoded.code_point)) break;
      begin += decoded.length;
    }
  }
  if (side != strip_side::leading) {
    while (end > begin) {
      const code_point_at last = code_point_before(text, begin, end);
      if (!removable(last.code_point)) break;
      end = last.start;
    }
  }
  return text.substr(begin, end - begin);
}

// str.split(separator, max_splits) with a non-empty separator; max_splits < 0: no limit.
inline std::vector<std::string_view> split(std::string_view text, std::string_view separator, std::int64_t max_splits) {
  std::vector<std::string_view> parts;
  std::size_t position = 0;
  while (max_splits < 0 || static_cast<std::int64_t>(parts.size()) < max_splits) {
    const std::size_t found = text.find(separator, position);
    if (found == std::string_view::npos) break;
    parts.push_back(text.substr(position, found - position));
    position = found + separator.size();
  }
  parts.push_back(text.substr(position));
  return parts;
}

// str.rsplit(separator, max_splits) with a non-empty separator.
inline std::vector<std::string_view> rsplit(std::string_view text, std::string_view separator,
                                            std::int64_t max_splits) {
  std::vector<std::string_view> reversed_parts;
  std::size_t end = text.size();
  while (max_splits < 0 || static_cast<std::int64_t>(reversed_parts.size()) < max_splits) {
    if (end < separator.size()) break;
    const std::size_t found = text.rfind(separator, end - separator.size());
    if (found == std::string_view::npos) break;
    reversed_parts.push_back(text.substr(found + separator.size(), end - found - separator.size()));
    end = found;
  }
  reversed_parts.push_back(text.substr(0, end));
  return {reversed_parts.rbegin(), reversed_parts.rend()};
}

// str.split() without a separator: runs of whitespace separate, and no part is empty. After
// max_splits splits the rest is one part, leading whitespace removed.
inline std::vector<std::string_view> split_whitespace(std::string_view text, std::int64_t max_splits) {
  std::vector<std::string_view> parts;
  std::size_t position = 0;
  const auto skip_whitespace = [&] {
    while (position < text.size()) {
      const decoded_code_point decoded = decode_utf8(text, position);
      if (!is_whitespace(decoded.code_point)) break;
      position += decoded.length;
    }
  };
  while (true) {
    skip_whitespace();
    if (position >= text.size()) break;
    if (max_splits >= 0 && static_cast<std::int64_t>(parts.size()) == max_splits) {
      parts.push_back(text.substr(position));
      break;
    }
    const std::size_t word_start = position;
    while (position < text.size()) {
      const decoded_code_point decoded = decode_utf8(text, position);
      if (is_whitespace(decoded.code_point)) break;
      position += decoded.length;
    }
    parts.push_back(text.substr(word_start, position - word_start));
  }
  return parts;
}

// str.rsplit() without a separator.
inline std::vector<std::string_view> rsplit_whitespace(std::string_view text, std::int64_t max_splits) {
  std::vector<std::string_view> reversed_parts;
  std::size_t end = text.size();  // a byte offset, exclusive
  const auto whitespace_before = [&](std::size_t at) {
    return is_whitespace(code_point_before(text, 0, at).code_point);
  };
  while (true) {
    while (end > 0 && whitespace_before(end)) end = code_point_before(text, 0, end).start;
    if (end == 0) break;
    if (max_splits >= 0 && static_cast<std::int64_t>(reversed_parts.size()) == max_splits) {
      reversed_parts.push_back(text.substr(0, end));
      break;
    }
    std::size_t start = end;
    while (start > 0 && !whitespace_before(start)) start = code_point_before(text, 0, start).start;
    reversed_parts.push_back(text.substr(start, end - start));
    end = start;
  }
  return {reversed_parts.rbegin(), reversed_parts.rend()};
}

// str.splitlines() (without keepends).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t line_start = 0;
  std::size_t position = 0;
  while (position < text.size()) {
    const decoded_code_point decoded = decode_utf8(text, position);
    if (!is_line_boundary(decoded.code_point)) {
      position += decoded.length;
      continue;
    }
    lines.push_back(text.substr(line_start, position - line_start));
    position += decoded.length;
    if (decoded.code_point == '\r' && position < text.size() && text[position] == '\n') ++position;
    line_start = position;
  }
  if (line_start < text.size()) lines.push_back(text.substr(line_start));
  return lines;
}

// str.replace(old, new, count); count < 0: every occurrence. An empty `old` matches before
// every code point and at the end, as in Python. The result's size is worked out first: absent
// when it would exceed max_bytes, so a replacement cannot allocate without bound.
inline std::optional<std::string> replace(std::string_view text, std::string_view old_text, std::string_view new_text,
                                          std::int64_t count, std::size_t max_bytes) {
  const auto limited = [&](std::size_t occurrences) {
    return count >= 0 ? std::min(occurrences, static_cast<std::size_t>(count)) : occurrences;
  };
  std::size_t occurrences = 0;
  if (old_text.empty()) {
    occurrences = limited(code_point_count(text) + 1);
  } else {
    for (std::size_t at = text.find(old_text);
         at != std::string_view::npos && (count < 0 || occurrences < static_cast<std::size_t>(count));
         at = text.find(old_text, at + old_text.size()))
      ++occurrences;
  }
  if (text.size() > max_bytes) return std::nullopt;
  const std::size_t removed = old_text.size() * occurrences;  // at most text.size()
  if (occurrences > 0 && new_text.size() > (max_bytes - text.size() + removed) / occurrences) return std::nullopt;

  std::string result;
  result.reserve(text.size() - removed + new_text.size() * occurrences);
  std::size_t position = 0;
  for (std::size_t done = 0; done < occurrences; ++done) {
    if (old_text.empty()) {
      result.append(new_text);
      if (position >= text.size()) break;
      const std::size_t length = decode_utf8(text, position).length;
      result.append(text.substr(position, length));
      position += length;
    } else {
      const std::size_t found = text.find(old_text, position);
      result.append(text.substr(position, found - position));
      result.append(new_text);
      position = found + old_text.size();
    }
  }
  result.append(text.substr(std::min(position, text.size())));
  return result;
}

// Whether str.upper() and str.lower() leave a non-ASCII code point as it is: marks, symbols,
// punctuation and the scripts without letter case (Hebrew, Arabic, the Indic scripts, Thai,
// CJK, kana, Hangul, emoji, ...). Cased scripts (Latin beyond ASCII, Greek, Cyrillic, ...) are
// outside what the interpreter's case mapping covers.
constexpr bool is_caseless(char32_t c) noexcept {
  return (c >= 0x00A0 && c <= 0x00BF && c != 0x00B5) || c == 0x00D7 || c == 0x00F7 ||
         (c >= 0x02B0 && c <= 0x036F && c != 0x0345) || (c >= 0x0590 && c <= 0x109F) || (c >= 0x1100 && c <= 0x139F) ||
         (c >= 0x1400 && c <= 0x1C7F) || (c >= 0x2000 && c <= 0x20FF) || (c >= 0x2190 && c <= 0x24B5) ||
         (c >= 0x24EA && c <= 0x2BFF) || (c >= 0x2E00 && c <= 0xA63F) || (c >= 0xA800 && c <= 0xAB2F) ||
         (c >= 0xABC0 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFB1D && c <= 0xFF20) ||
         (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFFFF) || (c >= 0x1F000 && c <= 0x1FAFF) ||
         (c >= 0x20000 && c <= 0x3FFFF) || (c >= 0xE0000 && c <= 0xE007F);
}

enum class letter_case { upper, lower };

// One code point through str.upper() / str.lower(): ASCII letters are mapped, caseless code
// points kept, anything else is a render error naming the code point (rendering it unchanged
// would silently differ from Python).
inline char32_t change_case(char32_t c, letter_case target) {
  if (c < 0x80) {
    if (target == letter_case::upper && c >= 'a' && c <= 'z') return c - ('a' - 'A');
    if (target == letter_case::lower && c >= 'A' && c <= 'Z') return c + ('a' - 'A');
    return c;
  }
  if (c == replacement_character || is_caseless(c)) return c;
  std::string spelled = "U+";
  static constexpr char hex_digits[] = "0123456789ABCDEF";
  const int digits = c > 0xFFFF ? 6 : 4;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) spelled += hex_digits[(c >> shift) & 0xF];
  fail_render("changing the letter case of ", spelled, " is not supported (ASCII letters and caseless scripts only)");
}

inline std::string with_case(std::string_view text, letter_case target) {
  std::string result;
  result.reserve(text.size());
  for_each_code_point(text, [&](char32_t c) { rlft::append_utf8(change_case(c, target), result); });
  return result;
}

// Python's str.isprintable() for one code point, from the Unicode general categories it
// excludes (Cc, Cf, Cs, Co, Zl, Zp and Zs other than the space; unassigned code points other
// than the noncharacters are taken as printable).
constexpr bool is_printable(char32_t c) noexcept {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;
  if (c == 0xA0 || c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) || c == 0x3000 || c == 0xFEFF)
    return false;
  if ((c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD || c == 0x070F || c == 0x0890 || c == 0x0891 ||
      c == 0x08E2 || c == 0x180E || (c >= 0xFFF9 && c <= 0xFFFB) || c == 0x110BD || c == 0x110CD ||
      (c >= 0x13430 && c <= 0x1343F) || (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
      c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F))
    return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || c >= 0xF0000) return false;            // surrogates and private use
  if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) return false;  // noncharacters
  return true;
}

inline void append_hex_escape(std::string& out, char kind, std::uint32_t code, int digits) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out += '\\';
  out += kind;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += hex_digits[(code >> shift) & 0xF];
}

// repr() of a str: single quotes unless the text holds a single quote and no double quote.
inline std::string string_repr(std::string_view text) {
  const bool double_quoted = text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos;
  const char quote = double_quoted ? '"' : '\'';
  std::string out;
  out.reserve(text.size() + 2);
  out += quote;
  for_each_code_point(text, [&](char32_t c) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      append_hex_escape(out, 'x', c, 2);
    } else if (c < 0x7F || is_printable(c)) {
      rlft::append_utf8(c, out);
    } else if (c <= 0xFF) {
      append_hex_escape(out, 'x', c, 2);
    } else if (c <= 0xFFFF) {
      append_hex_escape(out, 'u', c, 4);
    } else {
      append_hex_escape(out, 'U', c, 8);
    }
  });
  out += quote;
  return out;
}

// repr() of a float: the shortest digits that read back to the same double, written
// positionally when the decimal exponent is in [-4, 16) and in scientific notation otherwise
// ("1e+16", "1.5e-05"); a positional value always shows a fractional part ("1.0").
inline std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto converted = std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific);
  std::string_view text(buffer, static_cast<std::size_t>(converted.ptr - buffer));
  std::string out;
  if (text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (const char c : text.substr(0, e))
    if (c != '.') digits += c;
  int exponent = 0;
  std::from_chars(text.data() + e + 1 + (text[e + 1] == '+' ? 1 : 0), text.data() + text.size(), exponent);
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      const std::size_t integer_digits = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= integer_digits) {
        out += digits;
        out.append(integer_digits - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, integer_digits);
        out += '.';
        out += digits.substr(integer_digits);
      }
    } else {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += exponent < 0 ? "e-" : "e+";
  const int magnitude = exponent < 0 ? -exponent : exponent;
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
  return out;
}

// How json.dumps writes a float: repr(), except NaN and the infinities.
inline std::string float_json(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  return float_repr(x);
}

// A JSON string as json.dumps writes it: quotes, backslashes and control characters escaped;
// other code points as they are, or as \uXXXX escapes (surrogate pairs above U+FFFF) when
// ensure_ascii is set.
inline void append_json_string(std::string& out, std::string_view text, bool ensure_ascii) {
  out += '"';
  for_each_code_point(text, [&](char32_t c) {
    switch (c) {
      case '"': out += "\\\""; return;
      case '\\': out += "\\\\"; return;
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case '\b': out += "\\b"; return;
      case '\f': out += "\\f"; return;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000) {
        const char32_t offset = c - 0x10000;
        append_hex_escape(out, 'u', 0xD800 + (offset >> 10), 4);
        append_hex_escape(out, 'u', 0xDC00 + (offset & 0x3FF), 4);
      } else {
        append_hex_escape(out, 'u', c, 4);
      }
    } else {
      rlft::append_utf8(c, out);
    }
  });
  out += '"';
}

}  // namespace rlft::jinja::python
