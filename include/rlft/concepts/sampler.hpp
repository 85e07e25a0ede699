// rlft::sampler: what turns one row of logits into a token id. Samplers are value types that
// hold their parameters (temperature, top-p, ...); all randomness comes from the Philox stream
// the caller passes, keyed by (seed, sequence, step), so a draw never depends on batch
// composition, order or thread count.
//
// A type S is a sampler when
//   1. it is copy-constructible (copies go to worker threads and into composed samplers);
//   2. a const S is callable as s(logits, history, rng) with
//        std::span<const float>    logits   one row of raw logits, one entry per vocabulary id,
//        std::span<const token_id> history  the tokens so far (for repetition penalties),
//        rlft::philox_stream&      rng      the random stream of this draw;
//   3. the call returns rlft::sampled_token: the token id, its log-probability under the
//      distribution actually sampled from (after temperature, truncation and penalties) and
//      under the plain softmax of the raw logits. Both are needed for importance-sampling
//      correction between the sampling and the training distributions.
#pragma once

#include <concepts>
#include <span>

#include "rlft/core/philox.hpp"
#include "rlft/core/token_sequences.hpp"

namespace rlft {

struct sampled_token {
  token_id token = 0;
  float logprob = 0.0f;      // log q(token): the distribution sampled from
  float raw_logprob = 0.0f;  // log softmax(raw logits)[token]
};

template <class S>
concept sampler_parameters = std::copy_constructible<S>;

template <class S>
concept draws_token_from_logits =
    requires(const S& s, std::span<const float> logits, std::span<const token_id> history,
             philox_stream& rng) {
      { s(logits, history, rng) } -> std::same_as<sampled_token>;
    };

template <class S>
concept sampler = sampler_parameters<S> && draws_token_from_logits<S>;

namespace detail {

// The least a sampler can be; concepts that take "any sampler" are checked against it.
struct sampler_archetype {
  sampled_token operator()(std::span<const float>, std::span<const token_id>, philox_stream&) const;
};
static_assert(sampler<sampler_archetype>);

}  // namespace detail
}  // namespace rlft
