// The GRPO trainer on the unigram test policy (tests/concepts/unigram_policy.hpp), whose only
// parameters are one logit per token: small enough that what a step must do can be checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "trainer_test_support.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/io/rollout_jsonl.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/rewards/composition.hpp"
#include "rlft/sampling/pipeline.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/grpo_trainer.hpp"

using rlft_test::constant_learning_rate;
using rlft_test::cycling_prompts;
using rlft_test::digits_decoder;
using rlft_test::probability_of;
using rlft_test::small_grpo_options;
using rlft_test::unigram_policy;

namespace {

// Reference "1": reward 1 when the completion holds token 2. Reference "0": always 0. Plus a
// component worth nothing, so rewards are summed in a translation unit that also holds the
// objectives (their helpers once collided).
const auto finds_two_plus_nothing = rlft::component("finds_two", [](const rlft::reward_input& in) {
  return in.reference == "1" && in.completion.find('2') != std::string_view::npos ? 1.0f : 0.0f;
}) + 0.0f * rlft::component("length", [](const rlft::reward_input& in) { return in.completion.size(); });

template <class Reward, class Estimator = rlft::grpo_advantage>
auto make_trainer(unigram_policy& policy, Reward reward, rlft::grpo_options options, float rate = 0.05f,
                  Estimator estimator = {}) {
  return rlft::grpo_trainer(policy, rlft::temperature{1.0f}, reward, digits_decoder{}, estimator,
                            rlft::clipped_surrogate_objective{}, std::move(options), constant_learning_rate(rate));
}

}  // namespace

TEST_CASE("GRPO raises the probability of the rewarded token") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto trainer = make_trainer(policy, finds_two_plus_nothing, small_grpo_options());
  cycling_prompts prompts;
  const double before = probability_of(policy, 2);
  double first_reward = 0.0, last_reward = 0.0;
  for (int step = 0; step < 40; ++step) {
    const auto metrics = trainer.step(prompts);
    REQUIRE(metrics.applied);
    CHECK(metrics.updates == 1);
    CHECK(metrics.objective.ratio_mean == doctest::Approx(1.0));  // on-policy
    (step == 0 ? first_reward : last_reward) = metrics.rewards.back().mean;
  }
  CHECK(probability_of(policy, 2) > 0.6);
  CHECK(probability_of(policy, 2) > before);
  CHECK(last_reward > first_reward);
}

TEST_CASE("GRPO steps are deterministic and independent of the micro-batch size") {
  unigram_policy a({0.3f, -0.2f, 0.1f, 0.0f}), b = a, c = a;
  auto options = small_grpo_options();
  auto whole = make_trainer(a, finds_two_plus_nothing, options);
  auto again = make_trainer(b, finds_two_plus_nothing, options);
  options.micro_batch_tokens = 3;  // every sequence alone
  auto pieces = make_trainer(c, finds_two_plus_nothing, options);
  for (int step = 0; step < 3; ++step) {
    cycling_prompts pa, pb, pc;
    whole.step(pa);
    again.step(pb);
    pieces.step(pc);
  }
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(a.parameters()[0].values[j] == b.parameters()[0].values[j]);
    CHECK(a.parameters()[0].values[j] == doctest::Approx(c.parameters()[0].values[j]).epsilon(1e-5));
  }
}

