// rlft::value_model: a model with a scalar head — a reward model, read at a sequence's last
// token (Ouyang et al., arXiv 2203.02155, section 3.5), or a critic, read at every token (PPO's
// value function). rlft's reward-model trainer and learned rewards only ask it for per-token
// values and hand it back dL/d(value), so the reference transformer with a score head
// (examples/) or a user's own model serves.
//
// A type M is a value model when
//   1. it computes values: m.values(sequences, out) writes one value per token of a
//      rlft::token_sequences_view into `out` (std::span<float>, one entry per token; entry t is
//      the value after reading tokens 0..t);
//   2. it back-propagates: m.backward_values(sequences, dvalues) accumulates into the parameter
//      gradients the effect of dL/d(value) (std::span<const float>, same layout) for the
//      sequences of its latest values call, and m.zero_grad() clears the gradients;
//   3. it exposes its parameters, snapshots and persists as an rlft::policy does.
#pragma once

#include <span>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/token_sequences.hpp"

namespace rlft {

template <class M>
concept computes_values = requires(M& m, token_sequences_view sequences, std::span<float> out) {
  m.values(sequences, out);
};

template <class M>
concept backpropagates_value_gradients =
    requires(M& m, token_sequences_view sequences, std::span<const float> dvalues) {
      m.backward_values(sequences, dvalues);
      m.zero_grad();
    };

template <class M>
concept value_model =
    computes_values<M> && backpropagates_value_gradients<M> && exposes_parameters<M> && snapshots<M> && persists<M>;

}  // namespace rlft
