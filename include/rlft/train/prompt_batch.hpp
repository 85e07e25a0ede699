// Prompts and their reference answers, as trainers, evaluation and rejection sampling take
// them, and the prompt_source concept: where a trainer draws the prompts of each step from.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <vector>

#include "rlft/core/token_sequences.hpp"

namespace rlft {

struct prompt_batch {
  token_sequences prompts;
  std::vector<std::string> references;  // one per prompt: what the rewards compare with
};

// source(count) returns the next `count` prompts of a run.
template <class S>
concept prompt_source = requires(S& source, std::size_t count) {
  { source(count) } -> std::convertible_to<prompt_batch>;
};

}  // namespace rlft
