// Prompts and their reference answers, as trainers, evaluation and rejection sampling take
// them (rlft::prompt_source yields them).
#pragma once

#include <string>
#include <vector>

#include "rlft/core/token_sequences.hpp"

namespace rlft {

struct prompt_batch {
  token_sequences prompts;
  std::vector<std::string> references;  // one per prompt: what the rewards compare with
};

}  // namespace rlft
