// The CUDA objectives against the CPU objectives on the same batch: every objective, clip,
// KL estimator, entropy setting and aggregation; slices and scopes; the errors. The option and
// shape checks run on the host and are tested without a GPU.
//
// Tolerances (float inputs): per-token gradients within 1e-5 relative (plus 1e-5 of the
// largest gradient): the device's expf and fused multiply-adds change the last bits of a
// ratio or a KL term; loss and metrics within 1e-5 relative (double sums in another order
// over float terms); clip counts and token counts exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "objective/objective_fixture.hpp"
#include "error_message.hpp"
#include "rlft/cuda/objective.hpp"

using doctest::Approx;

namespace {

const rlft::loss_aggregation all_aggregations[] = {
    rlft::loss_aggregation::token_mean, rlft::loss_aggregation::sequence_mean_token_mean,
    rlft::loss_aggregation::sequence_mean_token_sum, rlft::loss_aggregation::sequence_mean_token_sum_normalized,
    rlft::loss_aggregation::token_sum};

std::vector<float> as_float(const std::vector<double>& values, std::size_t first, std::size_t last) {
  return {values.begin() + static_cast<std::ptrdiff_t>(first), values.begin() + static_cast<std::ptrdiff_t>(last)};
}

using rlft::testing::error_message;

struct evaluation {
  rlft::objective_result result = {};
  std::vector<float> gradients = {};
  std::vector<float> entropy_gradients = {};
};

// The log-probs and entropies of sequences [first, first + count) in float, and gradient
// outputs of the slice's length.
struct host_slice {
  std::vector<float> logprobs, entropy;
  evaluation out;
};

host_slice slice_of(const rlft_test::objective_fixture& fixture, std::size_t first, std::size_t count,
                    bool with_entropy) {
  const auto& batch = fixture.batch;
  const std::size_t begin = batch.sequence_begin(first), end = batch.sequence_end(first + count - 1);
  return {.logprobs = as_float(fixture.logprobs, begin, end),
          .entropy = as_float(fixture.entropy, begin, end),
          .out = {.gradients = std::vector<float>(end - begin),
                  .entropy_gradients = std::vector<float>(with_entropy ? end - begin : 0)}};
}

// The slice's part of per-token weights of the whole batch (none when empty).
std::span<const float> slice_weights(const rlft::rollout_batch& batch, std::span<const float> batch_weights,
                                     std::size_t first, std::size_t count) {
  if (batch_weights.empty()) return {};
  const std::size_t begin = batch.sequence_begin(first), end = batch.sequence_end(first + count - 1);
  return batch_weights.subspan(begin, end - begin);
}

// Policy weights in [0, 2) for every token of the batch, from its index.
std::vector<float> varied_weights(const rlft::rollout_batch& batch) {
  std::vector<float> weights(batch.num_tokens());
  for (std::size_t t = 0; t < weights.size(); ++t) weights[t] = static_cast<float>((t * 37) % 64) / 32.0f;
  return weights;
}

// CPU evaluation of sequences [first, first + count).
template <class Objective>
evaluation on_cpu(const Objective& objective, const rlft_test::objective_fixture& fixture, std::size_t first,
                  std::size_t count, bool with_entropy, rlft::aggregation_scope scope = {},
                  std::span<const float> batch_weights = {}) {
  const auto& batch = fixture.batch;
  auto [logprobs, entropy, cpu] = slice_of(fixture, first, count, with_entropy);
  cpu.result = objective({.batch = batch, .first_sequence = first, .sequence_count = count, .logprobs = logprobs,
                          .entropy = with_entropy ? std::span<const float>(entropy) : std::span<const float>{},
                          .policy_weights = slice_weights(batch, batch_weights, first, count),
                          .scope = scope},
                         {.logprob_gradients = cpu.gradients, .entropy_gradients = cpu.entropy_gradients});
  return cpu;
}

// The same on the device.
template <class Objective>
evaluation on_device(const Objective& objective, const rlft_test::objective_fixture& fixture,
                     const rlft::cuda::device_rollout_batch& device_batch, std::size_t first, std::size_t count,
                     bool with_entropy, rlft::aggregation_scope scope = {}, std::span<const float> batch_weights = {}) {
  const auto& batch = fixture.batch;
  const std::size_t begin = batch.sequence_begin(first), end = batch.sequence_end(first + count - 1);
  const cudaStream_t stream = device_batch.stream();
  const auto host_weights = slice_weights(batch, batch_weights, first, count);
  const rlft::cuda::device_buffer<float> weights(std::vector<float>(host_weights.begin(), host_weights.end()), stream);
  const rlft::cuda::device_buffer<float> logprobs(as_float(fixture.logprobs, begin, end), stream);
  const rlft::cuda::device_buffer<float> entropy(as_float(fixture.entropy, begin, end), stream);
  rlft::cuda::device_buffer<float> gradients(end - begin, stream), entropy_gradients(with_entropy ? end - begin : 0, stream);
  evaluation device;
  device.result = rlft::cuda::evaluate_objective(
      objective,
      {.batch = device_batch, .first_sequence = first, .sequence_count = count, .logprobs = logprobs.span(),
       .entropy = with_entropy ? entropy.span() : std::span<const float>{},
       .policy_weights = host_weights.empty() ? std::span<const float>{} : weights.span(), .scope = scope},
      {.logprob_gradients = gradients.span(), .entropy_gradients = entropy_gradients.span()}, stream);
  device.gradients = gradients.download();
  device.entropy_gradients = entropy_gradients.download();
  return device;
}

// The device passes' arithmetic run on the host over the batch's own arrays: the sequence
// sums one sequence at a time, then evaluate_tokens over the slice in the token pass's chunks.
template <class Objective>
evaluation on_host_passes(const Objective& objective, const rlft_test::objective_fixture& fixture, std::size_t first,
                          std::size_t count, bool with_entropy, rlft::aggregation_scope scope = {},
                          std::span<const float> batch_weights = {}) {
  const auto& batch = fixture.batch;
  auto [logprobs, entropy, host] = slice_of(fixture, first, count, with_entropy);
  const auto term = rlft::cuda::detail::device_objective<Objective>::term(objective);
  using term_type = std::remove_const_t<decltype(term)>;
  rlft::kernels::objective_arguments args = rlft::cuda::detail::option_arguments(objective);
  args.batch = {.sequence_offsets = batch.sequence_offsets().data(),
                .loss_mask = batch.loss_mask().data(),
                .old_logprobs = batch.old_logprobs().data(),
                .ref_logprobs = batch.ref_logprobs().data(),
                .advantages = batch.advantages().data(),
                .num_sequences = batch.num_sequences(),
                .num_tokens = batch.num_tokens()};
  args.first_sequence = first;
  args.sequence_count = count;
  args.logprobs = logprobs.data();
  args.entropy = with_entropy ? entropy.data() : nullptr;
  const auto weights = slice_weights(batch, batch_weights, first, count);
  args.policy_weights = weights.empty() ? nullptr : weights.data();
  args.logprob_gradients = host.gradients.data();
  args.entropy_gradients = with_entropy ? host.entropy_gradients.data() : nullptr;
  args.scope = scope;
  rlft::kernels::slice_counts counts{};
  std::vector<rlft::kernels::sequence_facts<term_type>> facts(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto sums = rlft::kernels::sum_sequence(term, args, first + i, 0, 1);
    facts[i] = rlft::kernels::facts_of(term, sums);
    counts.loss_tokens += sums.loss_tokens;
    counts.sequences += sums.loss_tokens > 0;
  }
  const auto totals = rlft::kernels::totals_of(args, counts);
  rlft::kernels::objective_sums sums{};
  const std::size_t tokens = logprobs.size();
  constexpr int items = rlft::cuda::default_objective_tuning.items;
  for (std::size_t token = 0; token < tokens; token += items)
    rlft::kernels::evaluate_tokens<items>(term, args, facts.data(), totals, token, tokens, sums);
  sums.tokens = static_cast<double>(counts.loss_tokens);
  host.result = rlft::detail::result_from_sums(sums, term_type::reports_ratio, with_entropy);
  return host;
}

void check_same(const evaluation& device, const evaluation& cpu) {
  const auto& d = device.result;
  const auto& c = cpu.result;
  CHECK(d.loss == Approx(c.loss).epsilon(1e-5));
  CHECK(d.metrics.policy_loss == Approx(c.metrics.policy_loss).epsilon(1e-5));
  CHECK(d.metrics.kl_mean == Approx(c.metrics.kl_mean).epsilon(1e-5));
  CHECK(d.metrics.entropy_mean == Approx(c.metrics.entropy_mean).epsilon(1e-5));
  CHECK(d.metrics.ratio_mean == Approx(c.metrics.ratio_mean).epsilon(1e-5));
  CHECK(d.metrics.ratio_max == Approx(c.metrics.ratio_max).epsilon(1e-5));
  CHECK(d.metrics.clip_fraction_low == c.metrics.clip_fraction_low);
  CHECK(d.metrics.clip_fraction_high == c.metrics.clip_fraction_high);
  CHECK(d.metrics.dual_clip_fraction == c.metrics.dual_clip_fraction);
  CHECK(d.metrics.tokens == c.metrics.tokens);
  REQUIRE(device.gradients.size() == cpu.gradients.size());
  double largest = 0.0;
  for (const float g : cpu.gradients) largest = std::max(largest, std::abs(double{g}));
  std::size_t mismatches = 0;
  for (std::size_t t = 0; t < cpu.gradients.size(); ++t) {
    const double difference = std::abs(double{device.gradients[t]} - double{cpu.gradients[t]});
    mismatches += difference > 1e-5 * (std::abs(double{cpu.gradients[t]}) + largest);
  }
  CHECK(mismatches == 0);
  CHECK(device.entropy_gradients == cpu.entropy_gradients);  // −w·c_H in float: the same bits
}

const rlft::clip_range dual_clip{.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0};
const rlft::clip_range two_sided{.epsilon_low = 0.2, .epsilon_high = 0.28, .two_sided = 2.0};

}  // namespace

