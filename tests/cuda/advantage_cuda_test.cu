// The CUDA estimators against the CPU estimators on the same ragged batch: every estimator and
// option (scalings, baselines, KL penalties, whitening, equal-reward policies), groups of one,
// empty completions and sequences longer than a scan tile; the errors. Option and span checks
// run on the host and are tested without a GPU.
//
// Tolerance: advantages and returns within 1e-5 · max(1, |CPU value|). They are float results
// of double arithmetic whose sums run in another order on the device, so most agree to the
// bit; whitening divides by a standard deviation that may differ in its last bit. Zeros (masked
// tokens, groups of equal rewards) and the summaries agree exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/cuda/advantage.hpp"

namespace {

using rlft::testing::error_message;

// Groups of 1 to 16 completions (or of the sizes given), empty completions, completions longer
// than a scan tile (1024 tokens), holes in the loss mask, groups of equal rewards, step marks on
// completion tokens (every non-empty completion ends a step on its last token).
constexpr std::size_t small_groups[] = {1, 3, 8, 16};

rlft::rollout_batch random_batch(std::uint64_t seed, std::size_t groups,
                                 std::span<const std::size_t> group_sizes = small_groups) {
  rlft::philox_stream random(seed, 0);
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths, group_offsets{0};
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t size = group_sizes[random() % group_sizes.size()];
    for (std::size_t i = 0; i < size; ++i) {
      const std::size_t prompt = 1 + random() % 4;
      const std::uint32_t kind = random() % 16;
      const std::size_t completion = kind == 0 ? 0 : kind == 1 ? 1024 + random() % 1500 : 1 + random() % 200;
      sequences.push_back(std::vector<rlft::token_id>(prompt + completion, 5));
      prompt_lengths.push_back(static_cast<std::int64_t>(prompt));
    }
    group_offsets.push_back(group_offsets.back() + static_cast<std::int64_t>(size));
  }
  rlft::rollout_batch batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  for (std::size_t g = 0; g < batch.num_groups(); ++g) {
    const bool equal = random() % 4 == 0;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
      batch.rewards().total()[s] = equal ? 0.5f : static_cast<float>(random() % 5) * 0.25f;
  }
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) {
    if (batch.loss_mask()[t] && random() % 10 == 0) batch.loss_mask()[t] = 0;
    batch.token_rewards()[t] = random() % 8 == 0 ? 0.1f * (random.uniform() - 0.5f) : 0.0f;
    batch.values()[t] = random.uniform() - 0.5f;
    batch.old_logprobs()[t] = -2.0f * random.uniform();
    batch.ref_logprobs()[t] = batch.old_logprobs()[t] + 0.5f * (random.uniform() - 0.5f);
  }
  return batch;
}

// Process supervision reads step rewards from token_rewards at the marked tokens.
void mark_steps(rlft::rollout_batch& batch, std::uint64_t seed) {
  rlft::philox_stream random(seed, 1);
  for (std::size_t g = 0; g < batch.num_groups(); ++g) {
    const bool equal = random() % 5 == 0;
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
      const std::size_t completion = batch.sequence_begin(s) + batch.prompt_length(s), end = batch.sequence_end(s);
      for (std::size_t t = completion; t < end; ++t) {
        batch.step_ends()[t] = t + 1 == end || random() % 32 == 0;
        batch.token_rewards()[t] = batch.step_ends()[t] ? (equal ? 1.0f : random.uniform()) : 0.0f;
      }
    }
  }
}

void check_close(const std::vector<float>& device, std::span<const float> cpu) {
  REQUIRE(device.size() == cpu.size());
  std::size_t mismatches = 0;
  std::ostringstream examples;  // the first few: token, device, CPU
  for (std::size_t t = 0; t < cpu.size(); ++t) {
    // Not exact at a CPU zero: a suffix sum that cancels gives 0 on the CPU and −2.2e-16 on an
    // H200, the sums being associated differently. The zeros of masked tokens are tested apart.
    const bool close = std::abs(device[t] - cpu[t]) <= 1e-5f * std::max(1.0f, std::abs(cpu[t]));
    if (!close && mismatches++ < 8) examples << " (" << t << ": " << device[t] << " vs " << cpu[t] << ")";
  }
  CHECK_MESSAGE(mismatches == 0, mismatches, " mismatches (token: device vs CPU)", examples.str());
}

void check_same(const rlft::advantage_summary& device, const rlft::advantage_summary& cpu) {
  CHECK(device.groups == cpu.groups);
  CHECK(device.groups_with_equal_rewards == cpu.groups_with_equal_rewards);
  CHECK(device.drop_group == cpu.drop_group);
}

