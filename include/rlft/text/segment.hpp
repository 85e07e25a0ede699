// A piece of the text on its way to the tokenizer's model: its text as normalized and
// pre-tokenized so far, whether it begins at the start of the input (the one fact about
// offsets that changes ids: Metaspace's prepend_scheme "first" asks it), and the id of the added
// token it is, if it is one (added tokens skip normalization, pre-tokenization and the model).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/core/token_sequences.hpp"

namespace rlft::text {

struct segment {
  std::string text;
  bool at_input_start = false;
  std::optional<token_id> token = std::nullopt;
};

using segments = std::vector<segment>;

// `prefix` followed by `text` (the prepending the pre-tokenizers and normalizers do).
inline std::string prefixed(std::string_view prefix, const std::string& text) {
  std::string out;
  out.reserve(prefix.size() + text.size());
  out.append(prefix);
  out.append(text);
  return out;
}

}  // namespace rlft::text
