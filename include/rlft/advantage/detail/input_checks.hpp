// The checks every advantage estimator runs before it writes anything: option ranges, the
// length of the output spans, finite outcome rewards. Each failure is an rlft::error whose
// message starts with the estimator's name and names the offending option, sequence or token.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <span>
#include <string_view>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"

namespace rlft::detail {

inline void check_option(bool holds, std::string_view estimator, std::string_view option,
                         double value, std::string_view requirement) {
  if (!holds)
    throw error(make_message(estimator, ": option ", option, " = ", value, " is out of range (",
                             requirement, ")"));
}

inline void check_token_span(const rollout_batch& batch, std::size_t size, std::string_view estimator,
                             std::string_view what) {
  if (size != batch.num_tokens())
    throw error(make_message(estimator, ": ", size, " ", what, " given for a batch of ",
                             batch.num_tokens(), " tokens"));
}

inline void check_finite_rewards(const rollout_batch& batch, std::string_view estimator) {
  const auto rewards = batch.rewards().total();
  for (std::size_t s = 0; s < rewards.size(); ++s)
    if (!std::isfinite(rewards[s]))
      throw error(make_message(estimator, ": reward of sequence ", s, " is ", rewards[s]));
}

// "No token": what a search for a non-finite per-token input returns when it finds none.
inline constexpr std::size_t no_bad_token = static_cast<std::size_t>(-1);

// The sequence that holds token t of the batch.
inline std::size_t sequence_of_token(const rollout_batch& batch, std::size_t t) {
  const auto offsets = batch.sequence_offsets();
  const auto after = std::upper_bound(offsets.begin(), offsets.end(), static_cast<std::int64_t>(t));
  return static_cast<std::size_t>(after - offsets.begin()) - 1;
}

}  // namespace rlft::detail
