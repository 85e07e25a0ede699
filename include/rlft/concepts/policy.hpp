// rlft::policy: the model being trained. rlft's algorithms only ever ask a policy for
// per-token log-probs and hand it back per-token gradients (dL/d(log-prob)), so any model
// with these operations — the reference transformer in examples/, or a user's own — is
// trainable by every advantage estimator and objective.
//
// A type P is a policy when
//   1. it computes log-probs: p.log_probs(sequences, out) writes log p(token_t | tokens_<t)
//      for every token t > 0 of every sequence of a rlft::token_sequences_view into `out`
//      (std::span<float>, one entry per token of the view; entry 0 of each sequence is 0);
//   2. it back-propagates: p.backward(sequences, dlogp) accumulates into the parameter
//      gradients the effect of dL/d(log-prob) (std::span<const float>, same layout) for the
//      sequences of its latest log_probs call (so it may reuse cached activations), and
//      p.zero_grad() clears the accumulated gradients;
//   3. it exposes its parameters: p.parameters() is a range of rlft::parameter_ref (name,
//      values, gradients), which optimisers and reference-model mixing work on;
//   4. it generates: p.generate(prompts, completions_per_prompt, sampler, options) returns a
//      rlft::rollout_batch with one group per prompt, completions_per_prompt completions per
//      group, sampling log-probs and truncation flags filled in, for any rlft::sampler;
//   5. it snapshots: P is copyable, and a copy is an independent model (the reference policy;
//      refreshing it is an assignment);
//   6. it persists: p.save(directory) on a const P and p.load(directory).
//
// A policy P is an entropy_policy when it also
//   7. reports entropy: p.log_probs(sequences, logprobs, entropy) writes, besides the log-probs,
//      the entropy −Σ_v p(v | tokens_<t) log p(v | tokens_<t) of the distribution that predicts
//      token t (same layout; entry 0 of each sequence is 0), and p.backward(sequences, dlogp,
//      dentropy) back-propagates dL/d(entropy) together with dL/d(log-prob). Objectives with an
//      entropy bonus or an entropy metric need it.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ranges>
#include <span>
#include <string_view>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"

namespace rlft {

struct parameter_ref {
  std::string_view name = {};
  std::span<float> values = {};
  std::span<float> gradients = {};
};

struct generation_options {
  std::size_t max_new_tokens = 256;
  std::span<const token_id> stop_tokens = {};
  std::uint64_t seed = 0;
  // Philox stream of the first completion; completion i of the call draws from stream
  // first_stream + i, so ids stay unique across calls of one run.
  std::uint64_t first_stream = 0;
};

template <class P>
concept computes_log_probs = requires(P& p, token_sequences_view sequences, std::span<float> out) {
  p.log_probs(sequences, out);
};

template <class P>
concept backpropagates_log_prob_gradients =
    requires(P& p, token_sequences_view sequences, std::span<const float> dlogp) {
      p.backward(sequences, dlogp);
      p.zero_grad();
    };

template <class P>
concept exposes_parameters = requires(P& p) {
  { p.parameters() } -> std::ranges::input_range;
  requires std::convertible_to<std::ranges::range_value_t<decltype(p.parameters())>, parameter_ref>;
};

// What an optimiser update needs: the parameters and a way to clear their gradients (a policy,
// a value model).
template <class P>
concept trainable = exposes_parameters<P> && requires(P& p) { p.zero_grad(); };

template <class P>
concept generates_rollouts = requires(P& p, token_sequences_view prompts, std::size_t completions,
                                      const detail::sampler_archetype& sampler,
                                      const generation_options& options) {
  { p.generate(prompts, completions, sampler, options) } -> std::same_as<rollout_batch>;
};

template <class P>
concept snapshots = std::copyable<P>;

template <class P>
concept persists = requires(P& p, const P& const_p, const std::filesystem::path& directory) {
  const_p.save(directory);
  p.load(directory);
};

template <class P>
concept policy = computes_log_probs<P> && backpropagates_log_prob_gradients<P> &&
                 exposes_parameters<P> && generates_rollouts<P> && snapshots<P> && persists<P>;

template <class P>
concept reports_entropy =
    requires(P& p, token_sequences_view sequences, std::span<float> logprobs, std::span<float> entropy,
             std::span<const float> dlogp, std::span<const float> dentropy) {
      p.log_probs(sequences, logprobs, entropy);
      p.backward(sequences, dlogp, dentropy);
    };

template <class P>
concept entropy_policy = policy<P> && reports_entropy<P>;

}  // namespace rlft
