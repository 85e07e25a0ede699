// Format reward for the R1-Zero template (DeepSeek-R1 report, arXiv 2501.12948, section
// 2.2.2: "a format reward model that enforces the model to put its thinking process between
// '<think>' and '</think>' tags"), with configurable tags and three modes:
//   strict     1 when the whole completion, up to surrounding whitespace, is
//              <think>…</think> (whitespace) <answer>…</answer> with every tag exactly once and
//              a non-blank answer; otherwise 0;
//   lenient    1 when a think block is followed, anywhere later, by an answer block with a
//              non-blank answer; text around them and extra tags are tolerated;
//   tag_count  0.25 for each of the four tags that occurs exactly once (partial credit that
//              guides a model towards the template early in training).
// With r1_template::prompt_opens_think the prompt already ended with the opening think tag:
// the completion must not repeat it (tag_count expects it zero times).
// Unclosed, nested, repeated or reordered tags fail strict mode; nothing here throws.
#pragma once

#include <cstddef>
#include <string_view>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/rewards/tagged_text.hpp"

namespace rlft {

enum class format_mode { strict, lenient, tag_count };

struct format_reward {
  format_mode mode = format_mode::strict;
  r1_template layout = {};

  float operator()(const reward_input& input) const {
    switch (mode) {
      case format_mode::strict: return strict(input.completion) ? 1.0f : 0.0f;
      case format_mode::lenient: return lenient(input.completion) ? 1.0f : 0.0f;
      case format_mode::tag_count: return tag_count(input.completion);
    }
    return 0.0f;
  }

 private:
  std::size_t expected_think_opens() const { return layout.prompt_opens_think ? 0 : 1; }

  bool strict(std::string_view completion) const {
    const r1_tags& tags = layout.tags;
    if (count_occurrences(completion, tags.think_open) != expected_think_opens() ||
        count_occurrences(completion, tags.think_close) != 1 || count_occurrences(completion, tags.answer_open) != 1 ||
        count_occurrences(completion, tags.answer_close) != 1)
      return false;
    std::string_view text = trim_whitespace(completion);
    if (!layout.prompt_opens_think) {
      if (!text.starts_with(tags.think_open)) return false;
      text.remove_prefix(tags.think_open.size());
    }
    const std::size_t think_close_at = text.find(tags.think_close);
    std::string_view after_think = trim_whitespace(text.substr(think_close_at + tags.think_close.size()));
    if (!after_think.starts_with(tags.answer_open) || !after_think.ends_with(tags.answer_close)) return false;
    after_think.remove_prefix(tags.answer_open.size());
    after_think.remove_suffix(tags.answer_close.size());
    return !trim_whitespace(after_think).empty();
  }

  bool lenient(std::string_view completion) const {
    const r1_tags& tags = layout.tags;
    std::size_t at = 0;
    if (!layout.prompt_opens_think) {
      at = completion.find(tags.think_open);
      if (at == std::string_view::npos) return false;
      at += tags.think_open.size();
    }
    at = completion.find(tags.think_close, at);
    if (at == std::string_view::npos) return false;
    at = completion.find(tags.answer_open, at + tags.think_close.size());
    if (at == std::string_view::npos) return false;
    const std::size_t content_at = at + tags.answer_open.size();
    const std::size_t close_at = completion.find(tags.answer_close, content_at);
    if (close_at == std::string_view::npos) return false;
    return !trim_whitespace(completion.substr(content_at, close_at - content_at)).empty();
  }

  float tag_count(std::string_view completion) const {
    const r1_tags& tags = layout.tags;
    float score = 0.0f;
    score += count_occurrences(completion, tags.think_open) == expected_think_opens() ? 0.25f : 0.0f;
    score += count_occurrences(completion, tags.think_close) == 1 ? 0.25f : 0.0f;
    score += count_occurrences(completion, tags.answer_open) == 1 ? 0.25f : 0.0f;
    score += count_occurrences(completion, tags.answer_close) == 1 ? 0.25f : 0.0f;
    return score;
  }
};

}  // namespace rlft
