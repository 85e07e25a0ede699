// What every built-in task produces, and how the train and held-out splits are kept apart:
// a problem belongs to the held-out split when a hash of its question falls below the
// held-out share, so the two splits are disjoint for every seed and every task setting, and a
// model evaluated on held-out problems has never been trained on one of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rlft/core/error.hpp>

namespace rlft::tasks {

enum class split : std::uint32_t { train = 0, held_out = 1 };

struct problem {
  std::string question;   // e.g. "345+78"
  std::string answer;     // the reference answer, e.g. "423"
  std::string reasoning;  // a solver-written chain of thought ending in the answer
};

// Languages the solvers can write their reasoning in. `mixed` switches language from step to
// step, the way DeepSeek-R1-Zero's chains of thought mixed languages.
enum class reasoning_language { english, japanese, russian, mixed };

// Connective words of the written methods, per language.
struct phrase_book {
  std::string_view carry, borrow, so;
};
inline constexpr phrase_book english_phrases{"carry", "borrow", "so"};
inline constexpr phrase_book japanese_phrases{"繰り上がり", "借り", "よって"};
inline constexpr phrase_book russian_phrases{"перенос", "заём", "итого"};

// Every non-ASCII character the phrase books use (for the tokenizer's alphabet).
inline std::string phrase_characters() {
  std::string all;
  for (const auto& book : {japanese_phrases, russian_phrases})
    for (const auto word : {book.carry, book.borrow, book.so}) all += word;
  return all;
}

// A fixed, portable 64-bit hash, so split membership never changes: FNV-1a over the bytes,
// then the splitmix64 finaliser (Steele, Lea and Flood, OOPSLA 2014), without which the high
// bits of FNV-1a barely move for strings of a few characters ("3+4", "7-2").
constexpr std::uint64_t question_hash(std::string_view text) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ull;
  hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebull;
  return hash ^ (hash >> 31);
}

inline split split_of(std::string_view question, double held_out_share) {
  const double position = static_cast<double>(question_hash(question) >> 11) * 0x1.0p-53;
  return position < held_out_share ? split::held_out : split::train;
}

inline void check_held_out_share(double held_out_share) {
  if (!(held_out_share > 0.0 && held_out_share < 1.0))
    throw error(detail::make_message("held-out share must be in (0, 1), not ", held_out_share));
}

}  // namespace rlft::tasks
