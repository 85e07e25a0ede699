// rlft::critic: values in the batch's layout (V_t read at position t − 1), fitting them to
// fixed returns lowers the value loss, micro-batches give the whole batch's update, and PPO
// runs in grpo_trainer with the critic beside the policy — a checkpoint saves and resumes it.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "error_message.hpp"
#include "model_parameters.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/critic.hpp"
#include "train/trainer_test_support.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_head;

namespace {

transformer small_critic_model() {
  return transformer({.model_type = "llama", .head = transformer_head::score, .vocab_size = 4, .hidden_size = 16,
                      .intermediate_size = 32, .num_layers = 1, .num_heads = 2, .num_kv_heads = 1, .head_dim = 8,
                      .attention_bias = false},
                     /*seed=*/21);
}

// Six sequences of prompt [0] and completions of tokens 1..3, lengths 2 to 5.
rlft::rollout_batch critic_batch() {
  rlft::token_sequences sequences;
  for (std::size_t i = 0; i < 6; ++i) {
    std::vector<rlft::token_id> tokens = {0};
    for (std::size_t t = 0; t < 2 + i % 4; ++t) tokens.push_back(static_cast<rlft::token_id>(1 + (i + t) % 3));
    sequences.push_back(tokens);
  }
  return rlft::rollout_batch::with_group_size(std::move(sequences), std::vector<std::int64_t>(6, 1), 3);
}

std::vector<float> returns_for(const rlft::rollout_batch& batch) {
  std::vector<float> returns(batch.num_tokens(), 0.0f);
  for (std::size_t t = 0; t < returns.size(); ++t)
    if (batch.loss_mask()[t]) returns[t] = batch.tokens()[t] == 2 ? 1.0f : -0.5f;
  return returns;
}

}  // namespace

TEST_CASE("critic: V_t is the model's value at position t − 1") {
  auto model = small_critic_model();
  rlft::critic critic(model, {}, rlft_test::constant_learning_rate(1e-3f));
  auto batch = critic_batch();
  critic.estimate_values(batch);
  std::vector<float> read(batch.num_tokens());
  auto reference = small_critic_model();
  reference.values(batch.sequences(), read);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    CHECK(batch.values()[batch.sequence_begin(s)] == 0.0f);
    for (std::size_t t = batch.sequence_begin(s) + 1; t < batch.sequence_end(s); ++t) CHECK(batch.values()[t] == read[t - 1]);
  }
}

TEST_CASE("critic: fitting lowers the value error; micro-batches give the whole batch's update") {
  const auto fit = [](std::size_t micro_batch_tokens, std::size_t steps) {
    auto model = small_critic_model();
    rlft::critic critic(model, {.inner_iterations = 2, .mini_batches = 2, .micro_batch_tokens = micro_batch_tokens},
                        rlft_test::constant_learning_rate(1e-2f));
    std::vector<double> errors;
    for (std::size_t step = 0; step < steps; ++step) {
      auto batch = critic_batch();
      critic.estimate_values(batch);
      const auto metrics = critic.train(batch, returns_for(batch));
      CHECK(metrics.updates == 4);
      errors.push_back(metrics.value_error);
    }
    return std::pair{rlft_test::parameters_of(model), errors};
  };
  const auto [fitted, errors] = fit(8192, 15);
  MESSAGE("mean squared value error ", errors.front(), " -> ", errors.back());
  CHECK(errors.back() < 0.5 * errors.front());
  const auto [whole, unused] = fit(8192, 1);
  const auto [micro, unused_too] = fit(5, 1);
  double largest = 0.0;
  for (std::size_t i = 0; i < whole.size(); ++i) largest = std::max(largest, double{std::abs(whole[i] - micro[i])});
  CHECK(largest < 1e-5);  // the same updates, gradients summed in another order
}

