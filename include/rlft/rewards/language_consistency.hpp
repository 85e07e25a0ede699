// Language-consistency reward (DeepSeek-R1 report, arXiv 2501.12948, section 2.3.2: "the
// proportion of target language words in the CoT"), added to the accuracy reward in R1's
// reasoning-oriented RL to stop the chain of thought from mixing languages.
//
// Score = (words written in the target scripts) / (all words) over the chain of thought (the
// think block, see rlft::chain_of_thought), in [0, 1]. A word is a maximal run of letters of
// one script, combining marks included (so "naïve" is one Latin word whichever way the ï is
// encoded); each Han or kana character is a word of its own, as those scripts put no spaces
// between words. Digits, punctuation, symbols and invalid UTF-8 (decoded as U+FFFD) separate
// words and count for nothing. A chain of thought without words scores `score_without_words`.
// The language is identified by its script (rlft::script_set): English, French and German
// are all Latin; Japanese is script::han | script::kana.
#pragma once

#include <cstddef>
#include <string_view>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/rewards/tagged_text.hpp"
#include "rlft/rewards/unicode_script.hpp"
#include "rlft/text/utf8.hpp"

namespace rlft {

struct word_counts {
  std::size_t in_target = 0;
  std::size_t total = 0;
};

// Words of `text` by the rule above.
inline word_counts count_words_in_scripts(std::string_view text, script_set target) {
  word_counts counts;
  script current = script::none;  // the script of the word being read
  for_each_code_point(text, [&](char32_t c) {
    if (current != script::none && is_combining_mark(c)) return;
    const script s = script_of(c);
    if (s != script::none && (s != current || is_written_without_spaces(s))) {
      ++counts.total;
      counts.in_target += target.contains(s) ? 1 : 0;
    }
    current = s;
  });
  return counts;
}

struct language_consistency_reward {
  script_set target = script::latin;
  r1_template layout = {};
  float score_without_words = 0.0f;

  float operator()(const reward_input& input) const {
    const word_counts counts = count_words_in_scripts(chain_of_thought(input.completion, layout), target);
    if (counts.total == 0) return score_without_words;
    return static_cast<float>(static_cast<double>(counts.in_target) / static_cast<double>(counts.total));
  }
};

}  // namespace rlft