// GSPO-token, GMPO, CISPO and SAPO with the given shared options, each passed to `check`.
template <class Check>
void for_each_newer_objective(const rlft::kl_penalty& kl, double bonus, rlft::loss_aggregation aggregation,
                              double divisor, Check&& check) {
  check(rlft::gspo_token_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}, .kl = kl,
                                   .entropy_coefficient = bonus, .aggregation = aggregation, .constant_divisor = divisor});
  check(rlft::gmpo_objective{.kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                             .constant_divisor = divisor});
  check(rlft::cispo_objective{.epsilon_low = 0.2, .kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                              .constant_divisor = divisor});
  check(rlft::sapo_objective{.kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                             .constant_divisor = divisor});
}

TEST_CASE("cuda objectives check options and shapes on the host, with the CPU's messages") {
  const auto fixture = rlft_test::make_objective_fixture(41);
  const auto& batch = fixture.batch;
  const rlft::cuda::batch_shape shape(batch);
  const std::size_t tokens = batch.num_tokens();
  const rlft::detail::objective_span_sizes whole{.logprobs = tokens, .logprob_gradients = tokens};
  const auto device_message = [&](const auto& objective, std::size_t first, std::size_t count,
                                  const rlft::detail::objective_span_sizes& sizes) {
    return error_message([&] { rlft::cuda::detail::checked_objective_term(objective, shape, first, count, sizes); });
  };
  const auto cpu_message = [&](const auto& objective, std::size_t first, std::size_t count,
                               const rlft::detail::objective_span_sizes& sizes) {
    std::vector<float> logprobs(sizes.logprobs), gradients(sizes.logprob_gradients), entropy(sizes.entropy),
        entropy_gradients(sizes.entropy_gradients);
    return error_message([&] {
      objective({.batch = batch, .first_sequence = first, .sequence_count = count, .logprobs = logprobs,
                 .entropy = entropy},
                {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});
    });
  };
  const auto same = [&](const auto& objective, std::size_t first, std::size_t count,
                        const rlft::detail::objective_span_sizes& sizes) {
    const std::string expected = cpu_message(objective, first, count, sizes);
    CHECK(!expected.empty());
    CHECK(device_message(objective, first, count, sizes) == expected);
  };
  const std::size_t count = batch.num_sequences();
  same(rlft::clipped_surrogate_objective{.clip = {.epsilon_low = 1.5}}, 0, count, whole);
  same(rlft::clipped_surrogate_objective{.clip = {.dual_clip = 0.5}}, 0, count, whole);
  same(rlft::gspo_objective{.log_ratio_bound = 100.0}, 0, count, whole);
  same(rlft::reinforce_objective{.kl = {.coefficient = -1.0}}, 0, count, whole);
  same(rlft::reinforce_objective{.aggregation = rlft::loss_aggregation::sequence_mean_token_sum_normalized}, 0,
       count, whole);
  same(rlft::clipped_surrogate_objective{}, 0, 0, whole);
  same(rlft::clipped_surrogate_objective{}, 3, count, whole);
  same(rlft::clipped_surrogate_objective{}, 0, count, {.logprobs = tokens - 1, .logprob_gradients = tokens});
  same(rlft::clipped_surrogate_objective{}, 0, count, {.logprobs = tokens, .logprob_gradients = tokens + 1});
  same(rlft::clipped_surrogate_objective{.entropy_coefficient = 0.01}, 0, count, whole);
  same(rlft::clipped_surrogate_objective{.entropy_coefficient = 0.01}, 0, count,
       {.logprobs = tokens, .logprob_gradients = tokens, .entropy = tokens});
  same(rlft::clipped_surrogate_objective{}, 0, count,
       {.logprobs = tokens, .logprob_gradients = tokens, .entropy = 2});
  CHECK(device_message(rlft::gspo_objective{}, 0, count, whole).empty());
}

