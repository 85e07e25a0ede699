// Every objective's dL/d(log-prob) and dL/d(entropy) against central finite differences of
// its own loss, in double precision, for every aggregation mode and clip configuration, with
// every KL estimator and with and without the entropy bonus, on random inputs with fixed seeds:
// relative error <= 1e-6 per token (tokens whose gradient is below 1e-3 of the largest are
// compared against that floor instead of their own size). CISPO's stop-gradient weight is held
// by moving the old log-prob with the log-prob; GSPO-token's stop-gradients have no such
// device, and it is held to GSPO's gradients where the two must agree.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "objective_fixture.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/gspo_token_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"

using rlft_test::all_aggregations;

namespace {

// Round-off of a central difference grows like ε·|L|/h, truncation like h²: 1e-4 balances
// them far below the tolerance (the fixture keeps every kink at least 1e-3 away).
constexpr double step = 1e-4;
constexpr double tolerance = 1e-6;

const rlft::kl_penalty all_kl_terms[] = {{.coefficient = 0.0},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k1},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k2},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::k3},
                                         {.coefficient = 0.3, .estimator = rlft::kl_estimator::abs}};
constexpr std::size_t kl_term_count = std::size(all_kl_terms);

const rlft::clip_range all_clips[] = {{.epsilon_low = 0.2, .epsilon_high = 0.2},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.2, .two_sided = 2.0},
                                      {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0, .two_sided = 2.0}};

double relative_error(double finite_difference, double analytic, double floor) {
  return std::abs(finite_difference - analytic) / std::max({std::abs(analytic), floor, 1e-300});
}

