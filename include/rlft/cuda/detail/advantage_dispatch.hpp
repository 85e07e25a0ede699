// Which kernels of kernels/rlft/advantage.cuh compute which estimator, with the CPU's option
// checks. An estimator without an entry here stops compilation with a message naming the
// supported ones.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "rlft/advantage.cuh"
#include "rlft/advantage/detail/discounted_returns.hpp"
#include "rlft/advantage/detail/input_checks.hpp"
#include "rlft/advantage/dr_grpo_advantage.hpp"
#include "rlft/advantage/equal_reward_groups.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/gdpo_advantage.hpp"
#include "rlft/advantage/grpo_passk_advantage.hpp"
#include "rlft/advantage/opo_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/process_supervision_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"
#include "rlft/cuda/detail/dependent_false.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"

namespace rlft::cuda::detail {

// What wait() reads back, in one allocation so that one copy (and one wait) fetches it: the
// batch's moments (reward scaling, whitening), the marks of bad inputs and each group's flags.
struct advantage_report {
  static constexpr std::size_t batch_at = 0;    // kernels::value_moments
  static constexpr std::size_t errors_at = 64;  // kernels::advantage_errors
  static constexpr std::size_t flags_at = 128;  // one byte per group
  static_assert(sizeof(kernels::value_moments) <= errors_at && sizeof(kernels::advantage_errors) <= flags_at - errors_at);
  static constexpr std::size_t bytes(std::size_t groups) noexcept { return flags_at + groups; }
};

// The device state of one estimator call: its temporaries and its report, with what the error
// report needs.
struct advantage_launch {
  const device_rollout_batch* batch = nullptr;
  cudaStream_t stream = nullptr;
  const char* estimator = "";
  rlft::detail::discounting discounting = {};
  equal_reward_policy equal_rewards = equal_reward_policy::keep;
  device_buffer<kernels::value_moments> groups = {};
  device_buffer<kernels::value_moments> sequence_moments = {};
  device_buffer<std::uint8_t> skipped = {};
  device_buffer<std::byte> report = {};
  bool marks_errors = false;  // whether error_marks() was asked for
  // GDPO: the reward components it read (their names and device scores, for the error of a
  // non-finite score), and a whitening whose loss tokens wait() counts.
  std::vector<std::pair<std::string, std::span<const float>>> read_components = {};
  bool whitens_sequence_sums = false;

  advantage_launch(const device_rollout_batch& on, cudaStream_t in, const char* name, equal_reward_policy policy)
      : batch(&on), stream(in), estimator(name), equal_rewards(policy),
        report(advantage_report::bytes(on.num_groups()), in) {}

  // kernels::group_equal_rewards | group_bad_reward, per group.
  std::uint8_t* group_flags() { return reinterpret_cast<std::uint8_t*>(report.data() + advantage_report::flags_at); }

  // The moments of the whole batch, where an estimator computes them.
  kernels::value_moments* batch_moments() {
    return reinterpret_cast<kernels::value_moments*>(report.data() + advantage_report::batch_at);
  }

  // The marks of bad inputs (scans, steps), cleared (~0) on first use: the outcome estimators
  // need none, which spares their launch a memset.
  kernels::advantage_errors* error_marks() {
    auto* marks = reinterpret_cast<kernels::advantage_errors*>(report.data() + advantage_report::errors_at);
    if (!marks_errors)
      RLFT_CUDA_CHECK(cudaMemsetAsync(marks, 0xff, sizeof(kernels::advantage_errors), stream));
    marks_errors = true;
    return marks;
  }

