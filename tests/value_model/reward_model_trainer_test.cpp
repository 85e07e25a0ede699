// rlft::reward_model_trainer on the reference transformer with a score head: it learns a rule
// hidden in synthetic preference pairs (held-out pair accuracy from chance to near 1), one seed
// gives one model, micro-batches give the whole batch's update, and bad pairs or options are
// refused with a message naming them.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "error_message.hpp"
#include "model_parameters.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/train/reward_model_trainer.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_head;

namespace {

transformer tiny_score_model() {
  return transformer({.model_type = "qwen2", .head = transformer_head::score, .vocab_size = 16, .hidden_size = 32,
                      .intermediate_size = 64, .num_layers = 1, .num_heads = 4, .num_kv_heads = 2, .head_dim = 8},
                     /*seed=*/3);
}

// The hidden rule: a response that contains token 3 beats one that does not. Prompts and
// responses are otherwise random tokens from 4..15.
std::vector<rlft::preference_pair> synthetic_pairs(std::size_t count, std::uint64_t stream) {
  rlft::philox_stream rng(99, stream);
  const auto token = [&] { return static_cast<rlft::token_id>(4 + rng() % 12); };
  std::vector<rlft::preference_pair> pairs;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<rlft::token_id> prompt(2 + rng() % 3);
    for (auto& t : prompt) t = token();
    rlft::preference_pair pair{.chosen = prompt, .rejected = prompt};
    const std::size_t length = 3 + rng() % 4;
    for (std::size_t t = 0; t < length; ++t) {
      pair.chosen.push_back(token());
      pair.rejected.push_back(token());
    }
    pair.chosen[prompt.size() + rng() % length] = 3;
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

// A constant learning rate.
const rlft::policy_update_options update_options{
    .schedule = {.peak_learning_rate = 3e-3f, .final_learning_rate = 3e-3f, .warmup_steps = 0, .total_steps = 1}};

}  // namespace

TEST_CASE("reward model: held-out pair accuracy rises from chance to near 1 on a hidden rule") {
  auto model = tiny_score_model();
  const auto train = synthetic_pairs(128, 0), held_out = synthetic_pairs(64, 1);
  rlft::reward_model_trainer trainer(model, {.pairs_per_batch = 16, .epochs = 6, .seed = 5}, update_options);
  const auto before = trainer.evaluate(held_out);
  CHECK(before.pairs == 64);
  CHECK(before.accuracy < 0.75);
  std::size_t steps = 0;
  trainer.train(train, [&](const rlft::reward_model_metrics& metrics) {
    ++steps;
    CHECK(metrics.update.applied);
    CHECK(metrics.pairs == 16);
  });
  CHECK(steps == rlft::reward_model_trainer<transformer>::updates(train.size(), {.pairs_per_batch = 16, .epochs = 6}));
  const auto after = trainer.evaluate(held_out);
  MESSAGE("held-out accuracy ", before.accuracy, " -> ", after.accuracy, ", loss ", before.loss, " -> ", after.loss);
  CHECK(after.accuracy >= 0.9);
  CHECK(after.loss < before.loss);
  CHECK(after.mean_chosen > after.mean_rejected);
}

TEST_CASE("reward model: one seed gives one model, and micro-batches give the batch's update") {
  const auto pairs = synthetic_pairs(24, 2);
  const auto run = [&](std::size_t micro) {
    auto model = tiny_score_model();
    rlft::reward_model_trainer trainer(
        model, {.pairs_per_batch = 8, .pairs_per_micro_batch = micro, .epochs = 1, .seed = 7}, update_options);
    trainer.train(pairs, [](const rlft::reward_model_metrics&) {});
    return rlft_test::parameters_of(model);
  };
  const auto first = run(0), second = run(0), micro = run(3);
  CHECK(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)) == 0);
  double largest = 0.0;
  for (std::size_t i = 0; i < first.size(); ++i) largest = std::max(largest, double{std::abs(first[i] - micro[i])});
  CHECK(largest < 1e-5);  // the same update, its gradient summed in another order
}

TEST_CASE("reward model: bad pairs and options are refused with a message naming them") {
  auto model = tiny_score_model();
  using rlft::testing::error_message;
  CHECK(error_message([&] { rlft::reward_model_trainer(model, {.pairs_per_batch = 0}, update_options); })
             ==
        "reward model: option pairs_per_batch = 0 is out of range (>= 1)");
  rlft::reward_model_trainer trainer(model, {}, update_options);
  const auto noop = [](const rlft::reward_model_metrics&) {};
  CHECK(error_message([&] { trainer.train({}, noop); }) == "reward model: no preference pairs");
  auto pairs = synthetic_pairs(4, 3);
  pairs[2].rejected.clear();
  CHECK(error_message([&] { trainer.train(pairs, noop); }) == "reward model: pair 2 has an empty rejected sequence");
  pairs = synthetic_pairs(4, 3);
  pairs[1].margin = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(trainer.evaluate(pairs), rlft::data_error);
  pairs = synthetic_pairs(4, 3);
  const std::vector<std::size_t> outside = {0, 4};
  CHECK(error_message([&] { trainer.train_batch(pairs, outside); }) ==
        "reward model: pair index 4 is outside the 4 pairs");
  pairs[0].chosen[0] = 16;
  CHECK(error_message([&] { trainer.evaluate(pairs); }) ==
        "transformer: token 0 has id 16 outside the vocabulary of 16");
}
