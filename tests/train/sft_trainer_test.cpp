// The SFT trainer on the unigram test policy (tests/concepts/unigram_policy.hpp), where
// log π(token) = θ_token − logsumexp(θ): the packing of examples into updates, the
// completion-only loss against its hand value, the update it makes, the epoch loop, and the
// errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "trainer_test_support.hpp"
#include "error_message.hpp"
#include "rlft/train/sft_trainer.hpp"

using rlft::testing::error_message;
using rlft_test::constant_learning_rate;
using rlft_test::probability_of;
using rlft_test::unigram_policy;

namespace {

// Prompts of token 0 only, completions of tokens 1 and 2: a loss that counted prompt tokens
// would raise the probability of token 0.
std::vector<rlft::sft_example> prompt_zero_examples() {
  return {{.tokens = {0, 0, 2, 2}, .prompt_length = 2},
          {.tokens = {0, 2, 1}, .prompt_length = 1},
          {.tokens = {0, 0, 0, 2, 2, 2}, .prompt_length = 3},
          {.tokens = {0, 1}, .prompt_length = 1},
          {.tokens = {0, 0, 2}, .prompt_length = 2}};
}

}  // namespace

TEST_CASE("sft packing: each example once per epoch, within the token budget, in an order fixed by seed and epoch") {
  std::vector<rlft::sft_example> examples;
  for (std::size_t length = 2; length <= 11; ++length)
    examples.push_back({.tokens = std::vector<rlft::token_id>(length, 1), .prompt_length = 1});
  examples.push_back({.tokens = std::vector<rlft::token_id>(20, 1), .prompt_length = 1});  // over the budget
  const std::size_t budget = 12;
  for (const std::size_t epoch : {0, 1}) {
    const auto batches = rlft::pack_sft_batches(examples, budget, 7, epoch);
    std::vector<std::size_t> seen;
    for (const auto& batch : batches) {
      std::size_t tokens = 0;
      for (const auto i : batch) tokens += examples[i].tokens.size();
      CHECK((tokens <= budget || batch.size() == 1));
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::ranges::sort(seen);
    std::vector<std::size_t> all(examples.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    CHECK(seen == all);
    CHECK(batches == rlft::pack_sft_batches(examples, budget, 7, epoch));
  }
  CHECK(rlft::pack_sft_batches(examples, budget, 7, 0) != rlft::pack_sft_batches(examples, budget, 7, 1));
  CHECK(rlft::pack_sft_batches(examples, budget, 7, 0) != rlft::pack_sft_batches(examples, budget, 8, 0));
}

TEST_CASE("sft step: the mean negative log-likelihood of the completion tokens, and an update that raises them") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  rlft::sft_trainer trainer(policy, {.tokens_per_batch = 64}, constant_learning_rate(0.1f));
  const auto examples = prompt_zero_examples();
  // Uniform over 4 tokens: every completion token costs log 4.
  CHECK(trainer.evaluate_loss(examples) == doctest::Approx(std::log(4.0)).epsilon(1e-6));
  const std::vector<std::size_t> first_two{0, 1};
  const auto metrics = trainer.train_batch(examples, first_two);
  CHECK(metrics.loss == doctest::Approx(std::log(4.0)).epsilon(1e-6));
  CHECK(metrics.examples == 2);
  CHECK(metrics.loss_tokens == 4);
  CHECK(metrics.step == 1);
  CHECK(metrics.update.applied);
  // Completion tokens 2, 2, 2, 1: token 2 gains most, the prompt's token 0 loses.
  CHECK(probability_of(policy, 2) > probability_of(policy, 1));
  CHECK(probability_of(policy, 1) > 0.25);
  CHECK(probability_of(policy, 0) < 0.25);
  // The validation loss reads the policy without changing it.
  const double after = trainer.evaluate_loss(examples);
  CHECK(after < std::log(4.0));
  CHECK(trainer.evaluate_loss(examples) == after);
  CHECK(trainer.update().updates() == 1);
}

TEST_CASE("sft step: a loss that is not finite skips the update and leaves the policy as it was") {
  unigram_policy policy({0.0f, 0.0f, -INFINITY, 0.0f});
  rlft::sft_trainer trainer(policy, {}, constant_learning_rate(0.1f));
  const auto examples = prompt_zero_examples();
  const std::vector<float> before(policy.parameters()[0].values.begin(), policy.parameters()[0].values.end());
  const std::vector<std::size_t> first{0};
  const auto metrics = trainer.train_batch(examples, first);
  CHECK(!std::isfinite(metrics.loss));
  CHECK(!metrics.update.applied);
  CHECK(metrics.update.skipped_because == "the loss is not finite");
  CHECK(std::ranges::equal(policy.parameters()[0].values, before));
  CHECK(std::ranges::all_of(policy.parameters()[0].gradients, [](float g) { return g == 0.0f; }));
}

TEST_CASE("sft train: every epoch runs the updates pack_sft_batches gives, and the loss falls") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  const rlft::sft_options options{.tokens_per_batch = 8, .epochs = 3, .seed = 3};
  rlft::sft_trainer trainer(policy, options, constant_learning_rate(0.05f));
  const auto examples = prompt_zero_examples();
  std::size_t completion_tokens = 0;
  for (const auto& e : examples) completion_tokens += e.tokens.size() - e.prompt_length;
  const double before = trainer.evaluate_loss(examples);

  std::vector<rlft::sft_step_metrics> steps;
  trainer.train(examples, [&](const rlft::sft_step_metrics& m) { steps.push_back(m); });
  // Epochs pack different shuffles: here 10 updates in all, 4 of them in the first epoch.
  const std::size_t updates = rlft::sft_trainer<unigram_policy>::updates(examples, options);
  CHECK(updates == 10);
  CHECK(rlft::pack_sft_batches(examples, options.tokens_per_batch, options.seed, 0).size() == 4);
  REQUIRE(steps.size() == updates);
  std::size_t step = 0;
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto batches = rlft::pack_sft_batches(examples, options.tokens_per_batch, options.seed, epoch);
    std::size_t examples_seen = 0, tokens_seen = 0;
    for (const auto& batch : batches) {
      REQUIRE(step < steps.size());
      const auto& m = steps[step++];
      CHECK(m.epoch == epoch);
      CHECK(m.step == step);
      CHECK(m.examples == batch.size());
      examples_seen += m.examples;
      tokens_seen += m.loss_tokens;
    }
    CHECK(examples_seen == examples.size());
    CHECK(tokens_seen == completion_tokens);
  }
  CHECK(step == steps.size());
  CHECK(trainer.evaluate_loss(examples) < before);
  CHECK(probability_of(policy, 0) < 0.25);
}