  // Moments of each group's values (per sequence, or per token with `select`), into `groups`.
  void group_moments(const float* values, const std::uint8_t* select, bool per_token) {
    groups = device_buffer<kernels::value_moments>(batch->num_groups(), stream);
    const auto view = batch->view();
    launch_segment_moments({.values = values, .select = select},
                           {.group_offsets = view.group_offsets,
                            .sequence_offsets = per_token ? view.sequence_offsets : nullptr},
                           batch->num_groups(), groups.data(), stream);
  }
};

template <class Estimator>
struct device_estimator {
  static_assert(dependent_false<Estimator>,
                "no CUDA specialisation of this advantage estimator: rlft::cuda::estimate_advantages supports "
                "rlft::grpo_advantage, rlft::dr_grpo_advantage, rlft::rloo_advantage, rlft::opo_advantage, "
                "rlft::grpo_passk_advantage, rlft::gdpo_advantage, rlft::reinforce_plus_plus_advantage, "
                "rlft::gae_advantage and rlft::process_supervision_advantage");
};

// GRPO's family: one launch (which reduces each group's rewards), after the batch's moments
// when the scaling asks for them.
inline void launch_outcome(advantage_launch& launch, std::span<float> advantages, rlft::detail::outcome_rule rule,
                           const rlft::detail::outcome_options& options) {
  const auto view = launch.batch->view();
  if (options.scaling == reward_scaling::batch_std)
    launch_segment_moments({.values = view.rewards}, {.total = static_cast<std::int64_t>(view.num_sequences)}, 1,
                           launch.batch_moments(), launch.stream);
  launch_outcome_advantages({.batch = view,
                             .batch_rewards = launch.batch_moments(),
                             .advantages = advantages.data(),
                             .group_flags = launch.group_flags(),
                             .rule = rule,
                             .scaling = options.scaling,
                             .epsilon = options.epsilon,
                             .unbiased_std = options.unbiased_std,
                             .singletons = options.singletons},
                            launch.stream);
}

// Each specialisation's check() runs the CPU's checks of its options, then of the length of the
// advantages span, on the host.

template <>
struct device_estimator<grpo_advantage> {
  static void check(const grpo_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_epsilon(e.epsilon, grpo_advantage::name);
    rlft::detail::check_token_span(batch_tokens, advantages, grpo_advantage::name, "advantages");
  }
  static void launch(const grpo_advantage& e, advantage_launch& launch, std::span<float> advantages, std::span<float>) {
    launch_outcome(launch, advantages, rlft::detail::outcome_rule::normalized,
                   {.epsilon = e.epsilon, .scaling = e.scaling, .unbiased_std = e.unbiased_std});
  }
};

template <>
struct device_estimator<dr_grpo_advantage> {
  static void check(const dr_grpo_advantage&, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_token_span(batch_tokens, advantages, dr_grpo_advantage::name, "advantages");
  }
  static void launch(const dr_grpo_advantage&, advantage_launch& launch, std::span<float> advantages,
                     std::span<float>) {
    launch_outcome(launch, advantages, rlft::detail::outcome_rule::normalized,
                   {.epsilon = 0.0, .scaling = reward_scaling::none});
  }
};

template <>
struct device_estimator<rloo_advantage> {
  static void check(const rloo_advantage&, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_token_span(batch_tokens, advantages, rloo_advantage::name, "advantages");
  }
  static void launch(const rloo_advantage&, advantage_launch& launch, std::span<float> advantages, std::span<float>) {
    launch_outcome(launch, advantages, rlft::detail::outcome_rule::leave_one_out, {.scaling = reward_scaling::none});
  }
};

// REINFORCE++ and GAE: group moments of the rewards, the per-sequence scans, and whitening.
inline void launch_discounted(advantage_launch& launch, std::span<float> advantages, std::span<float> returns,
                              bool subtract_group_mean) {
  const auto& options = launch.discounting;
  const auto view = launch.batch->view();
  const std::size_t sequences = view.num_sequences;
  launch.group_moments(view.rewards, nullptr, false);
  if (options.whiten) {
    launch.skipped = device_buffer<std::uint8_t>(sequences, launch.stream);
    launch.sequence_moments = device_buffer<kernels::value_moments>(sequences, launch.stream);
  }
  launch_discounted_advantages({.batch = view,
                                .groups = launch.groups.data(),
                                .advantages = advantages.data(),
                                .returns = returns.empty() ? nullptr : returns.data(),
                                .group_flags = launch.group_flags(),
                                .skipped = launch.skipped.data(),
                                .sequence_moments = launch.sequence_moments.data(),
                                .errors = launch.error_marks(),
                                .gamma = options.gamma,
                                .gamma_lambda = options.gamma * options.lambda,
                                .kl_coefficient = options.kl.coefficient,
                                .estimator = options.kl.estimator,
                                .kl_bound = static_cast<float>(options.kl.log_ratio_bound),
                                .kl_value_bound = static_cast<float>(kl_value_bound(options.kl)),
                                .use_values = options.use_values,
                                .subtract_group_mean = subtract_group_mean,
                                .zero_equal_groups = rlft::detail::zeroes_equal_groups(launch.equal_rewards),
                                .carry_masked = options.masked_tokens == masked_token_steps::carried},
                               launch.stream);
  if (!options.whiten) return;
  launch_segment_moments({.parts = launch.sequence_moments.data()}, {.total = static_cast<std::int64_t>(sequences)},
                         1, launch.batch_moments(), launch.stream);
  launch_whiten_advantages(view, launch.batch_moments(), options.whitening_epsilon, options.whitening,
                           launch.skipped.data(), advantages.data(), launch.stream);
}

template <>
struct device_estimator<opo_advantage> {
  static void check(const opo_advantage&, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_token_span(batch_tokens, advantages, opo_advantage::name, "advantages");
  }
  static void launch(const opo_advantage& e, advantage_launch& launch, std::span<float> advantages, std::span<float>) {
    const auto view = launch.batch->view();
    device_buffer<double> loss_tokens(view.num_sequences, launch.stream);
    launch_count_loss_tokens(view, loss_tokens.data(), launch.stream);
    launch_opo_advantages({.batch = view,
                           .loss_tokens = loss_tokens.data(),
                           .advantages = advantages.data(),
                           .group_flags = launch.group_flags(),
                           .singletons = e.singletons},
                          launch.stream);
  }
};

template <>
struct device_estimator<grpo_passk_advantage> {
  static void check(const grpo_passk_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_epsilon(e.epsilon, grpo_passk_advantage::name);
    rlft::detail::check_token_span(batch_tokens, advantages, grpo_passk_advantage::name, "advantages");
  }
  static void launch(const grpo_passk_advantage& e, advantage_launch& launch, std::span<float> advantages,
                     std::span<float>) {
    launch_passk_advantages({.batch = launch.batch->view(),
                             .advantages = advantages.data(),
                             .group_flags = launch.group_flags(),
                             .normalize = e.normalize,
                             .unbiased_std = e.unbiased_std,
                             .epsilon = e.epsilon},
                            launch.stream);
  }
};

template <>
struct device_estimator<gdpo_advantage> {
  static void check(const gdpo_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_epsilon(e.epsilon, gdpo_advantage::name);
    rlft::detail::check_option(std::isfinite(e.whitening_epsilon) && e.whitening_epsilon >= 0.0, gdpo_advantage::name,
                               "whitening_epsilon", e.whitening_epsilon, "finite and >= 0");
    rlft::detail::check_token_span(batch_tokens, advantages, gdpo_advantage::name, "advantages");
  }
  // Each component normalised in its groups and added, weighted, to the sequences' sums (one
  // launch per component, in the CPU's order); then the sums' moments over the loss tokens and
  // the whitened advantages.
  static void launch(const gdpo_advantage& e, advantage_launch& launch, std::span<float> advantages, std::span<float>) {
    const auto& batch = *launch.batch;
    const auto chosen = e.chosen_components(batch.shape().component_names());  // throws before any launch
    const auto view = batch.view();
    device_buffer<double> sums(view.num_sequences, launch.stream), loss_tokens(view.num_sequences, launch.stream);
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      const auto [index, weight] = chosen[k];
      launch.read_components.emplace_back(batch.shape().component_names()[index], batch.reward_component(index));
      launch_add_normalized_component({.batch = view,
                                       .scores = batch.reward_component(index).data(),
                                       .weight = weight,
                                       .first_component = k == 0,
                                       .sums = sums.data(),
                                       .group_flags = launch.group_flags(),
                                       .epsilon = e.epsilon,
                                       .unbiased_std = e.unbiased_std,
                                       .singletons = e.singletons},
                                      launch.stream);
    }
    launch_count_loss_tokens(view, loss_tokens.data(), launch.stream);
    launch_segment_moments(kernels::weighted_moments_of_item{.values = sums.data(), .weights = loss_tokens.data()},
                           {.total = static_cast<std::int64_t>(view.num_sequences)}, 1, launch.batch_moments(),
                           launch.stream);
    launch.whitens_sequence_sums = true;
    launch_whiten_component_sums(view, sums.data(), launch.batch_moments(), e.whitening_epsilon, launch.group_flags(),
                                 rlft::detail::zeroes_equal_groups(e.equal_rewards), advantages.data(), launch.stream);
  }
};

