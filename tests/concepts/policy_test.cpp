// rlft::policy: the unigram test policy satisfies it (and works: its backward pass agrees with
// finite differences, it generates reproducibly and round-trips through save/load); types
// that miss one requirement each do not.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "unigram_policy.hpp"

using rlft_test::unigram_policy;

namespace {

// Inverse-CDF draw from softmax(logits).
struct categorical_sampler {
  rlft::sampled_token operator()(std::span<const float> logits, std::span<const rlft::token_id>,
                                 rlft::philox_stream& rng) const {
    double total = 0.0;
    for (const float x : logits) total += std::exp(x);
    const double u = rng.uniform() * total;
    double cumulative = 0.0;
    std::size_t k = 0;
    for (; k + 1 < logits.size(); ++k) {
      cumulative += std::exp(logits[k]);
      if (u < cumulative) break;
    }
    const float logprob = static_cast<float>(logits[k] - std::log(total));
    return {static_cast<rlft::token_id>(k), logprob, logprob};
  }
};

// Each type below is a unigram_policy with one requirement broken.
struct cannot_backpropagate {
  void log_probs(rlft::token_sequences_view, std::span<float>);
  std::vector<rlft::parameter_ref> parameters();
  template <rlft::sampler S>
  rlft::rollout_batch generate(rlft::token_sequences_view, std::size_t, const S&,
                               const rlft::generation_options&);
  void save(const std::filesystem::path&) const;
  void load(const std::filesystem::path&);
};

struct generates_bare_tokens : unigram_policy {
  using unigram_policy::unigram_policy;
  template <rlft::sampler S>
  std::vector<rlft::token_id> generate(rlft::token_sequences_view, std::size_t, const S&,
                                       const rlft::generation_options&);
};

struct cannot_be_snapshotted : unigram_policy {
  using unigram_policy::unigram_policy;
  std::unique_ptr<int> device_handle;
};

struct hides_its_parameters : unigram_policy {
  using unigram_policy::unigram_policy;
  int parameters() { return 0; }
};

// The unigram policy plus per-token entropy (a unigram model's entropy is the same everywhere).
struct reports_entropy_too : unigram_policy {
  using unigram_policy::unigram_policy;
  using unigram_policy::backward;
  using unigram_policy::log_probs;
  void log_probs(rlft::token_sequences_view, std::span<float>, std::span<float>) const;
  void backward(rlft::token_sequences_view, std::span<const float>, std::span<const float>);
};

}  // namespace

static_assert(rlft::policy<unigram_policy>);
static_assert(!rlft::reports_entropy<unigram_policy>);
static_assert(!rlft::entropy_policy<unigram_policy>);
static_assert(rlft::reports_entropy<reports_entropy_too>);
static_assert(rlft::entropy_policy<reports_entropy_too>);
static_assert(!rlft::entropy_policy<cannot_backpropagate>);
static_assert(!rlft::backpropagates_log_prob_gradients<cannot_backpropagate>);
static_assert(!rlft::policy<cannot_backpropagate>);
static_assert(!rlft::generates_rollouts<generates_bare_tokens>);
static_assert(!rlft::policy<generates_bare_tokens>);
static_assert(!rlft::snapshots<cannot_be_snapshotted>);
static_assert(!rlft::policy<cannot_be_snapshotted>);
static_assert(!rlft::exposes_parameters<hides_its_parameters>);
static_assert(!rlft::policy<int>);

namespace {

rlft::token_sequences two_sequences() {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>{0, 1, 2, 1});
  sequences.push_back(std::vector<rlft::token_id>{3, 3});
  return sequences;
}

double weighted_log_likelihood(const unigram_policy& policy, const rlft::token_sequences& sequences,
                               const std::vector<float>& weights) {
  std::vector<float> logprobs(sequences.num_tokens());
  policy.log_probs(sequences, logprobs);
  double total = 0.0;
  for (std::size_t t = 0; t < logprobs.size(); ++t) total += weights[t] * logprobs[t];
  return total;
}

}  // namespace

TEST_CASE("the test policy's backward pass agrees with central finite differences") {
  unigram_policy policy({0.1f, -0.4f, 0.7f, 0.2f});
  const auto sequences = two_sequences();
  const std::vector<float> weights{0.0f, 0.5f, -1.0f, 2.0f, 0.0f, 1.5f};

  std::vector<float> logprobs(sequences.num_tokens());
  policy.log_probs(sequences, logprobs);
  policy.zero_grad();
  policy.backward(sequences, weights);
  const auto parameter = policy.parameters()[0];
  CHECK(parameter.name == "logits");

  const float step = 1e-2f;
  for (std::size_t j = 0; j < parameter.values.size(); ++j) {
    const float saved = parameter.values[j];
    parameter.values[j] = saved + step;
    const double plus = weighted_log_likelihood(policy, sequences, weights);
    parameter.values[j] = saved - step;
    const double minus = weighted_log_likelihood(policy, sequences, weights);
    parameter.values[j] = saved;
    CHECK(parameter.gradients[j] == doctest::Approx((plus - minus) / (2 * step)).epsilon(1e-3));
  }
}

TEST_CASE("the test policy generates reproducible groups and snapshots independently") {
  unigram_policy policy({0.0f, 1.0f, 2.0f, -1.0f});
  rlft::token_sequences prompts;
  prompts.push_back(std::vector<rlft::token_id>{0});
  prompts.push_back(std::vector<rlft::token_id>{1, 1});
  const std::vector<rlft::token_id> stop{3};
  const rlft::generation_options options{.max_new_tokens = 5, .stop_tokens = stop, .seed = 9};

  const auto batch = policy.generate(prompts, 3, categorical_sampler{}, options);
  CHECK(batch.num_groups() == 2);
  CHECK(batch.group_size(1) == 3);
  CHECK(batch.prompt_length(4) == 2);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    CHECK(batch.completion_length(s) >= 1);
    CHECK(batch.completion_length(s) <= 5);
    CHECK(static_cast<bool>(batch.truncated()[s]) == (batch.completion(s).back() != 3));
  }
  // Sampling log-probs equal the policy's own log-probs of the drawn tokens.
  std::vector<float> logprobs(batch.num_tokens());
  policy.log_probs(batch.sequences(), logprobs);
  for (std::size_t t = 0; t < batch.num_tokens(); ++t)
    if (batch.loss_mask()[t]) CHECK(batch.sampling_logprobs()[t] == doctest::Approx(logprobs[t]));

  const auto again = policy.generate(prompts, 3, categorical_sampler{}, options);
  CHECK(std::ranges::equal(again.tokens(), batch.tokens()));

  unigram_policy reference = policy;
  policy.parameters()[0].values[2] = -5.0f;
  CHECK(reference.parameters()[0].values[2] == 2.0f);
}

TEST_CASE("the test policy round-trips through save and load, and rejects a bad file") {
  const auto directory = std::filesystem::temp_directory_path() / "rlft_policy_concept_test";
  std::filesystem::create_directories(directory);
  unigram_policy saved({0.25f, -1.5f, 3.0f});
  saved.save(directory);
  unigram_policy loaded({0.0f, 0.0f, 0.0f});
  loaded.load(directory);
  CHECK(loaded.parameters()[0].values[1] == -1.5f);

  unigram_policy wrong_size({0.0f, 0.0f});
  CHECK_THROWS_AS(wrong_size.load(directory), rlft::io_error);
  CHECK(wrong_size.parameters()[0].values[0] == 0.0f);  // nothing half-loaded
  std::filesystem::remove_all(directory);
}
