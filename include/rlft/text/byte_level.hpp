// GPT-2's byte-level alphabet (Radford et al. 2019, the encoder of its public release), which
// byte-level BPE tokenizers (GPT-2, Qwen2, Llama-3, DeepSeek-V3, SmolLM2) apply before merging:
// every byte becomes one printable character, so the model's vocabulary spells any byte string
// and never needs an unknown token. The 188 printable bytes 0x21..0x7E, 0xA1..0xAC and
// 0xAE..0xFF stand for themselves; the others, in ascending order, take U+0100 onwards (a space,
// 0x20, becomes U+0120 'Ġ').
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rlft/text/utf8.hpp"

namespace rlft::text {

namespace detail {

struct byte_level_alphabet {
  std::array<char32_t, 256> of_byte{};
  std::array<int, 0x144> byte_of{};  // -1 for characters outside the alphabet (every one is below U+0144)

  constexpr byte_level_alphabet() {
    byte_of.fill(-1);
    const auto printable = [](unsigned b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    unsigned next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      of_byte[b] = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      byte_of[of_byte[b]] = static_cast<int>(b);
    }
  }
};

inline constexpr byte_level_alphabet byte_level{};

}  // namespace detail

// Each byte of `bytes` as its alphabet character, in UTF-8.
inline std::string to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char b : bytes) append_utf8(detail::byte_level.of_byte[static_cast<std::uint8_t>(b)], out);
  return out;
}

// The bytes a token spelled in the alphabet stands for, or nothing when one of its characters is
// outside the alphabet (an added token such as "<|im_end|> " keeps its own text).
inline std::optional<std::string> from_byte_level(std::string_view token) {
  std::string bytes;
  bool inside = true;
  for_each_code_point(token, [&](char32_t c) {
    const int b = c < detail::byte_level.byte_of.size() ? detail::byte_level.byte_of[c] : -1;
    if (b < 0)
      inside = false;
    else
      bytes += static_cast<char>(b);
  });
  if (!inside) return std::nullopt;
  return bytes;
}

}  // namespace rlft::text
