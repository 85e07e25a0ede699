// Finding the final answer in a completion: the content of the answer block of the R1
// template, or of a \boxed{…} group (the convention of MATH and most math models), trimmed.
// With location tag_then_boxed (the default) an answer block wins; a \boxed{…} inside it is
// unwrapped; without a complete answer block the last \boxed{…} of the completion is used.
// When several answers are present, `several` chooses: the last one (what a reader takes as
// the final answer), or none at all (no hedging: the completion scores as wrong).
// No answer, or an empty one, is std::nullopt: the accuracy reward scores it as wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/rewards/tagged_text.hpp"

namespace rlft {

enum class answer_location { tag_then_boxed, tag, boxed };
enum class several_answers { use_last, reject };

struct answer_extraction {
  answer_location location = answer_location::tag_then_boxed;
  several_answers several = several_answers::use_last;
  std::string answer_open = "<answer>";
  std::string answer_close = "</answer>";

  std::optional<std::string_view> operator()(std::string_view completion) const {
    std::optional<std::string_view> answer;
    if (location != answer_location::boxed) {
      const auto blocks = tagged_blocks(completion, answer_open, answer_close);
      if (!blocks.empty()) {
        if (blocks.size() > 1 && several == several_answers::reject) return std::nullopt;
        answer = blocks.back().content;
        if (const auto boxed = boxed_groups(*answer); !boxed.empty()) {
          if (boxed.size() > 1 && several == several_answers::reject) return std::nullopt;
          answer = boxed.back();
        }
      }
    }
    if (!answer && location != answer_location::tag) {
      const auto boxed = boxed_groups(completion);
      if (boxed.empty() || (boxed.size() > 1 && several == several_answers::reject)) return std::nullopt;
      answer = boxed.back();
    }
    if (!answer) return std::nullopt;
    const std::string_view trimmed = trim_whitespace(*answer);
    if (trimmed.empty()) return std::nullopt;
    return trimmed;
  }
};

}  // namespace rlft