template <>
struct device_estimator<reinforce_plus_plus_advantage> {
  static void check(const reinforce_plus_plus_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_discounting(e.discounting(), reinforce_plus_plus_advantage::name);
    rlft::detail::check_token_span(batch_tokens, advantages, reinforce_plus_plus_advantage::name, "advantages");
  }
  static void launch(const reinforce_plus_plus_advantage& e, advantage_launch& launch, std::span<float> advantages,
                     std::span<float>) {
    launch.discounting = e.discounting();
    launch_discounted(launch, advantages, {}, e.group_mean_baseline);
  }
};

template <>
struct device_estimator<gae_advantage> {
  static void check(const gae_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_discounting(e.discounting(), gae_advantage::name);
    rlft::detail::check_token_span(batch_tokens, advantages, gae_advantage::name, "advantages");
  }
  static void launch(const gae_advantage& e, advantage_launch& launch, std::span<float> advantages,
                     std::span<float> returns) {
    launch.discounting = e.discounting();
    launch_discounted(launch, advantages, returns, false);
  }
};

template <>
struct device_estimator<process_supervision_advantage> {
  static void check(const process_supervision_advantage& e, std::size_t batch_tokens, std::size_t advantages) {
    rlft::detail::check_epsilon(e.epsilon, process_supervision_advantage::name);
    rlft::detail::check_token_span(batch_tokens, advantages, process_supervision_advantage::name, "advantages");
  }
  static void launch(const process_supervision_advantage& e, advantage_launch& launch, std::span<float> advantages,
                     std::span<float>) {
    const auto view = launch.batch->view();
    launch.group_moments(view.token_rewards, view.step_ends, true);
    launch_process_advantages({.batch = view,
                               .groups = launch.groups.data(),
                               .advantages = advantages.data(),
                               .group_flags = launch.group_flags(),
                               .errors = launch.error_marks(),
                               .epsilon = e.epsilon,
                               .unbiased_std = e.unbiased_std},
                              launch.stream);
  }
};

}  // namespace rlft::cuda::detail