TEST_CASE("PPO: the critic trains beside the policy in grpo_trainer and resumes from a checkpoint") {
  rlft_test::unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto model = small_critic_model();
  rlft::critic critic(model, {}, rlft_test::constant_learning_rate(1e-2f));
  auto options = rlft_test::small_grpo_options();
  options.reference_logprobs = false;
  auto trainer = rlft::grpo_trainer(policy, rlft::temperature{1.0f}, rlft_test::finds_two, rlft_test::digits_decoder{},
                                    rlft::gae_advantage{.gamma = 1.0, .lambda = 0.95},
                                    rlft::clipped_surrogate_objective{}, options,
                                    rlft_test::constant_learning_rate(0.05f));
  rlft_test::cycling_prompts prompts;
  // Without a critic the values are missing (NaN): GAE refuses the step.
  const auto without = trainer.step(prompts);
  CHECK_FALSE(without.applied);
  trainer.set_critic(critic);
  double first_error = 0.0, last_error = 0.0;
  for (int step = 0; step < 12; ++step) {
    const auto metrics = trainer.step(prompts);
    REQUIRE(metrics.applied);
    CHECK(metrics.critic.updates == 1);
    (step == 0 ? first_error : last_error) = metrics.critic.value_error;
  }
  MESSAGE("critic value error ", first_error, " -> ", last_error);
  CHECK(last_error < first_error);

  const auto root = std::filesystem::temp_directory_path() / "rlft_critic_checkpoint";
  std::filesystem::remove_all(root);
  rlft::checkpoint_directory checkpoints(root);
  trainer.save_checkpoint(checkpoints);
  const auto saved = rlft_test::parameters_of(model);
  trainer.step(prompts);  // moves the critic on
  auto resumed_model = small_critic_model();
  rlft::critic resumed_critic(resumed_model, {}, rlft_test::constant_learning_rate(1e-2f));
  trainer.set_critic(resumed_critic);
  trainer.resume(*checkpoints.latest(), prompts);
  CHECK(rlft_test::parameters_of(resumed_model) == saved);
  std::filesystem::remove_all(root);
}

TEST_CASE("PPO with dynamic sampling: every round's groups get values before GAE marks the ones to drop") {
  rlft_test::unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto model = small_critic_model();
  rlft::critic critic(model, {}, rlft_test::constant_learning_rate(1e-2f));
  auto options = rlft_test::small_grpo_options();
  options.max_sampling_rounds = 3;
  auto trainer = rlft::grpo_trainer(policy, rlft::temperature{1.0f}, rlft_test::finds_two, rlft_test::digits_decoder{},
                                    rlft::gae_advantage{.equal_rewards = rlft::equal_reward_policy::drop},
                                    rlft::clipped_surrogate_objective{}, options,
                                    rlft_test::constant_learning_rate(0.05f));
  trainer.set_critic(critic);
  rlft_test::cycling_prompts prompts{.pattern = "10"};  // half the prompts can never be rewarded
  for (int step = 0; step < 4; ++step) {
    const auto metrics = trainer.step(prompts);
    CAPTURE(metrics.skipped_because);
    REQUIRE(metrics.applied);
    CHECK(metrics.critic.updates == 1);
  }
}

TEST_CASE("critic: an estimator without returns, bad options and bad returns are refused by name") {
  rlft_test::unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto model = small_critic_model();
  rlft::critic critic(model, {}, rlft_test::constant_learning_rate(1e-2f));
  auto trainer = rlft::grpo_trainer(policy, rlft::temperature{1.0f}, rlft_test::finds_two, rlft_test::digits_decoder{},
                                    rlft::grpo_advantage{}, rlft::clipped_surrogate_objective{},
                                    rlft_test::small_grpo_options(), rlft_test::constant_learning_rate(0.05f));
  using rlft::testing::error_message;
  CHECK(error_message([&] { trainer.set_critic(critic); }) ==
        "grpo_trainer: a critic needs an estimator that gives returns (grpo advantage does not; use "
        "rlft::gae_advantage)");
  CHECK(error_message([&] { rlft::critic(model, {.mini_batches = 0}, rlft_test::constant_learning_rate(1e-2f)); }) ==
        "critic: option mini_batches = 0 is out of range (>= 1)");
  auto batch = critic_batch();
  critic.estimate_values(batch);
  CHECK(error_message([&] { critic.train(batch, std::vector<float>(3)); }) == "critic: 3 returns for a batch of 25 tokens");
}
