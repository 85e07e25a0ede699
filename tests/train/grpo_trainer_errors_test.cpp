// The GRPO trainer's error tiers and the mistakes a new user makes: bad values in the data
// (rlft::data_error) skip a step and keep its metrics' shape; misuse (options, shapes, tokens
// outside the vocabulary) leaves step() at once; settings that can teach nothing are refused
// when the trainer is made.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "trainer_test_support.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/rewards/composition.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/grpo_trainer.hpp"

using doctest::Contains;
using rlft_test::cycling_prompts;
using rlft_test::digits_decoder;
using rlft_test::finds_two;
using rlft_test::small_grpo_options;
using rlft_test::unigram_policy;

namespace {

template <class Policy, class Reward, class Estimator = rlft::grpo_advantage,
          class Objective = rlft::clipped_surrogate_objective>
auto make_checked_trainer(Policy& policy, Reward reward, rlft::grpo_options options = small_grpo_options(),
                  Estimator estimator = {}, Objective objective = {}, rlft::policy_update_options update = {}) {
  update.schedule = {.peak_learning_rate = 0.05f, .final_learning_rate = 0.05f};
  return rlft::grpo_trainer(policy, rlft::temperature{1.0f}, reward, digits_decoder{}, estimator, objective,
                            std::move(options), update);
}

// The unigram policy with a NaN log-prob wherever its training forward sees token 2.
class nan_logprob_policy : public unigram_policy {
 public:
  using unigram_policy::unigram_policy;
  void log_probs(rlft::token_sequences_view sequences, std::span<float> out) const {
    unigram_policy::log_probs(sequences, out);
    for (std::size_t t = 0; t < sequences.num_tokens(); ++t)
      if (sequences.tokens()[t] == 2) out[t] = std::numeric_limits<float>::quiet_NaN();
  }
};

// Runs `run` and returns whether it threw an rlft::error that is not an rlft::data_error, with
// the message in `what`.
template <class Run>
bool throws_misuse(Run&& run, std::string& what) {
  try {
    run();
  } catch (const rlft::data_error& e) {
    what = e.what();
    return false;
  } catch (const rlft::error& e) {
    what = e.what();
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("data errors skip the step: a NaN log-prob, and its metrics keep their shape") {
  nan_logprob_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto trainer = make_checked_trainer(policy, finds_two);
  cycling_prompts prompts;
  const auto metrics = trainer.step(prompts);
  CHECK_FALSE(metrics.applied);
  CHECK(metrics.skipped_because.find("log-prob of token") != std::string::npos);
  CHECK(trainer.update().updates() == 0);
  CHECK(policy.parameters()[0].values[2] == 0.0f);
  // Scored before the failure: the rewards are there.
  REQUIRE(metrics.rewards.size() == 2);
  CHECK(metrics.rewards[0].name == "reward");
  CHECK(metrics.rewards[1].name == "total");
  CHECK(metrics.rewards[1].mean > 0.0);
}

TEST_CASE("a step skipped before scoring lists every reward component with NaN values") {
  unigram_policy policy({0.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f});  // the sampler rejects it
  const auto reward = rlft::component("accuracy", finds_two) + rlft::component("format", finds_two);
  auto trainer = make_checked_trainer(policy, reward);
  cycling_prompts prompts;
  const auto metrics = trainer.step(prompts);
  CHECK_FALSE(metrics.applied);
  CHECK(metrics.skipped_because.find("logit of token 1 is nan") != std::string::npos);
  REQUIRE(metrics.rewards.size() == 3);
  CHECK(metrics.rewards[0].name == "accuracy");
  CHECK(metrics.rewards[1].name == "format");
  CHECK(metrics.rewards[2].name == "total");
  for (const auto& r : metrics.rewards) CHECK(std::isnan(r.mean));
  CHECK(metrics.rewards.back().name == "total");  // what logging code reads: defined

  auto options = small_grpo_options();  // a KL penalty in the rewards is a column of its own
  options.reward_kl = {.coefficient = 0.1};
  unigram_policy same_policy({0.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f});
  auto with_kl = make_checked_trainer(same_policy, reward, options);
  const auto skipped = with_kl.step(prompts);
  REQUIRE(skipped.rewards.size() == 4);
  CHECK(skipped.rewards[2].name == "kl_penalty");
}

// GRPO's estimator with a summary that marks one group too many: a custom estimator's bug.
struct miscounting_estimator {
  static constexpr const char* name = "miscounting estimator";
  rlft::equal_reward_policy equal_rewards = rlft::equal_reward_policy::drop;
  rlft::advantage_summary operator()(const rlft::rollout_batch& batch, std::span<float> advantages) const {
    auto summary = rlft::grpo_advantage{.equal_rewards = equal_rewards}(batch, advantages);
    summary.drop_group.push_back(0);
    return summary;
  }
};

TEST_CASE("an estimator summary of the wrong size stops the run") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.max_sampling_rounds = 2;
  auto trainer = make_checked_trainer(policy, finds_two, options, miscounting_estimator{});
  cycling_prompts prompts{.pattern = "01"};
  std::string what;
  CHECK(throws_misuse([&] { trainer.step(prompts); }, what));
  CHECK(what.find("summary marks 5 groups but the batch has 4") != std::string::npos);
}

TEST_CASE("misuse stops the run: options, prompt sources and tokens outside the vocabulary") {
  std::string what;
  SUBCASE("an objective option out of range") {
    unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
    auto trainer = make_checked_trainer(policy, finds_two, small_grpo_options(), rlft::grpo_advantage{},
                                rlft::clipped_surrogate_objective{.clip = {.epsilon_low = 2.0}});
    cycling_prompts prompts;
    CHECK(throws_misuse([&] { trainer.step(prompts); }, what));
    CHECK(what.find("clip.epsilon_low") != std::string::npos);
  }
  SUBCASE("fewer references than prompts") {
    unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
    auto trainer = make_checked_trainer(policy, finds_two);
    auto short_of_references = [](std::size_t count) {
      rlft::prompt_batch batch;
      for (std::size_t i = 0; i < count; ++i) batch.prompts.push_back(std::vector<rlft::token_id>{0});
      batch.references.assign(count - 1, "1");
      return batch;
    };
    CHECK(throws_misuse([&] { trainer.step(short_of_references); }, what));
    CHECK(what.find("4 prompts and 3 references") != std::string::npos);
  }
  SUBCASE("a prompt token outside the vocabulary") {
    unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
    auto trainer = make_checked_trainer(policy, finds_two);
    cycling_prompts prompts{.prompt = {7}};
    CHECK(throws_misuse([&] { trainer.step(prompts); }, what));
    CHECK(what.find("outside the vocabulary") != std::string::npos);
  }
  CHECK(what.size() > 0);
}

TEST_CASE("a group size that makes every advantage zero is refused, naming the option") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.group_size = 1;
  CHECK_THROWS_WITH_AS(make_checked_trainer(policy, finds_two, options), Contains("group_size = 1"), rlft::error);
  CHECK_THROWS_WITH_AS(make_checked_trainer(policy, finds_two, options, rlft::rloo_advantage{}),
                       Contains("rloo advantage compares each completion"), rlft::error);
  CHECK_THROWS_AS(make_checked_trainer(policy, finds_two, options,
                               rlft::reinforce_plus_plus_advantage{.group_mean_baseline = true}),
                  rlft::error);
  // Estimators without a group baseline train on single completions.
  CHECK_NOTHROW(make_checked_trainer(policy, finds_two, options, rlft::reinforce_plus_plus_advantage{}));
}

TEST_CASE("dynamic sampling needs an estimator that drops equal-reward groups") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.max_sampling_rounds = 3;
  CHECK_THROWS_WITH_AS(make_checked_trainer(policy, finds_two, options), Contains("equal_reward_policy::drop"), rlft::error);
  options.max_sampling_rounds = 0;
  CHECK_THROWS_WITH_AS(make_checked_trainer(policy, finds_two, options,
                                    rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop}),
                       Contains("max_sampling_rounds"), rlft::error);
}

