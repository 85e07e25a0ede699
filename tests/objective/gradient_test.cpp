// Every objective's dL/d(log-prob) and dL/d(entropy) against central finite differences of
// its own loss, in double precision, for every aggregation mode and clip configuration, with
// every KL estimator and with and without the entropy bonus, on random inputs with fixed seeds:
// relative error <= 1e-6 per token (tokens whose gradient is below 1e-3 of the largest are
// compared against that floor instead of their own size).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "objective_fixture.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"

namespace {

// Round-off of a central difference grows like ε·|L|/h, truncation like h²: 1e-4 balances
// them far below the tolerance (the fixture keeps every kink at least 1e-3 away).
constexpr double step = 1e-4;
constexpr double tolerance = 1e-6;

const rlft::loss_aggregation all_aggregations[] = {
    rlft::loss_aggregation::token_mean, rlft::loss_aggregation::sequence_mean_token_mean,
    rlft::loss_aggregation::sequence_mean_token_sum, rlft::loss_aggregation::sequence_mean_token_sum_normalized};

const rlft::kl_penalty all_kl_terms[] = {{.coefficient = 0.0},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k1},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k2},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k3}};

const rlft::clip_range all_clips[] = {{.epsilon_low = 0.2, .epsilon_high = 0.2},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.2, .two_sided = 2.0},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0, .two_sided = 2.0}};

double relative_error(double finite_difference, double analytic, double floor) {
  return std::abs(finite_difference - analytic) / std::max({std::abs(analytic), floor, 1e-300});
}

// Checks the analytic gradients of `objective` at the fixture's inputs; returns the largest
// relative error seen.
template <class Objective>
double check_gradients(const Objective& objective, const rlft_test::objective_fixture& fixture) {
  const auto& batch = fixture.batch;
  const std::size_t n = batch.num_tokens();
  std::vector<double> logprobs = fixture.logprobs, entropy = fixture.entropy;
  const auto loss_at = [&] {
    std::vector<double> gradients(n), entropy_gradients(n);
    return objective
        .template evaluate<double>({.batch = batch, .sequence_count = batch.num_sequences(), .logprobs = logprobs,
                                    .entropy = entropy},
                                   {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients})
        .loss;
  };
  std::vector<double> gradients(n), entropy_gradients(n);
  objective.template evaluate<double>(
      {.batch = batch, .sequence_count = batch.num_sequences(), .logprobs = logprobs, .entropy = entropy},
      {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});

  double worst = 0.0;
  for (auto [values, analytic] : {std::pair{&logprobs, &gradients}, std::pair{&entropy, &entropy_gradients}}) {
    double largest = 0.0;
    for (const double g : *analytic) largest = std::max(largest, std::abs(g));
    for (std::size_t t = 0; t < n; ++t) {
      const double original = (*values)[t];
      (*values)[t] = original + step;
      const double up = loss_at();
      (*values)[t] = original - step;
      const double down = loss_at();
      (*values)[t] = original;
      const double error = relative_error((up - down) / (2.0 * step), (*analytic)[t], 1e-3 * largest);
      worst = std::max(worst, error);
      if (error > tolerance)
        FAIL_CHECK("token " << t << ": finite difference " << (up - down) / (2.0 * step) << ", analytic "
                            << (*analytic)[t] << " (largest " << largest << ")");
    }
  }
  return worst;
}

}  // namespace

// Every clip configuration with every aggregation; the KL term and the entropy bonus rotate
// through these pairs so that each appears with several of each, and one pair runs them all.
template <class MakeObjective>
double check_all_settings(const rlft_test::objective_fixture& fixture, MakeObjective make) {
  double worst = 0.0;
  int pair = 0;
  for (const auto& clip : all_clips)
    for (const auto aggregation : all_aggregations) {
      const auto& kl = all_kl_terms[pair % 4];
      const double entropy_coefficient = (pair / 4) % 2 ? 0.01 : 0.0;
      CAPTURE(pair);
      worst = std::max(worst, check_gradients(make(clip, kl, aggregation, entropy_coefficient), fixture));
      ++pair;
    }
  for (const auto& kl : all_kl_terms)
    for (const double entropy_coefficient : {0.0, 0.01}) {
      CAPTURE(static_cast<int>(kl.estimator));
      worst = std::max(worst, check_gradients(make(all_clips[4], kl, rlft::loss_aggregation::token_mean,
                                                   entropy_coefficient),
                                              fixture));
    }
  return worst;
}

TEST_CASE("clipped surrogate: exact gradients for every clip, KL, entropy and aggregation setting") {
  const auto fixture = rlft_test::make_objective_fixture(1);
  const double worst = check_all_settings(fixture, [](const rlft::clip_range& clip, const rlft::kl_penalty& kl,
                                                      rlft::loss_aggregation aggregation, double entropy_coefficient) {
    return rlft::clipped_surrogate_objective{.clip = clip,
                                             .kl = kl,
                                             .entropy_coefficient = entropy_coefficient,
                                             .aggregation = aggregation,
                                             .constant_divisor = 16.0};
  });
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("gspo: exact gradients of the sequence-level objective") {
  double worst = 0.0;
  for (const bool constant_advantage : {true, false}) {
    const auto fixture = rlft_test::make_objective_fixture(
        3, {.sequences = 24, .max_completion = 6, .constant_advantage_per_sequence = constant_advantage});
    worst = std::max(worst, check_all_settings(fixture, [](const rlft::clip_range& clip, const rlft::kl_penalty& kl,
                                                           rlft::loss_aggregation aggregation,
                                                           double entropy_coefficient) {
      return rlft::gspo_objective{.clip = clip,
                                  .kl = kl,
                                  .entropy_coefficient = entropy_coefficient,
                                  .aggregation = aggregation,
                                  .constant_divisor = 16.0};
    }));
  }
  // The paper's clip range, 3e-4 / 4e-4, around sequences whose ratios sit inside and outside it.
  auto fixture = rlft_test::make_objective_fixture(5, {.sequences = 16, .constant_advantage_per_sequence = true});
  for (std::size_t s = 0; s < fixture.batch.num_sequences(); ++s) {
    // ±7.5e-4 (outside), ±2.5e-4 (inside): more than a step from the kinks at −3e-4 and 4e-4.
    const double shift = (static_cast<double>(s % 4) - 1.5) * 5e-4;
    for (std::size_t t = fixture.batch.sequence_begin(s); t < fixture.batch.sequence_end(s); ++t)
      fixture.logprobs[t] = fixture.batch.old_logprobs()[t] + shift;
  }
  for (const auto aggregation : all_aggregations)
    worst = std::max(worst, check_gradients(rlft::gspo_objective{.aggregation = aggregation, .constant_divisor = 8.0},
                                            fixture));
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("reinforce: exact gradients") {
  double worst = 0.0;
  const auto fixture = rlft_test::make_objective_fixture(6);
  for (const auto& kl : all_kl_terms)
    for (const auto aggregation : all_aggregations)
      worst = std::max(worst, check_gradients(rlft::reinforce_objective{.kl = kl,
                                                                        .entropy_coefficient = -0.05,
                                                                        .aggregation = aggregation,
                                                                        .constant_divisor = 16.0},
                                              fixture));
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}
