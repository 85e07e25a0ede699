// rlft::learned_reward: a score model as a reward that scores a completion alike alone, in a
// batch and from several threads, normalises and penalises as configured, and composes with a
// rule reward in score_rollouts, which scores the model's leaf in one batch and gives score()'s
// totals bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/rewards/composition.hpp"
#include "rlft/rewards/learned_reward.hpp"
#include "rlft/rewards/score_rollouts.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_head;

namespace {

transformer small_reward_model() {
  return transformer({.model_type = "llama", .head = transformer_head::score, .vocab_size = 32, .hidden_size = 16,
                      .intermediate_size = 32, .num_layers = 1, .num_heads = 2, .num_kv_heads = 1, .head_dim = 8,
                      .attention_bias = false},
                     /*seed=*/11);
}

// Eight completions of two prompts, token ids below 32; completion 5 hit the length limit.
rlft::rollout_batch small_batch() {
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (std::size_t i = 0; i < 8; ++i) {
    std::vector<rlft::token_id> tokens = {static_cast<rlft::token_id>(1 + i / 4), 2};
    for (std::size_t t = 0; t < 2 + i % 5; ++t) tokens.push_back(static_cast<rlft::token_id>((7 * i + 3 * t) % 32));
    sequences.push_back(tokens);
    prompt_lengths.push_back(2);
  }
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths), 4);
  batch.truncated()[5] = 1;
  return batch;
}

std::vector<rlft::reward_input> inputs_of(const rlft::rollout_batch& batch) {
  std::vector<rlft::reward_input> inputs;
  for (std::size_t s = 0; s < batch.num_sequences(); ++s)
    inputs.push_back({.prompt_tokens = batch.prompt(s),
                      .completion_tokens = batch.completion(s),
                      .truncated = batch.truncated()[s] != 0});
  return inputs;
}

struct letters_decoder {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const auto t : tokens) text += static_cast<char>('a' + t % 26);
    return text;
  }
};

}  // namespace

static_assert(rlft::batched_reward_function<rlft::learned_reward<transformer>>);

TEST_CASE("learned reward: alone, in batches of any size and from several threads, one completion scores the same") {
  const auto batch = small_batch();
  const auto inputs = inputs_of(batch);
  auto model = small_reward_model();
  // The reference: the model's value at each sequence's last token.
  std::vector<float> expected(inputs.size());
  rlft::score_sequences(model, batch.sequences(), expected);

  const rlft::learned_reward whole(model), in_threes(model, {.sequences_per_batch = 3});
  std::vector<float> batched(inputs.size()), by_threes(inputs.size()), alone(inputs.size()), threaded(inputs.size());
  whole.score_batch(inputs, batched);
  in_threes.score_batch(inputs, by_threes);
  for (std::size_t i = 0; i < inputs.size(); ++i) alone[i] = whole(inputs[i]);
  const auto copy = whole;  // shares the model
  rlft::parallel_for(inputs.size(), [&](std::size_t i) { threaded[i] = copy(inputs[i]); }, rlft::costly_iterations);
  for (const auto* scores : {&batched, &by_threes, &alone, &threaded})
    CHECK(std::memcmp(scores->data(), expected.data(), expected.size() * sizeof(float)) == 0);
}

TEST_CASE("learned reward: normalisation, the truncation penalty and the statistics it is set from") {
  const auto batch = small_batch();
  const auto inputs = inputs_of(batch);
  const rlft::learned_reward raw(small_reward_model());
  const auto statistics = raw.statistics(inputs);
  std::vector<float> plain(inputs.size()), normalised(inputs.size());
  raw.score_batch(inputs, plain);
  double sum = 0.0;
  for (const float s : plain) sum += s;
  CHECK(statistics.mean == doctest::Approx(sum / 8.0));
  CHECK(statistics.standard_deviation > 0.0);

  const rlft::learned_reward scaled(small_reward_model(),
                                    {.mean = static_cast<float>(statistics.mean),
                                     .standard_deviation = static_cast<float>(statistics.standard_deviation),
                                     .truncation_penalty = 2.0f});
  scaled.score_batch(inputs, normalised);
  double normalised_sum = 0.0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const float expected = (plain[i] - static_cast<float>(statistics.mean)) /
                               static_cast<float>(statistics.standard_deviation) -
                           (i == 5 ? 2.0f : 0.0f);
    CHECK(normalised[i] == expected);
    normalised_sum += normalised[i] + (i == 5 ? 2.0f : 0.0f);
  }
  CHECK(normalised_sum == doctest::Approx(0.0).epsilon(1e-5).scale(1.0));

  // Scoring only the completion, through options.tokens.
  const rlft::learned_reward completion_only(
      small_reward_model(), {.tokens = [](const rlft::reward_input& input) {
        return std::vector<rlft::token_id>(input.completion_tokens.begin(), input.completion_tokens.end());
      }});
  auto model = small_reward_model();
  rlft::token_sequences completions;
  for (const auto& input : inputs) completions.push_back(input.completion_tokens);
  std::vector<float> expected(inputs.size()), got(inputs.size());
  rlft::score_sequences(model, completions.view(), expected);
  completion_only.score_batch(inputs, got);
  CHECK(got == expected);
}

TEST_CASE("learned reward composes with a rule reward in score_rollouts; its totals are score()'s") {
  auto batch = small_batch();
  const auto length = [](const rlft::reward_input& input) { return 0.1f * static_cast<float>(input.completion.size()); };
  const auto reward = rlft::component("quality", rlft::learned_reward(small_reward_model())) +
                      0.5f * rlft::component("length", length);
  const std::vector<std::string> references = {"", ""};
  rlft::score_rollouts(batch, reward, letters_decoder{}, references);
  const auto& table = batch.rewards();
  const auto quality = table.component(*table.find("quality"));
  const auto total = table.total();
  const auto inputs = inputs_of(batch);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    CAPTURE(s);
    const std::string completion = letters_decoder{}(batch.completion(s));
    auto input = inputs[s];
    input.completion = completion;
    std::vector<float> leaves(2);
    const float expected = reward.score(input, leaves);
    CHECK(quality[s] == leaves[0]);
    CHECK(total[s] == expected);
  }
}

TEST_CASE("learned reward: bad options and inputs are refused with a message naming them") {
  using rlft::testing::error_message;
  CHECK(error_message([] { rlft::learned_reward(small_reward_model(), {.sequences_per_batch = 0}); }) ==
        "learned_reward: option sequences_per_batch = 0 is out of range (>= 1)");
  CHECK(error_message([] { rlft::learned_reward(small_reward_model(), {.standard_deviation = 0.0f}); }) ==
        "learned_reward: option standard_deviation = 0 is out of range (finite and > 0)");
  const rlft::learned_reward reward(small_reward_model());
  const rlft::reward_input empty{};
  CHECK(error_message([&] { reward(empty); }) == "learned_reward: input 0 has no tokens to score");
  const std::vector<rlft::token_id> outside = {40};
  CHECK(error_message([&] { reward({.completion_tokens = outside}); }) ==
        "transformer: token 0 has id 40 outside the vocabulary of 32");
  CHECK(error_message([&] { (void)reward.statistics({}); }) == "learned_reward: statistics need at least one input");
}
