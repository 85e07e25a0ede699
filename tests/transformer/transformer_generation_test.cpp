// Generation with the KV cache: the log-prob reported while sampling is bitwise the training
// forward's, greedy decoding follows the argmax of the full forward at every step, results do
// not depend on the thread count, and a copy is an independent snapshot.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "golden_fixture.hpp"
#include "test_samplers.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_config;

namespace {

transformer_config small_config() {
  return {.model_type = "qwen2", .vocab_size = 61, .hidden_size = 32, .intermediate_size = 72, .num_layers = 2,
          .num_heads = 4, .num_kv_heads = 2, .head_dim = 8, .rms_norm_eps = 1e-6f, .rope_theta = 10000.0f,
          .attention_bias = true, .tie_word_embeddings = true};
}

rlft::token_sequences three_prompts() {
  rlft::token_sequences prompts;
  prompts.push_back(std::vector<rlft::token_id>{1, 5, 9});
  prompts.push_back(std::vector<rlft::token_id>{7});
  prompts.push_back(std::vector<rlft::token_id>{3, 3, 40, 2, 11, 60, 0});
  return prompts;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("sampling log-probs equal the training forward's bit for bit") {
  // Golden weights: attention and softmax far from uniform, so a mismatch would show.
  auto model = transformer::from_pretrained(rlft_test::golden_directory("qwen2"));
  rlft::token_sequences prompts;
  prompts.push_back(std::vector<rlft::token_id>{1, 5, 9});
  prompts.push_back(std::vector<rlft::token_id>{300});
  prompts.push_back(std::vector<rlft::token_id>{3, 3, 40, 2, 11, 60, 0});
  const std::vector<rlft::token_id> stop{17, 211};
  const rlft::generation_options options{.max_new_tokens = 24, .stop_tokens = stop, .seed = 5, .first_stream = 100};
  const auto batch = model.generate(prompts, 4, rlft_test::categorical_sampler{}, options);

  REQUIRE(batch.num_groups() == 3);
  REQUIRE(batch.num_sequences() == 12);
  std::size_t generated = 0;
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    CHECK(std::ranges::equal(batch.prompt(s), prompts[s / 4]));
    CHECK(batch.completion_length(s) >= 1);
    CHECK(batch.completion_length(s) <= 24);
    const bool stopped = std::ranges::find(stop, batch.completion(s).back()) != stop.end();
    CHECK(static_cast<bool>(batch.truncated()[s]) == !stopped);
    if (!stopped) CHECK(batch.completion_length(s) == 24);
    generated += batch.completion_length(s);
  }
  CHECK(generated > 12);

  std::vector<float> logprobs(batch.num_tokens());
  model.log_probs(batch.sequences(), logprobs);
  std::size_t mismatches = 0;
  for (std::size_t t = 0; t < batch.num_tokens(); ++t)
    if (batch.loss_mask()[t] && !same_bits(batch.sampling_logprobs()[t], logprobs[t])) ++mismatches;
  CHECK(mismatches == 0);
}

TEST_CASE("greedy generation with the KV cache follows the argmax of the full forward at every step") {
  auto model = transformer::from_pretrained(rlft_test::golden_directory("llama"));
  rlft::token_sequences prompts;
  prompts.push_back(std::vector<rlft::token_id>{4, 8, 15, 16, 23, 42});
  prompts.push_back(std::vector<rlft::token_id>{99, 7});
  const auto batch = model.generate(prompts, 2, rlft_test::greedy_sampler{}, {.max_new_tokens = 20});
  const std::size_t vocab = model.config().vocab_size;
  std::vector<float> logits(batch.num_tokens() * vocab);
  model.logits(batch.sequences(), logits);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    CHECK(batch.truncated()[s] == 1);
    CHECK(batch.completion_length(s) == 20);
    for (std::size_t t = batch.prompt_length(s); t < batch.sequences().length(s); ++t) {
      const float* row = logits.data() + (batch.sequence_begin(s) + t - 1) * vocab;
      const auto argmax = std::max_element(row, row + vocab) - row;
      CHECK(batch.tokens(s)[t] == argmax);
    }
  }
  // Both completions of a prompt are the same greedy continuation.
  CHECK(std::ranges::equal(batch.tokens(0), batch.tokens(1)));
}