// Checks the analytic gradients of `objective` at the fixture's inputs; returns the largest
// relative error seen. With `old_moves`, each step of a log-prob moves its old log-prob too,
// holding the importance ratio (the step is a power of 2 that float old log-probs in (−4, 0)
// take exactly).
template <class Objective>
double check_gradients(const Objective& objective, const rlft_test::objective_fixture& fixture,
                       bool old_moves = false) {
  rlft::rollout_batch batch = fixture.batch;
  const double h = old_moves ? 1.0 / 4096 : step;
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
      const float old = batch.old_logprobs()[t];
      const bool move_old = old_moves && values == &logprobs;
      const auto set = [&](double offset) {
        (*values)[t] = original + offset;
        if (move_old) batch.old_logprobs()[t] = static_cast<float>(old + offset);
      };
      set(h);
      const double up = loss_at();
      set(-h);
      const double down = loss_at();
      set(0.0);
      const double error = relative_error((up - down) / (2.0 * h), (*analytic)[t], 1e-3 * largest);
      worst = std::max(worst, error);
      if (error > tolerance)
        FAIL_CHECK("token " << t << ": finite difference " << (up - down) / (2.0 * h) << ", analytic "
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
      const auto& kl = all_kl_terms[static_cast<std::size_t>(pair) % kl_term_count];
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

// An objective made by make(kl, aggregation, entropy_coefficient) with every KL term and every
// aggregation; returns the largest relative error.
template <class MakeObjective>
double check_kl_and_aggregations(const rlft_test::objective_fixture& fixture, double entropy_coefficient,
                                 MakeObjective make, bool old_moves = false) {
  double worst = 0.0;
  for (const auto& kl : all_kl_terms)
    for (const auto aggregation : all_aggregations)
      worst = std::max(worst, check_gradients(make(kl, aggregation, entropy_coefficient), fixture, old_moves));
  return worst;
}

TEST_CASE("reinforce: exact gradients") {
  const double worst = check_kl_and_aggregations(
      rlft_test::make_objective_fixture(6), -0.05, [](const rlft::kl_penalty& kl, rlft::loss_aggregation aggregation,
                                                      double entropy) {
        return rlft::reinforce_objective{
            .kl = kl, .entropy_coefficient = entropy, .aggregation = aggregation, .constant_divisor = 16.0};
      });
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("sapo: exact gradients of the soft gate, for both temperatures") {
  double worst = 0.0;
  const auto fixture = rlft_test::make_objective_fixture(7);
  for (const auto& [positive, negative] : {std::pair{1.0, 1.05}, std::pair{2.0, 0.5}})
    worst = std::max(worst, check_kl_and_aggregations(fixture, 0.01, [&](const rlft::kl_penalty& kl,
                                                                         rlft::loss_aggregation aggregation,
                                                                         double entropy) {
      return rlft::sapo_objective{.temperature_positive = positive, .temperature_negative = negative, .kl = kl,
                                  .entropy_coefficient = entropy, .aggregation = aggregation, .constant_divisor = 16.0};
    }));
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("gmpo: exact gradients of the geometric mean, with one or several advantages per sequence") {
  double worst = 0.0;
  for (const bool constant_advantage : {true, false}) {
    const auto fixture = rlft_test::make_objective_fixture(
        8, {.sequences = 24, .max_completion = 6, .constant_advantage_per_sequence = constant_advantage});
    worst = std::max(worst, check_kl_and_aggregations(fixture, 0.01, [](const rlft::kl_penalty& kl,
                                                                        rlft::loss_aggregation aggregation,
                                                                        double entropy) {
      return rlft::gmpo_objective{
          .kl = kl, .entropy_coefficient = entropy, .aggregation = aggregation, .constant_divisor = 16.0};
    }));
  }
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("cispo: exact gradients with the clipped weight held constant") {
  double worst = 0.0;
  const auto fixture = rlft_test::make_objective_fixture(9);
  for (const auto& [low, high] : {std::pair{1.0, 0.28}, std::pair{0.2, 0.28}, std::pair{0.2, 0.2}})
    worst = std::max(worst, check_kl_and_aggregations(
                                fixture, 0.01,
                                [&](const rlft::kl_penalty& kl, rlft::loss_aggregation aggregation, double entropy) {
                                  return rlft::cispo_objective{.epsilon_low = low, .epsilon_high = high, .kl = kl,
                                                               .entropy_coefficient = entropy,
                                                               .aggregation = aggregation, .constant_divisor = 16.0};
                                },
                                /*old_moves=*/true));
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("gspo-token equals gspo in loss and gradient when each sequence has one advantage") {
  const auto fixture = rlft_test::make_objective_fixture(
      10, {.sequences = 24, .max_completion = 6, .constant_advantage_per_sequence = true});
  const auto& batch = fixture.batch;
  const std::size_t n = batch.num_tokens();
  for (const auto& clip : all_clips)
    for (const auto aggregation : all_aggregations) {
      const rlft::kl_penalty kl{.coefficient = 0.3};
      std::vector<double> sequence_gradients(n), token_gradients(n);
      const rlft::basic_objective_input<double> in{
          .batch = batch, .sequence_count = batch.num_sequences(), .logprobs = fixture.logprobs};
      const auto sequence = rlft::gspo_objective{.clip = clip, .kl = kl, .aggregation = aggregation,
                                                 .constant_divisor = 16.0}
                                .evaluate<double>(in, {.logprob_gradients = sequence_gradients});
      const auto token = rlft::gspo_token_objective{.clip = clip, .kl = kl, .aggregation = aggregation,
                                                    .constant_divisor = 16.0}
                             .evaluate<double>(in, {.logprob_gradients = token_gradients});
      CHECK(token.loss == doctest::Approx(sequence.loss).epsilon(1e-12));
      for (std::size_t t = 0; t < n; ++t)
        CHECK(token_gradients[t] == doctest::Approx(sequence_gradients[t]).epsilon(1e-12));
    }
}

TEST_CASE("a KL term under its own aggregation: exact gradients for every pair of modes") {
  double worst = 0.0;
  const auto fixture = rlft_test::make_objective_fixture(11);
  const rlft::kl_penalty kl{.coefficient = 0.3, .estimator = rlft::kl_estimator::k3};
  for (const auto aggregation : all_aggregations)
    for (const auto kl_aggregation : all_aggregations) {
      CAPTURE(static_cast<int>(aggregation));
      CAPTURE(static_cast<int>(kl_aggregation));
      worst = std::max(worst, check_gradients(rlft::gspo_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2},
                                                                   .kl = kl,
                                                                   .entropy_coefficient = 0.01,
                                                                   .aggregation = aggregation,
                                                                   .constant_divisor = 16.0,
                                                                   .kl_aggregation = kl_aggregation},
                                              fixture));
      worst = std::max(worst, check_gradients(rlft::clipped_surrogate_objective{.kl = kl,
                                                                                .aggregation = aggregation,
                                                                                .constant_divisor = 16.0,
                                                                                .kl_aggregation = kl_aggregation},
                                              fixture));
    }
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}

TEST_CASE("an importance-weighted KL term (TRL's bias correction): exact gradients through the ratio") {
  double worst = 0.0;
  const auto fixture = rlft_test::make_objective_fixture(12);
  for (const auto estimator : {rlft::kl_estimator::k1, rlft::kl_estimator::k2, rlft::kl_estimator::k3,
                               rlft::kl_estimator::abs}) {
    const rlft::kl_penalty kl{.coefficient = 0.3, .estimator = estimator, .importance_weighted = true};
    CAPTURE(static_cast<int>(estimator));
    for (const auto aggregation : all_aggregations) {
      CAPTURE(static_cast<int>(aggregation));
      worst = std::max(worst, check_gradients(rlft::clipped_surrogate_objective{.kl = kl,
                                                                                .aggregation = aggregation,
                                                                                .constant_divisor = 16.0},
                                              fixture));
      worst = std::max(worst, check_gradients(rlft::sapo_objective{.kl = kl,
                                                                   .aggregation = rlft::loss_aggregation::token_mean,
                                                                   .constant_divisor = 16.0,
                                                                   .kl_aggregation = aggregation},
                                              fixture));
    }
  }
  MESSAGE("largest relative error: " << worst);
  CHECK(worst <= tolerance);
}
