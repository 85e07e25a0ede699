// Compile-time composition of samplers. The algebra: a sampler is a chain of logit
// processors (rlft::logit_processor) followed by one draw.
//
//     temperature{0.6f} | top_p{0.95f}           // divide by 0.6, keep the 95% nucleus, draw
//     repetition_penalty{1.1f} | top_k{40} | temperature{0.8f}
//     temperature{0.7f} | greedy{}               // the argmax (probability 1)
//
// `a | b` runs a, then b, on the candidate set (rlft::candidate_logits); chains flatten into one
// rlft::sampling_pipeline<Stages...> whose stages are held by value and called directly, with
// no virtual dispatch. Every processor is also a sampler on its own (a chain of one). The draw
// that ends every chain is the exponential race of <rlft/sampling/exponential_race.hpp>: it
// samples softmax over the surviving candidates; after `greedy` only one survives.
//
// Order matters and is the user's: stages run left to right (HF transformers and vLLM apply
// penalties, then temperature, then top-k, top-p, min-p). The result reports the token's
// log-probability under the distribution actually sampled from and under softmax of the raw
// logits (for importance-sampling correction between the sampler and the trained policy).
//
// Cost per row of V logits: one pass to validate and copy, one pass per stage over the
// current candidates (truncations shrink them), one race over the survivors (one Philox
// block per 4 dense entries or per sparse candidate), and one pass for the raw normaliser.
// The working arrays live in a thread-local rlft::candidate_logits, reused across calls.
//
// Bad input throws: rlft::data_error for a NaN or +inf logit or every logit −inf, rlft::error
// for an empty row or invalid stage parameters. A row with a single finite logit yields that
// token with log-probabilities 0 under both distributions.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rlft/concepts/sampler.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/sampling/candidate_logits.hpp"
#include "rlft/sampling/exponential_race.hpp"
#include "rlft/sampling/max_and_flaws.hpp"
#include "rlft/sampling/row_errors.hpp"

namespace rlft {
namespace detail {

inline candidate_logits& thread_candidates() {
  thread_local candidate_logits candidates;
  return candidates;
}

// Validates one row of raw logits and returns its maximum. Throws rlft::error on an empty row,
// rlft::data_error on NaN or +inf, or when every entry is −inf.
inline float checked_row_max(std::span<const float> logits) {
  if (logits.empty()) throw error("sampler: empty row of logits");
  const float_scan scan = max_and_flaws(logits.data(), logits.size());
  if (scan.has_nan_or_positive_infinity) {
    for (std::size_t i = 0; i < logits.size(); ++i)
      if (std::isnan(logits[i]) || logits[i] == std::numeric_limits<float>::infinity())
        throw data_error(bad_logit_message(i, logits[i]));
  }
  if (scan.max == -std::numeric_limits<float>::infinity())
    throw data_error(all_negative_infinity_message(logits.size()));
  return scan.max;
}

template <logit_processor... Stages>
sampled_token sample_through(std::span<const float> logits, std::span<const token_id> history,
                             const philox_stream& rng, const Stages&... stages) {
  const float raw_max = checked_row_max(logits);
  candidate_logits& candidates = thread_candidates();
  candidates.assign(logits);
  (stages.apply(candidates, history), ...);
  const race_winner winner = run_exponential_race(candidates, rng);
  const double raw_total = sum_exp(logits, raw_max);
  const auto token = static_cast<std::size_t>(winner.token);
  return {.token = winner.token,
          .logprob = winner.logprob,
          .raw_logprob = static_cast<float>(static_cast<double>(logits[token] - raw_max) -
                                            std::log(raw_total))};
}

}  // namespace detail

template <logit_processor... Stages>
struct sampling_pipeline {
  std::tuple<Stages...> stages = {};

  void apply(candidate_logits& candidates, std::span<const token_id> history) const {
    std::apply([&](const auto&... stage) { (stage.apply(candidates, history), ...); }, stages);
  }

  sampled_token operator()(std::span<const float> logits, std::span<const token_id> history,
                           philox_stream& rng) const {
    return std::apply(
        [&](const auto&... stage) { return detail::sample_through(logits, history, rng, stage...); },
        stages);
  }
};

namespace detail {

template <class T>
struct is_sampling_pipeline : std::false_type {};
template <class... Stages>
struct is_sampling_pipeline<sampling_pipeline<Stages...>> : std::true_type {};

// The stages of a processor as a tuple: a pipeline's own, or the processor alone.
template <logit_processor Processor>
auto stages_of(const Processor& processor) {
  if constexpr (is_sampling_pipeline<Processor>::value)
    return processor.stages;
  else
    return std::tuple<Processor>(processor);
}

template <class... Stages>
sampling_pipeline<Stages...> pipeline_from_tuple(std::tuple<Stages...> stages) {
  return {std::move(stages)};
}

}  // namespace detail

// a | b: run a, then b. Chains flatten: (a | b) | c is sampling_pipeline<A, B, C>.
template <logit_processor First, logit_processor Second>
auto operator|(const First& first, const Second& second) {
  return detail::pipeline_from_tuple(std::tuple_cat(detail::stages_of(first), detail::stages_of(second)));
}

}  // namespace rlft
