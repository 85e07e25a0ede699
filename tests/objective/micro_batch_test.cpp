// Micro-batching and determinism: slices normalised by the mini-batch scope add up to the
// whole mini-batch; the float path agrees with the double path; results do not depend on
// the number of threads.
#include <doctest/doctest.h>

#include <vector>

#include "objective_fixture.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"
#include "thread_counts.hpp"

using doctest::Approx;

using rlft_test::all_aggregations;

namespace {

struct evaluation {
  rlft::objective_result result;
  std::vector<double> gradients, entropy_gradients;
};

// The objective over sequences [first, first + count) with the given scope, in Real.
template <class Real, class Objective>
evaluation run_slice(const Objective& objective, const rlft_test::objective_fixture& fixture, std::size_t first,
                     std::size_t count, rlft::aggregation_scope scope) {
  const auto& batch = fixture.batch;
  const std::size_t begin = batch.sequence_begin(first), end = batch.sequence_end(first + count - 1);
  std::vector<Real> logprobs(fixture.logprobs.begin() + static_cast<std::ptrdiff_t>(begin),
                             fixture.logprobs.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<Real> entropy(fixture.entropy.begin() + static_cast<std::ptrdiff_t>(begin),
                            fixture.entropy.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<Real> gradients(end - begin), entropy_gradients(end - begin);
  const auto result = objective.template evaluate<Real>(
      {.batch = batch, .first_sequence = first, .sequence_count = count, .logprobs = logprobs, .entropy = entropy,
       .scope = scope},
      {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});
  return {result, {gradients.begin(), gradients.end()}, {entropy_gradients.begin(), entropy_gradients.end()}};
}

template <class Objective>
void check_slices_add_up(const Objective& objective, const rlft_test::objective_fixture& fixture) {
  const auto& batch = fixture.batch;
  const auto whole = run_slice<double>(objective, fixture, 0, batch.num_sequences(), {});
  const auto scope = rlft::count_aggregation_scope(batch);
  double loss = 0.0, policy_loss = 0.0;
  std::vector<double> gradients, entropy_gradients;
  std::size_t tokens = 0;
  for (const auto& [first, count] : {std::pair<std::size_t, std::size_t>{0, 5}, {5, 1}, {6, 10}, {16, 4}}) {
    const auto slice = run_slice<double>(objective, fixture, first, count, scope);
    loss += slice.result.loss;
    policy_loss += slice.result.metrics.policy_loss;
    tokens += slice.result.metrics.tokens;
    gradients.insert(gradients.end(), slice.gradients.begin(), slice.gradients.end());
    entropy_gradients.insert(entropy_gradients.end(), slice.entropy_gradients.begin(), slice.entropy_gradients.end());
  }
  CHECK(loss == Approx(whole.result.loss).epsilon(1e-12));
  CHECK(policy_loss == Approx(whole.result.metrics.policy_loss).epsilon(1e-12));
  CHECK(tokens == whole.result.metrics.tokens);
  CHECK(gradients == whole.gradients);  // the same per-token arithmetic: identical bits
  CHECK(entropy_gradients == whole.entropy_gradients);
}

}  // namespace

TEST_CASE("slices normalised by the mini-batch scope sum to the mini-batch's loss and gradient") {
  const auto fixture = rlft_test::make_objective_fixture(31, {.sequences = 20});
  for (const auto aggregation : all_aggregations) {
    CAPTURE(static_cast<int>(aggregation));
    const rlft::kl_penalty kl{.coefficient = 0.1, .estimator = rlft::kl_estimator::k3};
    check_slices_add_up(rlft::clipped_surrogate_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0},
                                                          .kl = kl,
                                                          .entropy_coefficient = 0.01,
                                                          .aggregation = aggregation,
                                                          .constant_divisor = 12.0},
                        fixture);
    check_slices_add_up(rlft::gspo_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2},
                                             .kl = kl,
                                             .entropy_coefficient = 0.01,
                                             .aggregation = aggregation,
                                             .constant_divisor = 12.0},
                        fixture);
    check_slices_add_up(rlft::reinforce_objective{.kl = kl,
                                                  .entropy_coefficient = 0.01,
                                                  .aggregation = aggregation,
                                                  .constant_divisor = 12.0},
                        fixture);
  }
}

TEST_CASE("the float path computes what the double path computes") {
  const auto fixture = rlft_test::make_objective_fixture(32, {.sequences = 40});
  for (const auto estimator : {rlft::kl_estimator::k1, rlft::kl_estimator::k2, rlft::kl_estimator::k3}) {
    const rlft::clipped_surrogate_objective objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.28, .two_sided = 2.0},
                                                      .kl = {.coefficient = 0.2, .estimator = estimator},
                                                      .entropy_coefficient = 0.01};
    const auto single = run_slice<float>(objective, fixture, 0, 40, {});
    const auto reference = run_slice<double>(objective, fixture, 0, 40, {});
    CHECK(single.result.loss == Approx(reference.result.loss).epsilon(1e-5));
    CHECK(single.result.metrics.kl_mean == Approx(reference.result.metrics.kl_mean).epsilon(1e-5));
    CHECK(single.result.metrics.ratio_mean == Approx(reference.result.metrics.ratio_mean).epsilon(1e-5));
    CHECK(single.result.metrics.clip_fraction_low == reference.result.metrics.clip_fraction_low);
    CHECK(single.result.metrics.clip_fraction_high == reference.result.metrics.clip_fraction_high);
    double largest = 0.0;
    for (const double g : reference.gradients) largest = std::max(largest, std::abs(g));
    for (std::size_t t = 0; t < reference.gradients.size(); ++t)
      CHECK(std::abs(single.gradients[t] - reference.gradients[t]) <= 1e-5 * largest);
  }
}

TEST_CASE("objectives give the same bits for every thread count") {
  const auto fixture = rlft_test::make_objective_fixture(33, {.sequences = 300});
  const auto run = [&] {
    const auto clipped = run_slice<float>(
        rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.04}, .aggregation = rlft::loss_aggregation::token_mean},
        fixture, 0, 300, {});
    const auto gspo = run_slice<float>(rlft::gspo_objective{}, fixture, 0, 300, {});
    std::vector<double> bits{clipped.result.loss, clipped.result.metrics.kl_mean, clipped.result.metrics.ratio_mean,
                             gspo.result.loss};
    bits.insert(bits.end(), clipped.gradients.begin(), clipped.gradients.end());
    bits.insert(bits.end(), gspo.gradients.begin(), gspo.gradients.end());
    return bits;
  };
  const auto [one, two, three] = rlft::testing::results_for_thread_counts(run);
  CHECK(one == two);
  CHECK(one == three);
}