TEST_CASE("a step on imported rollouts corrects their sampling log-probs against the policy's") {
  // Another engine's rollouts of the unigram policy: two groups of four completions whose
  // sampling log-probs are the policy's own shifted by δ, so each ratio is exp(−δ).
  unigram_policy policy({0.3f, -0.2f, 0.1f, 0.0f});
  const std::vector<std::vector<rlft::token_id>> completions{{2, 2}, {1}, {0, 2, 1}, {1, 1}, {2}, {0}, {2, 1}, {1, 0}};
  const double shifts[] = {0.3, -1.0, 0.05};  // by token position in its completion
  const auto exact_logprob = [&](rlft::token_id token) { return std::log(probability_of(policy, token)); };
  std::string lines;
  double ratio_sum = 0.0, truncated = 0.0, tokens = 0.0;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    std::vector<float> sampling;
    for (std::size_t k = 0; k < completions[i].size(); ++k) {
      sampling.push_back(static_cast<float>(exact_logprob(completions[i][k]) + shifts[k]));
      ratio_sum += std::exp(-shifts[k]);
      truncated += std::exp(-shifts[k]) > 1.5 ? 1.0 : 0.0;
      tokens += 1.0;
    }
    lines += nlohmann::json{{"prompt_ids", {0}}, {"completion_ids", completions[i]}, {"sampling_logprobs", sampling},
                            {"reward", completions[i].front() == 2 ? 1.0 : 0.0}, {"group", i / 4}}
                 .dump() +
             "\n";
  }
  const auto path = std::filesystem::temp_directory_path() / "rlft_imported_rollouts.jsonl";
  std::ofstream(path) << lines;
  const auto batch = rlft::io::read_rollouts(path, {.vocabulary_size = 4});
  std::filesystem::remove(path);

  auto options = small_grpo_options();
  options.rollout_correction = {.truncate = {{.level = rlft::ratio_level::token, .cap = 1.5}}};
  auto trainer = make_trainer(policy, finds_two_plus_nothing, options);
  const std::vector<float> before(policy.parameters()[0].values.begin(), policy.parameters()[0].values.end());
  const auto metrics = trainer.step_on(batch);
  REQUIRE(metrics.applied);
  CHECK(metrics.groups == 2);
  CHECK(metrics.rollout_correction.tokens == static_cast<std::size_t>(tokens));
  CHECK(metrics.rollout_correction.ratio_mean == doctest::Approx(ratio_sum / tokens).epsilon(1e-5));
  CHECK(metrics.rollout_correction.truncated_share == doctest::Approx(truncated / tokens));
  CHECK(metrics.rewards.back().mean == doctest::Approx(3.0 / 8.0));
  CHECK_FALSE(std::ranges::equal(policy.parameters()[0].values, before));

  // A band that holds no ratio masks every token: the step is skipped, nothing changes.
  options.rollout_correction = {.mask = {{.low = 10.0, .high = 20.0}}};
  auto masking = make_trainer(policy, finds_two_plus_nothing, options);
  const std::vector<float> kept(policy.parameters()[0].values.begin(), policy.parameters()[0].values.end());
  const auto skipped = masking.step_on(batch);
  CHECK_FALSE(skipped.applied);
  CHECK(skipped.skipped_because == "grpo: the rollout correction masked every loss token");
  CHECK(std::ranges::equal(policy.parameters()[0].values, kept));

  // Groups smaller than the estimator needs are refused before anything changes.
  const auto single = rlft::rollout_batch(rlft::token_sequences({0, 2}, {0, 2}), {1}, {0, 1});
  CHECK_THROWS_WITH_AS(trainer.step_on(single), doctest::Contains("group 0 of the rollouts holds 1 completions"),
                       rlft::error);
}

TEST_CASE("a NaN reward skips the step and changes nothing") {
  unigram_policy policy({0.0f, 1.0f, 2.0f, 3.0f});
  const auto broken = rlft::component("broken", [](const rlft::reward_input&) { return std::nanf(""); });
  auto trainer = make_trainer(policy, broken, small_grpo_options());
  cycling_prompts prompts;
  const auto metrics = trainer.step(prompts);
  CHECK_FALSE(metrics.applied);
  CHECK(metrics.skipped_because.find("broken") != std::string::npos);
  CHECK(policy.parameters()[0].values[2] == 2.0f);
  CHECK(trainer.update().updates() == 0);
}

TEST_CASE("dynamic sampling keeps only groups with a learning signal") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.max_sampling_rounds = 4;
  auto trainer = make_trainer(policy, finds_two_plus_nothing, options, 0.05f,
                              rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop});
  cycling_prompts prompts{.pattern = "0001"};  // three in four groups have all-zero rewards
  const auto metrics = trainer.step(prompts);
  REQUIRE(metrics.applied);
  CHECK(metrics.sampling_rounds == 4);
  CHECK(metrics.equal_reward_group_share >= 0.75);
  CHECK(metrics.groups == 4);
  CHECK(metrics.rewards.back().mean > 0.0);
}