TEST_CASE("cuda objective: the launch shape of the token pass") {
  constexpr std::size_t tile = std::size_t(rlft::cuda::default_objective_tuning.threads) * rlft::cuda::default_objective_tuning.items;
  CHECK(rlft::cuda::objective_blocks(0) == 1);
  CHECK(rlft::cuda::objective_blocks(tile) == 1);
  CHECK(rlft::cuda::objective_blocks(tile + 1) == 2);
  CHECK(rlft::cuda::objective_blocks(tile * rlft::cuda::default_objective_tuning.max_blocks * 3) == rlft::cuda::default_objective_tuning.max_blocks);
}

TEST_CASE("cuda objectives: the passes' arithmetic, run on the host, equals the CPU objectives") {
  // Masked tokens, a fully masked sequence, four-token chunks across sequence ends; slices
  // that start inside the batch, with and without the mini-batch scope.
  const auto fixture = rlft_test::make_objective_fixture(45, {.sequences = 60, .group_size = 6, .max_completion = 300});
  const std::size_t all = fixture.batch.num_sequences();
  const auto scope = rlft::count_aggregation_scope(fixture.batch);
  const std::vector<float> weights = varied_weights(fixture.batch);
  for (const auto aggregation : all_aggregations)
    for (const auto estimator : {rlft::kl_estimator::k1, rlft::kl_estimator::k2, rlft::kl_estimator::k3,
                                 rlft::kl_estimator::abs, rlft::kl_estimator::k3_plus})
      for (const bool with_entropy : {false, true}) {
        CAPTURE(aggregation);
        CAPTURE(estimator);
        CAPTURE(with_entropy);
        // k1 runs without a KL term, and with entropies that are only reported (no bonus); the
        // KL term is importance-weighted (TRL's bias correction) in the runs with entropies.
        const bool no_kl = estimator == rlft::kl_estimator::k1;
        const rlft::kl_penalty kl{
            .coefficient = no_kl ? 0.0 : 0.04, .estimator = estimator, .importance_weighted = with_entropy};
        const double bonus = with_entropy && !no_kl ? 0.01 : 0.0;
        for (const auto& clip : {dual_clip, two_sided}) {
          const rlft::clipped_surrogate_objective clipped{.clip = clip, .kl = kl, .entropy_coefficient = bonus,
                                                          .aggregation = aggregation, .constant_divisor = 300.0};
          check_same(on_host_passes(clipped, fixture, 0, all, with_entropy), on_cpu(clipped, fixture, 0, all, with_entropy));
          check_same(on_host_passes(clipped, fixture, 17, 20, with_entropy, scope),
                     on_cpu(clipped, fixture, 17, 20, with_entropy, scope));
        }
        const rlft::gspo_objective gspo{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}, .kl = kl,
                                        .entropy_coefficient = bonus, .aggregation = aggregation,
                                        .constant_divisor = 300.0};
        check_same(on_host_passes(gspo, fixture, 0, all, with_entropy), on_cpu(gspo, fixture, 0, all, with_entropy));
        check_same(on_host_passes(gspo, fixture, 5, 31, with_entropy), on_cpu(gspo, fixture, 5, 31, with_entropy));
        const rlft::reinforce_objective reinforce{.kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                                                  .constant_divisor = 300.0};
        check_same(on_host_passes(reinforce, fixture, 3, 40, with_entropy, scope),
                   on_cpu(reinforce, fixture, 3, 40, with_entropy, scope));
        for_each_newer_objective(kl, bonus, aggregation, 300.0, [&](const auto& objective) {
          check_same(on_host_passes(objective, fixture, 0, all, with_entropy),
                     on_cpu(objective, fixture, 0, all, with_entropy));
          check_same(on_host_passes(objective, fixture, 5, 31, with_entropy, scope, weights),
                     on_cpu(objective, fixture, 5, 31, with_entropy, scope, weights));
        });
        check_same(on_host_passes(gspo, fixture, 2, 40, with_entropy, scope, weights),
                   on_cpu(gspo, fixture, 2, 40, with_entropy, scope, weights));
        // The KL term under its own aggregation.
        const rlft::clipped_surrogate_objective own_kl{.kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                                                       .constant_divisor = 300.0,
                                                       .kl_aggregation = rlft::loss_aggregation::sequence_mean_token_sum};
        check_same(on_host_passes(own_kl, fixture, 0, all, with_entropy), on_cpu(own_kl, fixture, 0, all, with_entropy));
      }
}