template <class Estimator>
void compare(const Estimator& estimator, const rlft::rollout_batch& batch,
             const rlft::cuda::device_rollout_batch& device_batch) {
  std::vector<float> cpu(batch.num_tokens());
  const auto cpu_summary = estimator(batch, cpu);
  rlft::cuda::device_buffer<float> advantages(batch.num_tokens(), device_batch.stream());
  const auto device_summary = rlft::cuda::estimate_advantages(estimator, device_batch, advantages.span(),
                                                              device_batch.stream());
  const auto device_advantages = advantages.download();
  check_close(device_advantages, cpu);
  std::size_t masked_but_not_zero = 0;  // where the CPU gives a masked token exactly 0, so must the device
  for (std::size_t t = 0; t < cpu.size(); ++t)
    masked_but_not_zero += !batch.loss_mask()[t] && cpu[t] == 0.0f && device_advantages[t] != 0.0f;
  CHECK(masked_but_not_zero == 0);
  check_same(device_summary, cpu_summary);
}

}  // namespace

TEST_CASE("cuda estimators check options and span lengths on the host, with the CPU's messages") {
  const auto batch = random_batch(1, 3);
  std::vector<float> short_span(batch.num_tokens() - 1), full(batch.num_tokens());
  const auto same = [&](const auto& estimator, std::size_t length) {
    using dispatch = rlft::cuda::detail::device_estimator<std::decay_t<decltype(estimator)>>;
    std::vector<float> advantages(length);
    const std::string expected = error_message([&] { estimator(batch, advantages); });
    CHECK(!expected.empty());
    CHECK(error_message([&] { dispatch::check(estimator, batch.num_tokens(), length); }) == expected);
  };
  const std::size_t tokens = batch.num_tokens();
  same(rlft::grpo_advantage{.epsilon = -1.0}, tokens);
  same(rlft::grpo_advantage{}, tokens - 1);
  same(rlft::dr_grpo_advantage{}, tokens + 1);
  same(rlft::rloo_advantage{}, 0);
  same(rlft::opo_advantage{}, tokens - 1);
  same(rlft::grpo_passk_advantage{.epsilon = -1.0}, tokens);
  same(rlft::grpo_passk_advantage{}, tokens + 2);
  same(rlft::gdpo_advantage{.whitening_epsilon = -1.0}, tokens);
  same(rlft::gdpo_advantage{}, tokens - 1);
  same(rlft::reinforce_plus_plus_advantage{.gamma = 1.5}, tokens);
  same(rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = 0.1, .log_ratio_bound = 100.0}}, tokens);
  same(rlft::gae_advantage{.lambda = -0.5}, tokens);
  same(rlft::gae_advantage{.whitening_epsilon = -1.0}, tokens);
  same(rlft::gae_advantage{}, 3);
  same(rlft::process_supervision_advantage{.epsilon = NAN}, tokens);
  same(rlft::process_supervision_advantage{}, tokens - 1);
}

TEST_CASE("cuda estimators: the moments and affine maps the reductions combine") {
  // Host evaluation of the device functors' arithmetic.
  const rlft::kernels::value_moments a = rlft::kernels::one_value(1.0f), b = rlft::kernels::one_value(3.0f);
  const auto merged = rlft::kernels::merge_moments{}(a, b);
  CHECK(merged.count == 2.0);
  CHECK(merged.mean == 2.0);
  CHECK(merged.squared_deviations == 2.0);
  CHECK(merged.lowest == 1.0f);
  CHECK(merged.highest == 3.0f);
  CHECK(merged.standard_deviation(true) == doctest::Approx(std::sqrt(2.0)));
  const auto with_empty = rlft::kernels::merge_moments{}(rlft::kernels::no_values(), merged);
  CHECK(with_empty.mean == merged.mean);
  CHECK(with_empty.lowest == 1.0f);
  CHECK(rlft::kernels::one_value(5.0f).standard_deviation(true) == 0.0);
  const rlft::kernels::affine_map later{0.5, 1.0}, earlier{0.5, 2.0};
  const auto composed = rlft::kernels::compose_affine{}(earlier, later);
  // y = 1 + 0.5·(2 + 0.5·x)
  CHECK(composed.a == 0.25);
  CHECK(composed.b == 2.0);
}