TEST_CASE("generation is reproducible and independent of the thread count") {
  transformer model(small_config(), 7);
  const auto prompts = three_prompts();
  const rlft::generation_options options{.max_new_tokens = 12, .seed = 11};
  const auto first = model.generate(prompts, 3, rlft_test::categorical_sampler{}, options);
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  const auto serial = model.generate(prompts, 3, rlft_test::categorical_sampler{}, options);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  CHECK(std::ranges::equal(first.tokens(), serial.tokens()));
  CHECK(std::ranges::equal(first.sampling_logprobs(), serial.sampling_logprobs()));

  const auto other_seed = model.generate(prompts, 3, rlft_test::categorical_sampler{}, {.max_new_tokens = 12, .seed = 12});
  CHECK(!std::ranges::equal(first.tokens(), other_seed.tokens()));
}

// Fails every completion at its third token, as a sampler fails on a NaN logit.
struct failing_sampler {
  rlft::sampled_token operator()(std::span<const float> logits, std::span<const rlft::token_id> history,
                                 rlft::philox_stream& rng) const {
    if (history.size() >= 9) throw rlft::data_error("sampler: a logit is nan");
    return rlft_test::categorical_sampler{}(logits, history, rng);
  }
};

TEST_CASE("a sampler's error reaches the caller from every decoding thread") {
  transformer model(small_config(), 7);
  const auto prompts = three_prompts();  // the longest prompt has 7 tokens
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
#ifdef _OPENMP
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
    // 12 completions: one decoder per thread from 2 threads on.
    CHECK_THROWS_WITH_AS(model.generate(prompts, 4, failing_sampler{}, {.max_new_tokens = 12, .seed = 3}),
                         doctest::Contains("a logit is nan"), rlft::data_error);
#ifdef _OPENMP
    omp_set_num_threads(before);
#endif
  }
}

TEST_CASE("a copy is an independent snapshot") {
  transformer model(small_config(), 3);
  transformer reference = model;
  const auto prompts = three_prompts();
  std::vector<float> before(prompts.num_tokens()), after(prompts.num_tokens()), snapshot(prompts.num_tokens());
  model.log_probs(prompts, before);
  for (auto& parameter : model.parameters())
    for (float& value : parameter.values) value *= 1.5f;
  model.log_probs(prompts, after);
  reference.log_probs(prompts, snapshot);
  CHECK(!std::ranges::equal(before, after));
  CHECK(std::ranges::equal(before, snapshot));
}

TEST_CASE("bad input is refused with rlft::error") {
  transformer model(small_config(), 1);
  rlft::token_sequences bad;
  bad.push_back(std::vector<rlft::token_id>{1, 61});
  std::vector<float> out(2);
  CHECK_THROWS_WITH_AS(model.log_probs(bad, out), doctest::Contains("outside the vocabulary"), rlft::error);
  const auto prompts = three_prompts();
  std::vector<float> short_output(prompts.num_tokens() - 1);
  CHECK_THROWS_AS(model.log_probs(prompts, short_output), rlft::error);
  std::vector<float> gradient(prompts.num_tokens());
  CHECK_THROWS_WITH_AS(model.backward(prompts, gradient), doctest::Contains("latest log_probs"), rlft::error);
  CHECK_THROWS_AS(model.generate(prompts, 0, rlft_test::greedy_sampler{}, {}), rlft::error);
  CHECK_THROWS_AS(model.generate(prompts, 1, rlft_test::greedy_sampler{}, {.max_new_tokens = 0}), rlft::error);
  const transformer_config uneven_groups{.num_heads = 3, .num_kv_heads = 2};
  CHECK_THROWS_AS(uneven_groups.validate(), rlft::error);
}
