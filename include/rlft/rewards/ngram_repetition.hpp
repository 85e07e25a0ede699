// N-gram repetition penalty (Yeo et al., "Demystifying long chain-of-thought reasoning in
// LLMs", arXiv 2502.03373, section 4.2): the share of repeated n-grams, scaled by a negative
// maximum penalty,
//     R = max_penalty · (1 − distinct n-grams / all n-grams),
// 0 for a completion with fewer than n units and max_penalty for one that repeats a single
// n-gram forever. Units are whitespace-separated words, lower-cased in ASCII (as in the
// paper's code), or token ids. Counting is exact (n-grams are sorted and compared, not
// hashed): O(m log m · n) for m units. Options n = 0 or max_penalty > 0 throw rlft::error.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/core/error.hpp"
#include "rlft/rewards/tagged_text.hpp"

namespace rlft {

enum class repetition_unit { words, tokens };

namespace detail {

// The number of distinct length-n windows of `units` (n ≤ units.size()).
template <class Unit>
std::size_t distinct_ngrams(std::span<const Unit> units, std::size_t n) {
  std::vector<std::size_t> starts(units.size() - n + 1);
  std::iota(starts.begin(), starts.end(), std::size_t{0});
  const auto window = [&](std::size_t start) { return units.subspan(start, n); };
  std::sort(starts.begin(), starts.end(), [&](std::size_t a, std::size_t b) {
    const auto x = window(a), y = window(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
  });
  const auto same = [&](std::size_t a, std::size_t b) {
    const auto x = window(a), y = window(b);
    return std::equal(x.begin(), x.end(), y.begin());
  };
  return static_cast<std::size_t>(std::unique(starts.begin(), starts.end(), same) - starts.begin());
}

inline std::vector<std::string> lower_case_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && is_ascii_whitespace(text[at])) ++at;
    const std::size_t start = at;
    while (at < text.size() && !is_ascii_whitespace(text[at])) ++at;
    if (at == start) break;
    std::string word(text.substr(start, at - start));
    for (char& c : word)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace detail

struct ngram_repetition_penalty {
  std::size_t n = 3;
  float max_penalty = -1.0f;
  repetition_unit unit = repetition_unit::words;

  float operator()(const reward_input& input) const {
    if (n == 0) throw error("ngram_repetition_penalty: n must be at least 1");
    if (!(max_penalty <= 0.0f))
      throw error(detail::make_message("ngram_repetition_penalty: max penalty must be <= 0, got ", max_penalty));
    if (unit == repetition_unit::tokens) return penalty(input.completion_tokens);
    const auto words = detail::lower_case_words(input.completion);
    return penalty(std::span<const std::string>(words));
  }

 private:
  template <class Unit>
  float penalty(std::span<const Unit> units) const {
    if (units.size() < n) return 0.0f;
    const double total = static_cast<double>(units.size() - n + 1);
    const double distinct = static_cast<double>(detail::distinct_ngrams(units, n));
    return static_cast<float>(static_cast<double>(max_penalty) * (1.0 - distinct / total));
  }
};

}  // namespace rlft
