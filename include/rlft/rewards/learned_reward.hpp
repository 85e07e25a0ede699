// A trained reward model as a reward: rlft::learned_reward makes any rlft::value_model an
// rlft::reward_function that also scores batches (rlft::batched_reward_function), so it
// composes with rule rewards the way DeepSeek-R1's final stage combined rule rewards for
// correctness with learned ones for general quality (arXiv 2501.12948, section 2.3.4):
//
//     const auto reward = component("accuracy", accuracy_reward{})
//                       + 0.5f * component("quality", learned_reward(std::move(reward_model)));
//
// A completion's score is the model's value at the last token of prompt + completion (or of
// the tokens options.tokens gives), normalised as (score − mean) / standard_deviation (the
// statistics of the reward model's scores, as OpenRLHF's normalize_reward keeps them), minus
// truncation_penalty for a completion cut at the length limit (TRL's missing_eos_penalty).
// score_batch packs sequences_per_batch sequences into one forward; the reference transformer's
// values do not depend on what else is in the batch, so a completion scores the same alone or
// in any batch. Copies of a learned_reward share one model behind a mutex: scoring is
// thread-safe, and concurrent calls take turns.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/value_model.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/rewards/sequence_scores.hpp"

namespace rlft {

struct learned_reward_options {
  std::size_t sequences_per_batch = 64;  // sequences per forward of score_batch
  float mean = 0.0f;                     // score = (value − mean) / standard_deviation − penalty
  float standard_deviation = 1.0f;
  float truncation_penalty = 0.0f;  // subtracted from a completion that hit the length limit
  // The tokens the model reads for an input; empty: the prompt's tokens, then the completion's.
  std::function<std::vector<token_id>(const reward_input&)> tokens = {};
};

// The mean and standard deviation of a batch of scores (population), for normalisation.
struct score_statistics {
  double mean = 0.0;
  double standard_deviation = 0.0;
};

template <value_model Model>
class learned_reward {
 public:
  // Throws rlft::error on out-of-range options.
  explicit learned_reward(Model model, learned_reward_options options = {})
      : shared_(std::make_shared<shared_model>(std::move(model))), options_(std::move(options)) {
    detail::check_option(options_.sequences_per_batch >= 1, "learned_reward", "sequences_per_batch",
                         static_cast<double>(options_.sequences_per_batch), ">= 1");
    detail::check_option(std::isfinite(options_.mean), "learned_reward", "mean", options_.mean, "finite");
    detail::check_option(std::isfinite(options_.standard_deviation) && options_.standard_deviation > 0.0f,
                         "learned_reward", "standard_deviation", options_.standard_deviation, "finite and > 0");
    detail::check_option(std::isfinite(options_.truncation_penalty), "learned_reward", "truncation_penalty",
                         options_.truncation_penalty, "finite");
  }

  float operator()(const reward_input& input) const {
    float score = 0.0f;
    score_batch(std::span(&input, 1), std::span(&score, 1));
    return score;
  }

  // Throws rlft::error for mismatched sizes or an input without tokens; the model's own errors
  // (a token outside its vocabulary) pass through.
  void score_batch(std::span<const reward_input> inputs, std::span<float> scores) const {
    raw_scores(inputs, scores);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      scores[i] = (scores[i] - options_.mean) / options_.standard_deviation -
                  (inputs[i].truncated ? options_.truncation_penalty : 0.0f);
  }

  // The model's values for `inputs` before normalisation and penalty, summarised: what
  // options.mean and options.standard_deviation are set from.
  score_statistics statistics(std::span<const reward_input> inputs) const {
    if (inputs.empty()) throw error("learned_reward: statistics need at least one input");
    std::vector<float> scores(inputs.size());
    raw_scores(inputs, scores);
    double sum = 0.0, squares = 0.0;
    for (const float s : scores) sum += s;
    const double mean = sum / static_cast<double>(scores.size());
    for (const float s : scores) squares += (s - mean) * (s - mean);
    return {mean, std::sqrt(squares / static_cast<double>(scores.size()))};
  }

  const learned_reward_options& options() const noexcept { return options_; }

 private:
  struct shared_model {
    explicit shared_model(Model m) : model(std::move(m)) {}
    Model model;
    std::mutex mutex;
  };

  std::vector<token_id> tokens_of(const reward_input& input) const {
    if (options_.tokens) return options_.tokens(input);
    std::vector<token_id> tokens(input.prompt_tokens.begin(), input.prompt_tokens.end());
    tokens.insert(tokens.end(), input.completion_tokens.begin(), input.completion_tokens.end());
    return tokens;
  }

  void raw_scores(std::span<const reward_input> inputs, std::span<float> scores) const {
    if (scores.size() != inputs.size())
      throw error(detail::make_message("learned_reward: ", scores.size(), " scores for ", inputs.size(), " inputs"));
    for (std::size_t first = 0; first < inputs.size(); first += options_.sequences_per_batch) {
      const std::size_t count = std::min(options_.sequences_per_batch, inputs.size() - first);
      token_sequences sequences;
      for (std::size_t i = first; i < first + count; ++i) {
        const auto tokens = tokens_of(inputs[i]);
        if (tokens.empty()) throw error(detail::make_message("learned_reward: input ", i, " has no tokens to score"));
        sequences.push_back(tokens);
      }
      const std::lock_guard lock(shared_->mutex);
      score_sequences(shared_->model, sequences.view(), scores.subspan(first, count));
    }
  }

  std::shared_ptr<shared_model> shared_;
  learned_reward_options options_;
};

}  // namespace rlft