TEST_CASE("gradient shards must be a power of two") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.gradient_shards = 3;
  CHECK_THROWS_WITH_AS(make_checked_trainer(policy, finds_two, options),
                       Contains("gradient_shards = 3 is out of range (a power of two)"), rlft::error);
  options.gradient_shards = 2;  // one process may use the tree too
  auto trainer = make_checked_trainer(policy, finds_two, options);
  cycling_prompts prompts;
  CHECK_NOTHROW(trainer.step(prompts));
}

TEST_CASE("a plain reward function trains as one component named \"reward\"") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto trainer = make_checked_trainer(policy, finds_two);
  cycling_prompts prompts;
  const auto metrics = trainer.step(prompts);
  REQUIRE(metrics.applied);
  REQUIRE(metrics.rewards.size() == 2);
  CHECK(metrics.rewards[0].name == "reward");
  CHECK(metrics.rewards[0].mean == metrics.rewards[1].mean);
}

TEST_CASE("by default the trainer's AdamW does not decay: steps without reward leave the policy alone") {
  unigram_policy policy({0.5f, -0.25f, 0.125f, 1.0f});
  const std::vector<float> before(policy.parameters()[0].values.begin(), policy.parameters()[0].values.end());
  auto trainer = make_checked_trainer(policy, finds_two);
  cycling_prompts prompts{.pattern = "0"};  // every reward 0: no advantage, no gradient
  for (int step = 0; step < 4; ++step) REQUIRE(trainer.step(prompts).applied);
  for (std::size_t j = 0; j < before.size(); ++j) CHECK(policy.parameters()[0].values[j] == before[j]);
}

TEST_CASE("a KL penalty in the rewards uses its own estimator") {
  const auto penalty_after_two_steps = [](rlft::kl_estimator estimator) {
    unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
    auto options = small_grpo_options();
    options.reward_kl = {.coefficient = 0.5, .estimator = estimator};
    auto trainer = make_checked_trainer(policy, finds_two, options);
    cycling_prompts prompts;
    trainer.step(prompts);  // moves the policy away from the reference
    const auto metrics = trainer.step(prompts);
    REQUIRE(metrics.applied);
    REQUIRE(metrics.rewards.size() == 3);
    CHECK(metrics.rewards[1].name == "kl_penalty");
    return metrics.rewards[1].mean;
  };
  const double k1 = penalty_after_two_steps(rlft::kl_estimator::k1);
  const double k3 = penalty_after_two_steps(rlft::kl_estimator::k3);
  CHECK(k3 < 0.0);  // k3 >= 0 per token: a penalty
  CHECK(k1 != k3);
}
