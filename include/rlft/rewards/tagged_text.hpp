// Reading the R1 template out of model output: the tags (configurable), tagged blocks,
// tag counts, the chain-of-thought span and \boxed{…} groups. Everything works on
// std::string_view, never throws and never reads outside the text, whatever the model wrote
// (unclosed or nested tags, stray braces, invalid UTF-8: tags are plain byte strings).
//
// The template is DeepSeek-R1-Zero's (arXiv 2501.12948, table 1):
//     <think> reasoning process here </think> <answer> answer here </answer>
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rlft {

struct r1_tags {
  std::string think_open = "<think>";
  std::string think_close = "</think>";
  std::string answer_open = "<answer>";
  std::string answer_close = "</answer>";
};

// Where a completion's text sits relative to the template.
struct r1_template {
  r1_tags tags = {};
  // The prompt ends with the opening think tag (as R1-Zero's template does), so the completion
  // starts inside the chain of thought and must not repeat the tag.
  bool prompt_opens_think = false;
};

// A tagged block: the content between an opening and a closing tag, and where the whole
// block (tags included) ends.
struct tagged_block {
  std::string_view content = {};
  std::size_t end = 0;
};

constexpr bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `text` without its leading and trailing ASCII whitespace (model output is otherwise kept
// byte for byte: no Unicode normalisation).
constexpr std::string_view trim_whitespace(std::string_view text) {
  while (!text.empty() && is_ascii_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

// Non-overlapping occurrences of `needle` (0 for an empty needle).
constexpr std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size()))
    ++count;
  return count;
}

// Every complete block of `text`, left to right. A block closes at the first closing tag and
// opens at the last opening tag before it, so "<a>x<a>y</a>" holds the block "y" and an
// unclosed tag holds none.
inline std::vector<tagged_block> tagged_blocks(std::string_view text, std::string_view open,
                                               std::string_view close) {
  std::vector<tagged_block> blocks;
  if (open.empty() || close.empty()) return blocks;
  std::size_t from = 0;
  while (from < text.size()) {
    const std::size_t close_at = text.find(close, from);
    if (close_at == std::string_view::npos) break;
    // Only this window is searched, so the whole scan stays linear in the text.
    const std::size_t open_in_window = text.substr(from, close_at - from).rfind(open);
    if (open_in_window != std::string_view::npos) {
      const std::size_t content_at = from + open_in_window + open.size();
      blocks.push_back({text.substr(content_at, close_at - content_at), close_at + close.size()});
    }
    from = close_at + close.size();
  }
  return blocks;
}

// The chain of thought: the text after the opening think tag (or from the start when the
// prompt opened it) up to the closing tag, or to the end when it never closes. Without any
// think tag (and a prompt that did not open one) the whole completion.
inline std::string_view chain_of_thought(std::string_view completion, const r1_template& layout) {
  std::size_t start = 0;
  if (!layout.prompt_opens_think) {
    const std::size_t open_at = completion.find(layout.tags.think_open);
    if (open_at != std::string_view::npos) start = open_at + layout.tags.think_open.size();
  }
  const std::size_t close_at = completion.find(layout.tags.think_close, start);
  return completion.substr(start, close_at == std::string_view::npos ? std::string_view::npos : close_at - start);
}

// The content of every \boxed{…} (and \fbox{…}) group with balanced braces, left to right;
// an unbalanced group holds none. Escaped braces (\{, \}) do not count. O(n): one pass
// matches all braces first, so many unclosed groups cost no rescans.
inline std::vector<std::string_view> boxed_groups(std::string_view text) {
  // closing[i]: the position of the brace closing the one opened at i (npos: none).
  std::vector<std::size_t> closing(text.size(), std::string_view::npos);
  std::vector<std::size_t> open_braces;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // skip the escaped character
    } else if (text[i] == '{') {
      open_braces.push_back(i);
    } else if (text[i] == '}' && !open_braces.empty()) {
      closing[open_braces.back()] = i;
      open_braces.pop_back();
    }
  }
  std::vector<std::string_view> groups;
  for (std::size_t at = text.find('\\'); at != std::string_view::npos; at = text.find('\\', at + 1)) {
    for (const std::string_view command : {std::string_view("\\boxed{"), std::string_view("\\fbox{")}) {
      if (text.substr(at, command.size()) != command) continue;
      const std::size_t brace = at + command.size() - 1;
      if (closing[brace] != std::string_view::npos)
        groups.push_back(text.substr(brace + 1, closing[brace] - brace - 1));
    }
  }
  return groups;
}

}  // namespace rlft
