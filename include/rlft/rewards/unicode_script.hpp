// Which writing system a letter belongs to, for the language-consistency reward. Covers the
// letters of Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Hangul, Han (CJK ideographs)
// and Japanese kana, from the block ranges of the Unicode Standard (chapter 6 onwards, and the
// Scripts.txt data file); digits, punctuation, symbols, spaces and U+FFFD belong to none.
// Combining marks (accents, vowel signs, kana voicing marks) are reported separately: they
// continue the word they follow. This is a coarse table, not the full Script property: the
// reward only needs to tell the scripts of mixed-language text apart.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace rlft {

enum class script : std::uint16_t {
  none = 0,
  latin = 1 << 0,
  greek = 1 << 1,
  cyrillic = 1 << 2,
  hebrew = 1 << 3,
  arabic = 1 << 4,
  devanagari = 1 << 5,
  hangul = 1 << 6,
  han = 1 << 7,
  kana = 1 << 8,  // hiragana and katakana
};

// A set of scripts: script::han | script::kana is "Japanese".
struct script_set {
  std::uint16_t bits = 0;
  constexpr script_set() = default;
  constexpr script_set(script s) : bits(static_cast<std::uint16_t>(s)) {}  // NOLINT: implicit on purpose
  constexpr bool contains(script s) const { return (bits & static_cast<std::uint16_t>(s)) != 0; }
  friend constexpr script_set operator|(script_set a, script_set b) {
    script_set both;
    both.bits = static_cast<std::uint16_t>(a.bits | b.bits);
    return both;
  }
};

constexpr script_set operator|(script a, script b) { return script_set(a) | script_set(b); }

namespace detail {

struct code_point_range {
  char32_t first;
  char32_t last;
};

constexpr bool in_ranges(char32_t c, std::initializer_list<code_point_range> ranges) {
  for (const auto& range : ranges)
    if (c >= range.first && c <= range.last) return true;
  return false;
}

}  // namespace detail

// The script of a letter, or script::none.
constexpr script script_of(char32_t c) {
  using detail::in_ranges;
  if (c < 0x80) return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? script::latin : script::none;
  if (in_ranges(c, {{0xAA, 0xAA}, {0xBA, 0xBA}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x2AF},
                    {0x1D00, 0x1D7F}, {0x1E00, 0x1EFF}, {0x2C60, 0x2C7F}, {0xA720, 0xA7FF},
                    {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}}))
    return script::latin;
  if (in_ranges(c, {{0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x386, 0x386}, {0x388, 0x3FF},
                    {0x1F00, 0x1FFF}}))
    return script::greek;
  if (in_ranges(c, {{0x400, 0x482}, {0x48A, 0x52F}, {0x1C80, 0x1C8F}, {0xA640, 0xA66E}, {0xA680, 0xA69D}}))
    return script::cyrillic;
  if (in_ranges(c, {{0x5D0, 0x5EA}, {0x5EF, 0x5F2}, {0xFB1D, 0xFB4F}})) return script::hebrew;
  if (in_ranges(c, {{0x620, 0x64A}, {0x66E, 0x66F}, {0x671, 0x6D3}, {0x6D5, 0x6D5}, {0x6EE, 0x6EF},
                    {0x6FA, 0x6FF}, {0x750, 0x77F}, {0x8A0, 0x8C9}, {0xFB50, 0xFDFB}, {0xFE70, 0xFEFC}}))
    return script::arabic;
  if (in_ranges(c, {{0x904, 0x939}, {0x93D, 0x93D}, {0x950, 0x950}, {0x958, 0x961}, {0x971, 0x97F}}))
    return script::devanagari;
  if (in_ranges(c, {{0x1100, 0x11FF}, {0x3131, 0x318E}, {0xA960, 0xA97C}, {0xAC00, 0xD7A3}, {0xD7B0, 0xD7FB}}))
    return script::hangul;
  if (in_ranges(c, {{0x3005, 0x3005}, {0x3007, 0x3007}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF},
                    {0x20000, 0x2A6DF}, {0x2A700, 0x2EBEF}, {0x2F800, 0x2FA1F}, {0x30000, 0x3134F}}))
    return script::han;
  if (in_ranges(c, {{0x3041, 0x3096}, {0x309D, 0x309F}, {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, {0x31F0, 0x31FF},
                    {0xFF66, 0xFF9D}}))
    return script::kana;
  return script::none;
}

// Combining marks that belong to the word before them.
constexpr bool is_combining_mark(char32_t c) {
  return detail::in_ranges(c, {{0x300, 0x36F}, {0x483, 0x489}, {0x591, 0x5C7}, {0x64B, 0x65F}, {0x670, 0x670},
                               {0x900, 0x903}, {0x93A, 0x94F}, {0x951, 0x957}, {0x962, 0x963}, {0x1AB0, 0x1AFF},
                               {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0x2DE0, 0x2DFF}, {0x3099, 0x309A},
                               {0xFE20, 0xFE2F}});
}

// Scripts written without spaces between words: each of their letters counts as one word.
constexpr bool is_written_without_spaces(script s) { return s == script::han || s == script::kana; }

}  // namespace rlft
