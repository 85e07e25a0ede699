// The checks every advantage estimator runs before it writes anything: option ranges, the
// length of the output spans (rlft::error), finite outcome rewards (rlft::data_error). Each
// message starts with the estimator's name and names the offending option, sequence or token.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstddef>
#include <span>
#include <string_view>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

// The ε of the group-normalising estimators (GRPO, process supervision).
inline void check_epsilon(double epsilon, std::string_view estimator) {
  check_option(std::isfinite(epsilon) && epsilon >= 0.0, estimator, "epsilon", epsilon, "finite and >= 0");
}

inline void check_token_span(std::size_t batch_tokens, std::size_t size, std::string_view estimator,
                             std::string_view what) {
  if (size != batch_tokens)
    throw error(make_message(estimator, ": ", size, " ", what, " given for a batch of ", batch_tokens, " tokens"));
}

inline void check_token_span(const rollout_batch& batch, std::size_t size, std::string_view estimator,
                             std::string_view what) {
  check_token_span(batch.num_tokens(), size, estimator, what);
}

// rewards: one total reward per sequence (the CUDA estimators check a downloaded copy).
inline void check_finite_rewards(std::span<const float> rewards, std::string_view estimator) {
  for (std::size_t s = 0; s < rewards.size(); ++s)
    if (!std::isfinite(rewards[s]))
      throw data_error(make_message(estimator, ": reward of sequence ", s, " is ", rewards[s]));
}

inline void check_finite_rewards(const rollout_batch& batch, std::string_view estimator) {
  check_finite_rewards(batch.rewards().total(), estimator);
}

// "No token": what a search for a non-finite per-token input returns when it finds none.
inline constexpr std::size_t no_bad_token = static_cast<std::size_t>(-1);

}  // namespace rlft::detail
