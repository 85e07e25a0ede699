// The UTF-8 decoder: every scalar value round-trips, and every kind of ill-formed input
// becomes U+FFFD per maximal subpart (Unicode section 3.9, table 3-8's example included).
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "rlft/text/utf8.hpp"

using rlft::replacement_character;

namespace {

std::string encode(char32_t c) {
  std::string out;
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
  return out;
}

std::vector<char32_t> decode_all(std::string_view text) {
  std::vector<char32_t> out;
  rlft::for_each_code_point(text, [&](char32_t c) { out.push_back(c); });
  return out;
}

}  // namespace

TEST_CASE("every Unicode scalar value round-trips") {
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const std::string bytes = encode(c);
    const auto decoded = rlft::decode_utf8(bytes, 0);
    if (decoded.code_point != c || decoded.length != bytes.size()) {
      FAIL("code point ", static_cast<unsigned>(c), " decoded as ", static_cast<unsigned>(decoded.code_point));
    }
  }
}

TEST_CASE("ill-formed sequences become one U+FFFD per maximal subpart") {
  constexpr char32_t bad = replacement_character;
  struct row {
    const char* name;
    std::string bytes;
    std::vector<char32_t> expected;
  };
  const std::vector<row> table{
      {"empty", "", {}},
      {"stray continuation byte", "\x80", {bad}},
      {"C0 and C1 leads (overlong 2-byte)", "\xC0\xAF\xC1\xBF", {bad, bad, bad, bad}},
      {"overlong 3-byte", "\xE0\x80\xAF", {bad, bad, bad}},
      {"overlong 4-byte", "\xF0\x80\x80\xAF", {bad, bad, bad, bad}},
      {"UTF-16 surrogate", "\xED\xA0\x80", {bad, bad, bad}},
      {"above U+10FFFF", "\xF4\x90\x80\x80", {bad, bad, bad, bad}},
      {"F5..FF leads", "\xF5\xFF", {bad, bad}},
      {"truncated 3-byte then ASCII", "\xE4\xBD" "a", {bad, U'a'}},
      {"truncated 4-byte at the end", "\xF0\x9F\x98", {bad}},
      {"lead interrupted by a lead", "\xE4\xC3\xA9", {bad, U'\u00E9'}},
      // The example of the Unicode Standard, table 3-8.
      {"table 3-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       {U'a', bad, bad, bad, U'b', bad, U'c', bad, bad, U'd'}},
      {"valid mix", "a\u00E9\u4E2D\U0001F600", {U'a', U'\u00E9', U'\u4E2D', U'\U0001F600'}},
  };
  for (const auto& [name, bytes, expected] : table) {
    CAPTURE(name);
    CHECK(decode_all(bytes) == expected);
  }
}
