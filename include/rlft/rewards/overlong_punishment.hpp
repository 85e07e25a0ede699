// DAPO's soft overlong punishment (Yu et al., "DAPO: an open-source LLM reinforcement
// learning system at scale", arXiv 2503.14476, equation 13): a length-aware penalty that
// grows linearly over the last `cache_length` tokens before `max_length`, so that truncated
// samples are not punished abruptly:
//     R(|y|) = 0                                   if |y| ≤ L_max − L_cache
//            = ((L_max − L_cache) − |y|) / L_cache if L_max − L_cache < |y| ≤ L_max
//            = −1                                  if |y| > L_max
// |y| is the completion's token count (its byte count when no tokens are given, which is the
// token count of a byte- or character-level tokenizer). DAPO uses L_max = 20480, L_cache = 4096.
// Options outside 0 < L_cache ≤ L_max throw rlft::error.
#pragma once

#include <cstddef>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/core/error.hpp"

namespace rlft {

// The length the length-based rewards measure.
inline std::size_t completion_length(const reward_input& input) {
  return input.completion_tokens.empty() ? input.completion.size() : input.completion_tokens.size();
}

struct soft_overlong_punishment {
  std::size_t max_length = 20480;   // L_max
  std::size_t cache_length = 4096;  // L_cache

  float operator()(const reward_input& input) const {
    if (cache_length == 0 || cache_length > max_length)
      throw error(detail::make_message("soft_overlong_punishment: cache length ", cache_length,
                                       " must be in [1, max length ", max_length, "]"));
    const std::size_t length = completion_length(input);
    const std::size_t safe = max_length - cache_length;
    if (length <= safe) return 0.0f;
    if (length > max_length) return -1.0f;
    return -static_cast<float>(static_cast<double>(length - safe) / static_cast<double>(cache_length));
  }
};

}  // namespace rlft
