// A complete, minimal rlft::policy for tests: a unigram language model whose only parameters
// are one logit per vocabulary entry, so log π(token) = θ_token − logsumexp(θ) whatever the
// context. Small enough to check its backward pass by finite differences.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"

namespace rlft_test {

class unigram_policy {
 public:
  explicit unigram_policy(std::vector<float> logits)
      : logits_(std::move(logits)), gradients_(logits_.size(), 0.0f) {}

  void log_probs(rlft::token_sequences_view sequences, std::span<float> out) const {
    const float normaliser = log_normaliser();
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      out[sequences.begin(s)] = 0.0f;
      for (std::size_t t = 1; t < sequences.length(s); ++t)
        out[sequences.begin(s) + t] = logits_[static_cast<std::size_t>(sequences[s][t])] - normaliser;
    }
  }

  // d log π(k) / dθ_j = 1[j = k] − softmax(θ)_j.
  void backward(rlft::token_sequences_view sequences, std::span<const float> dlogp) {
    const float normaliser = log_normaliser();
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      for (std::size_t t = 1; t < sequences.length(s); ++t) {
        const float upstream = dlogp[sequences.begin(s) + t];
        gradients_[static_cast<std::size_t>(sequences[s][t])] += upstream;
        for (std::size_t j = 0; j < logits_.size(); ++j)
          gradients_[j] -= upstream * std::exp(logits_[j] - normaliser);
      }
    }
  }

  void zero_grad() { std::fill(gradients_.begin(), gradients_.end(), 0.0f); }

  std::array<rlft::parameter_ref, 1> parameters() { return {{{"logits", logits_, gradients_}}}; }

  template <rlft::sampler Sampler>
  rlft::rollout_batch generate(rlft::token_sequences_view prompts, std::size_t completions_per_prompt,
                               const Sampler& sampler, const rlft::generation_options& options) const {
    rlft::token_sequences sequences;
    std::vector<std::int64_t> prompt_lengths;
    std::vector<float> sampling_logprobs;
    std::vector<std::uint8_t> truncated;
    std::uint64_t stream = options.first_stream;
    for (const rlft::token_id token : prompts.tokens())
      if (token < 0 || static_cast<std::size_t>(token) >= logits_.size())
        throw rlft::error("unigram policy: prompt token " + std::to_string(token) + " is outside the vocabulary");
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      for (std::size_t c = 0; c < completions_per_prompt; ++c, ++stream) {
        std::vector<rlft::token_id> tokens(prompts[p].begin(), prompts[p].end());
        sampling_logprobs.resize(sampling_logprobs.size() + tokens.size(), 0.0f);
        bool stopped = false;
        for (std::uint32_t step = 0; step < options.max_new_tokens && !stopped; ++step) {
          rlft::philox_stream rng(options.seed, stream, step);
          const rlft::sampled_token drawn = sampler(logits_, tokens, rng);
          tokens.push_back(drawn.token);
          sampling_logprobs.push_back(drawn.logprob);
          stopped = std::find(options.stop_tokens.begin(), options.stop_tokens.end(), drawn.token) !=
                    options.stop_tokens.end();
        }
        sequences.push_back(tokens);
        prompt_lengths.push_back(static_cast<std::int64_t>(prompts[p].size()));
        truncated.push_back(!stopped);
      }
    }
    auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths),
                                                      completions_per_prompt);
    std::copy(sampling_logprobs.begin(), sampling_logprobs.end(), batch.sampling_logprobs().begin());
    std::copy(truncated.begin(), truncated.end(), batch.truncated().begin());
    return batch;
  }

  void save(const std::filesystem::path& directory) const {
    std::ofstream file(directory / "unigram.txt");
    file.precision(9);
    for (const float x : logits_) file << x << '\n';
    if (!file) throw rlft::io_error("unigram policy: cannot write " + (directory / "unigram.txt").string());
  }

  void load(const std::filesystem::path& directory) {
    std::ifstream file(directory / "unigram.txt");
    std::vector<float> logits;
    for (float x; file >> x;) logits.push_back(x);
    if (!file.eof() || logits.size() != logits_.size())
      throw rlft::io_error("unigram policy: " + (directory / "unigram.txt").string() +
                           " does not hold " + std::to_string(logits_.size()) + " logits");
    logits_ = std::move(logits);
  }

 private:
  float log_normaliser() const {
    const float top = *std::max_element(logits_.begin(), logits_.end());
    float sum = 0.0f;
    for (const float x : logits_) sum += std::exp(x - top);
    return top + std::log(sum);
  }

  std::vector<float> logits_;
  std::vector<float> gradients_;
};

// The unigram policy's tokens as text for rewards: tokens as digits, {0, 2, 3} → "023".
struct digits_decoder {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const auto t : tokens) text += static_cast<char>('0' + t);
    return text;
  }
};

}  // namespace rlft_test