TEST_CASE("sft: malformed examples and options are named") {
  unigram_policy policy({0.0f, 0.0f});
  rlft::sft_trainer trainer(policy, {}, constant_learning_rate(0.1f));
  const auto ignore = [](const rlft::sft_step_metrics&) {};
  CHECK(error_message([&] { trainer.train({}, ignore); }) == "sft: no examples");
  const std::vector<rlft::sft_example> no_prompt{{.tokens = {0, 1, 1}, .prompt_length = 0}};
  CHECK(error_message([&] { trainer.train(no_prompt, ignore); }) ==
        "sft: example 0 has 3 tokens and prompt length 0; it needs a non-empty prompt and at least one completion token");
  const std::vector<rlft::sft_example> no_completion{{.tokens = {0, 1}, .prompt_length = 1},
                                                     {.tokens = {0, 1}, .prompt_length = 2}};
  CHECK(error_message([&] { trainer.evaluate_loss(no_completion); }).starts_with("sft: example 1 has 2 tokens"));
  CHECK(error_message([&] { rlft::pack_sft_batches(no_completion, 0, 0, 0); }) ==
        "sft: option tokens_per_batch = 0 is out of range (>= 1)");
  CHECK(trainer.update().updates() == 0);
  CHECK_THROWS_WITH_AS(rlft::sft_trainer(policy, {.gradient_shards = 3}, constant_learning_rate(0.1f)),
                       doctest::Contains("gradient_shards = 3 is out of range (a power of two >= the 1 ranks)"),
                       rlft::error);
}