TEST_SUITE("gpu") {
  TEST_CASE("cuda outcome estimators equal the CPU's: GRPO, Dr. GRPO, RLOO, OPO, GRPO pass@k") {
    const auto batch = random_batch(11, 40);
    const rlft::cuda::device_rollout_batch device_batch(batch, nullptr);
    for (const auto policy : {rlft::equal_reward_policy::keep, rlft::equal_reward_policy::drop}) {
      compare(rlft::grpo_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::grpo_advantage{.epsilon = 0.0, .unbiased_std = false}, batch, device_batch);
      compare(rlft::grpo_advantage{.scaling = rlft::reward_scaling::batch_std, .equal_rewards = policy}, batch,
              device_batch);
      compare(rlft::grpo_advantage{.scaling = rlft::reward_scaling::none}, batch, device_batch);
      for (const auto scaling : {rlft::reward_scaling::group_std, rlft::reward_scaling::none})
        compare(rlft::grpo_advantage{.scaling = scaling,
                                     .equal_rewards = policy,
                                     .singletons = rlft::singleton_group_policy::zero_mean_unit_std},
                batch, device_batch);
      compare(rlft::dr_grpo_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::rloo_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::opo_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::opo_advantage{.singletons = rlft::singleton_group_policy::zero_mean_unit_std}, batch, device_batch);
      compare(rlft::grpo_passk_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::grpo_passk_advantage{.normalize = false, .unbiased_std = false}, batch, device_batch);
    }
    // Groups larger than a warp: each lane folds several rewards before the lanes are merged.
    constexpr std::size_t large_groups[] = {33, 64, 100};
    const auto large = random_batch(17, 6, large_groups);
    const rlft::cuda::device_rollout_batch device_large(large, nullptr);
    compare(rlft::grpo_advantage{}, large, device_large);
    compare(rlft::rloo_advantage{}, large, device_large);
    compare(rlft::opo_advantage{}, large, device_large);
    compare(rlft::grpo_passk_advantage{}, large, device_large);
  }

  TEST_CASE("cuda gdpo equals the CPU's: components normalised in their groups, whitened over loss tokens") {
    auto batch = random_batch(13, 40);
    rlft::philox_stream random(13, 2);
    for (const char* name : {"accuracy", "format"}) {
      const auto column = batch.rewards().component(batch.rewards().add_component(name));
      for (std::size_t g = 0; g < batch.num_groups(); ++g) {
        const bool equal = random() % 4 == 0;
        for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s)
          column[s] = equal ? 1.0f : static_cast<float>(random() % 3) * 0.5f;
      }
    }
    const rlft::cuda::device_rollout_batch device_batch(batch, nullptr);
    for (const auto policy : {rlft::equal_reward_policy::keep, rlft::equal_reward_policy::zero_advantage,
                              rlft::equal_reward_policy::drop}) {
      compare(rlft::gdpo_advantage{.equal_rewards = policy}, batch, device_batch);
      compare(rlft::gdpo_advantage{.components = {{"format", 0.5}, {"accuracy", 2.0}},
                                   .unbiased_std = false,
                                   .equal_rewards = policy,
                                   .singletons = rlft::singleton_group_policy::zero_mean_unit_std},
              batch, device_batch);
    }
    // A non-finite score of a used component, and a missing component: the CPU's errors.
    auto bad = batch;
    bad.rewards().component("format")[3] = NAN;
    const rlft::cuda::device_rollout_batch device_bad(bad, nullptr);
    std::vector<float> cpu(bad.num_tokens());
    rlft::cuda::device_buffer<float> advantages(bad.num_tokens(), nullptr);
    const rlft::gdpo_advantage gdpo{};
    CHECK(error_message([&] { rlft::cuda::estimate_advantages(gdpo, device_bad, advantages.span(), nullptr); }) ==
          error_message([&] { gdpo(bad, cpu); }));
    const rlft::gdpo_advantage missing{.components = {{"style", 1.0}}};
    CHECK(error_message([&] { rlft::cuda::estimate_advantages(missing, device_bad, advantages.span(), nullptr); }) ==
          error_message([&] { missing(bad, cpu); }));
  }

  TEST_CASE("cuda token-level estimators equal the CPU's: REINFORCE++ and GAE") {
    const auto batch = random_batch(12, 40);
    const rlft::cuda::device_rollout_batch device_batch(batch, nullptr);
    for (const auto policy : {rlft::equal_reward_policy::keep, rlft::equal_reward_policy::zero_advantage,
                              rlft::equal_reward_policy::drop})
      for (const bool whiten : {false, true}) {
        CAPTURE(whiten);
        compare(rlft::reinforce_plus_plus_advantage{.whiten = whiten, .equal_rewards = policy}, batch, device_batch);
        compare(rlft::reinforce_plus_plus_advantage{.gamma = 0.97,
                                                    .kl = {.coefficient = 0.05, .estimator = rlft::kl_estimator::k3},
                                                    .group_mean_baseline = true,
                                                    .whiten = whiten,
                                                    .equal_rewards = policy},
                batch, device_batch);
        compare(rlft::gae_advantage{.whiten = whiten, .equal_rewards = policy}, batch, device_batch);
        for (const auto scale : {rlft::whitening_scale::sqrt_sample_variance_plus_epsilon,
                                 rlft::whitening_scale::sqrt_population_variance_at_least_epsilon})
          compare(rlft::reinforce_plus_plus_advantage{.whiten = whiten, .whitening = scale, .equal_rewards = policy},
                  batch, device_batch);
        compare(rlft::gae_advantage{.gamma = 0.99, .lambda = 0.9, .kl = {.coefficient = 0.02}, .whiten = whiten,
                                    .equal_rewards = policy},
                batch, device_batch);
        // Masked tokens carried over instead of discounted (verl), with and without a critic.
        compare(rlft::reinforce_plus_plus_advantage{.gamma = 0.97,
                                                    .kl = {.coefficient = 0.05},
                                                    .whiten = whiten,
                                                    .equal_rewards = policy,
                                                    .masked_tokens = rlft::masked_token_steps::carried},
                batch, device_batch);
        compare(rlft::gae_advantage{.gamma = 0.99, .lambda = 0.9, .whiten = whiten, .equal_rewards = policy,
                                    .masked_tokens = rlft::masked_token_steps::carried},
                batch, device_batch);
      }
    // GAE's critic targets.
    const rlft::gae_advantage gae{.gamma = 0.99, .lambda = 0.95, .whiten = true};
    std::vector<float> cpu_advantages(batch.num_tokens()), cpu_returns(batch.num_tokens());
    gae(batch, cpu_advantages, cpu_returns);
    rlft::cuda::device_buffer<float> advantages(batch.num_tokens(), nullptr), returns(batch.num_tokens(), nullptr);
    rlft::cuda::estimate_advantages(gae, device_batch, advantages.span(), returns.span(), nullptr);
    check_close(advantages.download(), cpu_advantages);
    check_close(returns.download(), cpu_returns);
  }

  TEST_CASE("cuda process supervision equals the CPU's") {
    auto batch = random_batch(13, 40);
    mark_steps(batch, 13);
    const rlft::cuda::device_rollout_batch device_batch(batch, nullptr);
    compare(rlft::process_supervision_advantage{}, batch, device_batch);
    compare(rlft::process_supervision_advantage{.epsilon = 0.0, .unbiased_std = false,
                                                .equal_rewards = rlft::equal_reward_policy::drop},
            batch, device_batch);
  }

  TEST_CASE("cuda estimators report bad device inputs with the CPU's messages") {
    const auto same = [](const auto& estimator, const rlft::rollout_batch& batch) {
      const std::string expected = error_message([&] {
        std::vector<float> advantages(batch.num_tokens());
        estimator(batch, advantages);
      });
      CHECK(!expected.empty());
      const rlft::cuda::device_rollout_batch device_batch(batch, nullptr);
      rlft::cuda::device_buffer<float> advantages(batch.num_tokens(), nullptr);
      CHECK(error_message([&] { rlft::cuda::estimate_advantages(estimator, device_batch, advantages.span(), nullptr); }) ==
            expected);
    };
    auto batch = random_batch(14, 10);
    batch.rewards().total()[7] = std::nanf("");
    batch.rewards().total()[9] = INFINITY;
    same(rlft::grpo_advantage{}, batch);
    same(rlft::rloo_advantage{}, batch);
    same(rlft::reinforce_plus_plus_advantage{}, batch);

    const auto with_completion = [](const rlft::rollout_batch& b, std::size_t from) {
      while (b.completion_length(from) == 0) ++from;
      return from;
    };
    batch = random_batch(15, 10);
    const std::size_t t = batch.sequence_end(with_completion(batch, 4)) - 1;
    batch.values()[t] = std::nanf("");  // GAE reads it, REINFORCE++ does not
    same(rlft::gae_advantage{}, batch);
    batch.values()[t] = 0.0f;
    batch.old_logprobs()[t] = -INFINITY;
    batch.loss_mask()[t] = 1;
    same(rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = 0.1}}, batch);

    batch = random_batch(16, 10);
    mark_steps(batch, 16);
    batch.step_ends()[batch.sequence_begin(6)] = 1;  // a prompt token
    same(rlft::process_supervision_advantage{}, batch);
    batch.step_ends()[batch.sequence_begin(6)] = 0;
    const std::size_t unmarked = with_completion(batch, 3);
    for (std::size_t u = batch.sequence_begin(unmarked); u < batch.sequence_end(unmarked); ++u) batch.step_ends()[u] = 0;
    same(rlft::process_supervision_advantage{}, batch);

    batch = random_batch(17, 10);  // whitening a single loss token
    const std::size_t kept = batch.sequence_end(with_completion(batch, 2)) - 1;
    for (std::size_t u = 0; u < batch.num_tokens(); ++u) batch.loss_mask()[u] = u == kept;
    same(rlft::reinforce_plus_plus_advantage{}, batch);
  }
}
