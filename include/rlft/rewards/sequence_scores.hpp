// The score of each sequence under a reward model: the rlft::value_model's value at the
// sequence's last token (InstructGPT's reward model, arXiv 2203.02155, section 3.5; transformers'
// ForSequenceClassification pools the same token). Shared by the reward-model trainer and
// rlft::learned_reward.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "rlft/concepts/value_model.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/token_sequences.hpp"

namespace rlft {

// Caches the model's activations, so backward_values() may follow with dL/d(value) on the last
// tokens. Throws rlft::error for a wrong output size or an empty sequence.
template <value_model Model>
void score_sequences(Model& model, token_sequences_view sequences, std::span<float> scores) {
  if (scores.size() != sequences.size())
    throw error(detail::make_message("score_sequences: ", scores.size(), " scores for ", sequences.size(), " sequences"));
  std::vector<float> values(sequences.num_tokens());
  model.values(sequences, values);
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    if (sequences.length(s) == 0)
      throw error(detail::make_message("score_sequences: sequence ", s, " is empty and has no score"));
    scores[s] = values[sequences.end(s) - 1];
  }
}

}  // namespace rlft