TEST_CASE("the reference policy is replaced or mixed every N steps") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.reference_refresh_steps = 2;
  auto replaced = make_trainer(policy, finds_two_plus_nothing, options);
  cycling_prompts prompts;
  replaced.step(prompts);
  CHECK(replaced.reference().parameters()[0].values[2] == 0.0f);
  replaced.step(prompts);
  CHECK(replaced.reference().parameters()[0].values[2] == policy.parameters()[0].values[2]);

  unigram_policy mixed_policy({0.0f, 0.0f, 0.0f, 0.0f});
  options.reference_mix = 0.25f;
  auto mixed = make_trainer(mixed_policy, finds_two_plus_nothing, options);
  mixed.step(prompts);
  const float reference_before = mixed.reference().parameters()[0].values[2];
  mixed.step(prompts);
  CHECK(mixed.reference().parameters()[0].values[2] ==
        doctest::Approx(0.25f * mixed_policy.parameters()[0].values[2] + 0.75f * reference_before));
}

TEST_CASE("without reference log-probs the trainer keeps no reference copy, in memory or checkpoints") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto options = small_grpo_options();
  options.reference_logprobs = false;
  auto trainer = make_trainer(policy, finds_two_plus_nothing, options);
  cycling_prompts prompts;
  trainer.step(prompts);
  CHECK_THROWS_WITH_AS(trainer.reference(), doctest::Contains("reference_logprobs is off"), rlft::error);

  const auto root = std::filesystem::temp_directory_path() / "rlft_grpo_no_reference";
  std::filesystem::remove_all(root);
  rlft::checkpoint_directory checkpoints(root);
  trainer.save_checkpoint(checkpoints);
  const auto latest = checkpoints.latest();
  REQUIRE(latest);
  CHECK(std::filesystem::exists(latest->directory / "policy"));
  CHECK_FALSE(std::filesystem::exists(latest->directory / "reference"));
  const auto after_one = trainer.step(prompts).loss;

  unigram_policy resumed_policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto resumed = make_trainer(resumed_policy, finds_two_plus_nothing, options);
  cycling_prompts resumed_prompts;
  resumed.resume(*latest, resumed_prompts);
  CHECK(resumed.step(resumed_prompts).loss == after_one);
  std::filesystem::remove_all(root);
}

TEST_CASE("GRPO options out of range are errors") {
  unigram_policy policy({0.0f, 0.0f});
  auto options = small_grpo_options();
  options.group_size = 0;
  CHECK_THROWS_WITH_AS(make_trainer(policy, finds_two_plus_nothing, options), doctest::Contains("group_size"), rlft::error);
  options = small_grpo_options();
  options.reference_mix = 1.5f;
  CHECK_THROWS_WITH_AS(make_trainer(policy, finds_two_plus_nothing, options), doctest::Contains("reference_mix"), rlft::error);
  options = small_grpo_options();
  options.rollout_correction.mask = {{.low = 3.0, .high = 2.0}};
  CHECK_THROWS_WITH_AS(make_trainer(policy, finds_two_plus_nothing, options), doctest::Contains("mask.high = 2"),
                       rlft::error);
}

TEST_CASE("groups the estimator marks for dropping leave the loss") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  const auto drop = rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop};
  auto trainer = make_trainer(policy, finds_two_plus_nothing, small_grpo_options(), 0.05f, drop);
  cycling_prompts prompts{.pattern = "01"};  // groups 0 and 2 have all-zero rewards
  const auto metrics = trainer.step(prompts);
  REQUIRE(metrics.applied);
  CHECK(metrics.groups == 2);
  // Groups 1 and 3 hold a 2 in some completion but not in all (seed 5): their tokens alone count.
  unigram_policy replay({0.0f, 0.0f, 0.0f, 0.0f});
  auto batch = replay.generate(cycling_prompts{.pattern = "01"}(4).prompts.view(), 8, rlft::temperature{1.0f},
                               {.max_new_tokens = 3, .stop_tokens = std::vector<rlft::token_id>{3}, .seed = 5});
  std::size_t kept_tokens = 0;
  for (std::size_t g : {1u, 3u})
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) kept_tokens += batch.completion_length(s);
  CHECK(metrics.objective.tokens == kept_tokens);
}

TEST_CASE("a step whose every group is dropped is skipped, and nothing changes") {
  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  const auto drop = rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop};
  auto trainer = make_trainer(policy, finds_two_plus_nothing, small_grpo_options(), 0.05f, drop);
  cycling_prompts prompts{.pattern = "0"};  // every group has all-zero rewards
  const auto metrics = trainer.step(prompts);
  CHECK_FALSE(metrics.applied);
  CHECK(metrics.skipped_because.find("dropped every group") != std::string::npos);
  CHECK(trainer.update().updates() == 0);
  CHECK(policy.parameters()[0].values[2] == 0.0f);
}