TEST_SUITE("gpu") {
  TEST_CASE("cuda objectives equal the CPU objectives for every clip, KL, entropy and aggregation setting") {
    // Sequences longer than a block's threads, masked tokens, a fully masked sequence.
    const auto fixture = rlft_test::make_objective_fixture(42, {.sequences = 96, .group_size = 8, .max_completion = 700});
    const rlft::cuda::device_rollout_batch device_batch(fixture.batch, nullptr);
    const std::size_t count = fixture.batch.num_sequences();
    const std::vector<float> weights = varied_weights(fixture.batch);
    const std::optional<rlft::kl_estimator> estimators[] = {std::nullopt,           rlft::kl_estimator::k1,
                                                            rlft::kl_estimator::k2, rlft::kl_estimator::k3,
                                                            rlft::kl_estimator::abs, rlft::kl_estimator::k3_plus};
    for (const auto aggregation : all_aggregations)
      for (const auto& estimator : estimators)
        for (const int entropy : {0, 1, 2}) {  // none, the metric only, the bonus
          CAPTURE(static_cast<int>(aggregation));
          CAPTURE(entropy);
          const rlft::kl_penalty kl{.coefficient = estimator ? 0.05 : 0.0,
                                    .estimator = estimator.value_or(rlft::kl_estimator::k3),
                                    .importance_weighted = entropy == 1};
          const double bonus = entropy == 2 ? 0.01 : 0.0;
          const bool with_entropy = entropy != 0;
          for (const auto& clip : {dual_clip, two_sided}) {
            const rlft::clipped_surrogate_objective clipped{.clip = clip, .kl = kl, .entropy_coefficient = bonus,
                                                            .aggregation = aggregation, .constant_divisor = 700.0};
            check_same(on_device(clipped, fixture, device_batch, 0, count, with_entropy),
                       on_cpu(clipped, fixture, 0, count, with_entropy));
          }
          const rlft::gspo_objective gspo{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}, .kl = kl,
                                          .entropy_coefficient = bonus, .aggregation = aggregation,
                                          .constant_divisor = 700.0};
          check_same(on_device(gspo, fixture, device_batch, 0, count, with_entropy),
                     on_cpu(gspo, fixture, 0, count, with_entropy));
          const rlft::reinforce_objective reinforce{.kl = kl, .entropy_coefficient = bonus,
                                                    .aggregation = aggregation, .constant_divisor = 700.0};
          check_same(on_device(reinforce, fixture, device_batch, 0, count, with_entropy),
                     on_cpu(reinforce, fixture, 0, count, with_entropy));
          const rlft::gspo_objective own_kl{.kl = kl, .entropy_coefficient = bonus, .aggregation = aggregation,
                                            .constant_divisor = 700.0,
                                            .kl_aggregation = rlft::loss_aggregation::token_mean};
          check_same(on_device(own_kl, fixture, device_batch, 0, count, with_entropy),
                     on_cpu(own_kl, fixture, 0, count, with_entropy));
          for_each_newer_objective(kl, bonus, aggregation, 700.0, [&](const auto& objective) {
            check_same(on_device(objective, fixture, device_batch, 0, count, with_entropy),
                       on_cpu(objective, fixture, 0, count, with_entropy));
            check_same(on_device(objective, fixture, device_batch, 0, count, with_entropy, {}, weights),
                       on_cpu(objective, fixture, 0, count, with_entropy, {}, weights));
          });
        }
  }

  TEST_CASE("cuda objectives: more tokens than the token pass's blocks hold (threads loop over tiles)") {
    const std::size_t tile = std::size_t(rlft::cuda::default_objective_tuning.threads) * rlft::cuda::default_objective_tuning.items;
    const auto fixture = rlft_test::make_objective_fixture(44, {.sequences = 12000, .group_size = 4,
                                                                .max_completion = 400});
    REQUIRE(fixture.batch.num_tokens() > tile * rlft::cuda::default_objective_tuning.max_blocks);
    const std::size_t count = fixture.batch.num_sequences();
    const rlft::cuda::device_rollout_batch device_batch(fixture.batch, nullptr);
    const rlft::clipped_surrogate_objective objective{.clip = dual_clip, .kl = {.coefficient = 0.05}};
    check_same(on_device(objective, fixture, device_batch, 0, count, true),
               on_cpu(objective, fixture, 0, count, true));
    const rlft::gspo_objective gspo{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}};
    check_same(on_device(gspo, fixture, device_batch, 0, count, false), on_cpu(gspo, fixture, 0, count, false));
  }

  TEST_CASE("cuda objectives: slices with the mini-batch scope equal the CPU's slices") {
    const auto fixture = rlft_test::make_objective_fixture(43, {.sequences = 40, .max_completion = 300});
    const rlft::cuda::device_rollout_batch device_batch(fixture.batch, nullptr);
    const auto scope = rlft::count_aggregation_scope(fixture.batch);
    const rlft::clipped_surrogate_objective objective{.clip = dual_clip, .kl = {.coefficient = 0.1},
                                                      .aggregation = rlft::loss_aggregation::token_mean};
    for (const auto& [first, count] : {std::pair<std::size_t, std::size_t>{0, 7}, {7, 1}, {8, 32}}) {
      CAPTURE(first);
      check_same(on_device(objective, fixture, device_batch, first, count, false, scope),
                 on_cpu(objective, fixture, first, count, false, scope));
      // A scope with only one member given: the other is counted on the device.
      const rlft::aggregation_scope tokens_only{.loss_tokens = scope.loss_tokens};
      check_same(on_device(objective, fixture, device_batch, first, count, false, tokens_only),
                 on_cpu(objective, fixture, first, count, false, tokens_only));
    }
  }

  TEST_CASE("cuda objectives are deterministic: two runs give the same bits") {
    const auto fixture = rlft_test::make_objective_fixture(44, {.sequences = 300, .max_completion = 400});
    const rlft::cuda::device_rollout_batch device_batch(fixture.batch, nullptr);
    const rlft::gspo_objective objective{.kl = {.coefficient = 0.04}};
    const auto one = on_device(objective, fixture, device_batch, 0, 300, true);
    const auto two = on_device(objective, fixture, device_batch, 0, 300, true);
    CHECK(one.result.loss == two.result.loss);
    CHECK(one.result.metrics.kl_mean == two.result.metrics.kl_mean);
    CHECK(one.gradients == two.gradients);
  }

  TEST_CASE("cuda objectives name the first non-finite input and a too small scope as the CPU does") {
    auto fixture = rlft_test::make_objective_fixture(45, {.sequences = 24});
    auto& batch = fixture.batch;
    const std::size_t count = batch.num_sequences();
    const rlft::clipped_surrogate_objective objective{.kl = {.coefficient = 0.1}};
    const auto both = [&](const rlft_test::objective_fixture& f, rlft::aggregation_scope scope) {
      const rlft::cuda::device_rollout_batch device_batch(f.batch, nullptr);
      const std::string cpu = error_message([&] { on_cpu(objective, f, 0, count, true, scope); });
      const std::string device = error_message([&] { on_device(objective, f, device_batch, 0, count, true, scope); });
      CHECK(!cpu.empty());
      CHECK(device == cpu);
    };
    // Loss tokens of sequence 5: NaN reference log-prob on one, infinite log-prob on a later one.
    std::vector<std::size_t> loss_tokens;
    for (std::size_t t = batch.sequence_begin(5); t < batch.sequence_end(5); ++t)
      if (batch.loss_mask()[t]) loss_tokens.push_back(t);
    REQUIRE(loss_tokens.size() >= 2);
    batch.ref_logprobs()[loss_tokens[0]] = std::nanf("");
    fixture.logprobs[loss_tokens[1]] = -INFINITY;
    both(fixture, {});
    fixture.entropy[loss_tokens[0]] = INFINITY;
    batch.ref_logprobs()[loss_tokens[0]] = -1.0f;
    both(fixture, {});
    fixture.entropy[loss_tokens[0]] = 1.0f;
    fixture.logprobs[loss_tokens[1]] = -1.0;
    both(fixture, {.sequences = 2});
  }
}
