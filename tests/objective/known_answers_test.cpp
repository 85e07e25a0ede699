// Objectives against answers known without running them: losses evaluated by hand, the
// on-policy limit (ratio 1, β = 0: the REINFORCE gradient weighted by the aggregation), a
// reference equal to the current policy (the KL term vanishes), and PyTorch's subgradients at
// the kinks of the clipped surrogate.
#include <doctest/doctest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "objective_fixture.hpp"
#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/gspo_token_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"

using doctest::Approx;

namespace {

// Two completions of one prompt. Sequence 0: tokens 1, 2 with ratios 1.5 (A = 1) and 0.5
// (A = −1); sequence 1: tokens 4, 5 with ratios 1.1 (A = 2) and 4 (A = −1). Old log-probs 0.
struct hand_batch {
  rlft::rollout_batch batch = rlft::rollout_batch::with_group_size(
      rlft::token_sequences({1, 2, 3, 1, 2, 3}, {0, 3, 6}), {1, 1}, 2);
  std::vector<float> logprobs{0.0f, std::log(1.5f), std::log(0.5f), 0.0f, std::log(1.1f), std::log(4.0f)};
  std::vector<float> gradients = std::vector<float>(6);

  hand_batch() {
    const std::vector<float> advantages{0.0f, 1.0f, -1.0f, 0.0f, 2.0f, -1.0f};
    std::copy(advantages.begin(), advantages.end(), batch.advantages().begin());
  }

  rlft::objective_result run(const rlft::clipped_surrogate_objective& objective) { return run_with(objective); }

  template <class Objective>
  rlft::objective_result run_with(const Objective& objective) {
    return objective({.batch = batch, .sequence_count = 2, .logprobs = logprobs}, {.logprob_gradients = gradients});
  }
};

}  // namespace

TEST_CASE("clipped surrogate: loss, gradient and metrics evaluated by hand") {
  hand_batch fixture;
  // Per-token losses max(−A·r, −A·clip(r, 0.8, 1.2)): −1.2 (clipped high), 0.8 (clipped low),
  // −2.2, 4 (unclipped: −A·r > −A·1.2 for A < 0).
  auto result = fixture.run({.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}});
  CHECK(result.loss == Approx(0.5 * ((-1.2 + 0.8) / 2.0 + (-2.2 + 4.0) / 2.0)));
  CHECK(result.metrics.policy_loss == Approx(result.loss));
  CHECK(fixture.gradients[1] == 0.0f);
  CHECK(fixture.gradients[2] == 0.0f);
  CHECK(fixture.gradients[4] == Approx(-2.0 * 1.1 / 4.0));  // −A·r·w, w = 1/(G·n_i) = 1/4
  CHECK(fixture.gradients[5] == Approx(4.0 / 4.0));
  CHECK(fixture.gradients[0] == 0.0f);
  CHECK(result.metrics.tokens == 4);
  CHECK(result.metrics.clip_fraction_low == Approx(0.25));
  CHECK(result.metrics.clip_fraction_high == Approx(0.25));
  CHECK(result.metrics.dual_clip_fraction == 0.0);
  CHECK(result.metrics.ratio_mean == Approx((1.5 + 0.5 + 1.1 + 4.0) / 4.0));
  CHECK(result.metrics.ratio_max == Approx(4.0));

  // Dual clip c = 3 holds the last token's loss at −c·A = 3, and its gradient at 0.
  result = fixture.run({.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2, .dual_clip = 3.0}});
  CHECK(result.loss == Approx(0.5 * ((-1.2 + 0.8) / 2.0 + (-2.2 + 3.0) / 2.0)));
  CHECK(fixture.gradients[5] == 0.0f);
  CHECK(result.metrics.dual_clip_fraction == Approx(0.25));
  // So does the two-sided clip δ = 3.
  const auto two_sided = fixture.run({.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2, .two_sided = 3.0}});
  CHECK(two_sided.loss == Approx(result.loss));
  CHECK(fixture.gradients[5] == 0.0f);

  // The other aggregations of the same per-token losses −1.2, 0.8, −2.2, 4.
  CHECK(fixture.run({.aggregation = rlft::loss_aggregation::token_mean}).loss == Approx((-1.2 + 0.8 - 2.2 + 4.0) / 4.0));
  CHECK(fixture.run({.aggregation = rlft::loss_aggregation::sequence_mean_token_sum}).loss ==
        Approx((-1.2 + 0.8 - 2.2 + 4.0) / 2.0));
  CHECK(fixture.run({.aggregation = rlft::loss_aggregation::sequence_mean_token_sum_normalized,
                     .constant_divisor = 8.0})
            .loss == Approx((-1.2 + 0.8 - 2.2 + 4.0) / 2.0 / 8.0));
  CHECK(fixture.gradients[4] == Approx(-2.2 / 2.0 / 8.0));
  // DAPO's clip-higher: ε_high = 0.6 lets the first token's ratio 1.5 through.
  CHECK(fixture.run({.clip = {.epsilon_low = 0.2, .epsilon_high = 0.6}}).loss ==
        Approx(0.5 * ((-1.5 + 0.8) / 2.0 + (-2.2 + 4.0) / 2.0)));
}

TEST_CASE("with ratio 1 and β = 0 every objective's gradient is REINFORCE's, weighted by the aggregation") {
  auto fixture = rlft_test::make_objective_fixture(21, {.constant_advantage_per_sequence = true});
  auto& batch = fixture.batch;
  std::vector<float> logprobs(batch.num_tokens());
  std::copy(batch.old_logprobs().begin(), batch.old_logprobs().end(), logprobs.begin());  // ratio 1

  // The aggregation weights, from their definitions.
  std::size_t loss_tokens = 0, sequences = 0;
  std::vector<std::size_t> tokens_of(batch.num_sequences());
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) tokens_of[s] += batch.loss_mask()[t];
    loss_tokens += tokens_of[s];
    sequences += tokens_of[s] > 0;
  }
  const double divisor = 10.0;
  for (const auto aggregation :
       {rlft::loss_aggregation::token_mean, rlft::loss_aggregation::sequence_mean_token_mean,
        rlft::loss_aggregation::sequence_mean_token_sum, rlft::loss_aggregation::sequence_mean_token_sum_normalized,
        rlft::loss_aggregation::token_sum}) {
    CAPTURE(static_cast<int>(aggregation));
    std::vector<float> expected(batch.num_tokens(), 0.0f);
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      const double weight = aggregation == rlft::loss_aggregation::token_mean ? 1.0 / static_cast<double>(loss_tokens)
                            : aggregation == rlft::loss_aggregation::sequence_mean_token_mean
                                ? 1.0 / static_cast<double>(sequences * tokens_of[s])
                            : aggregation == rlft::loss_aggregation::sequence_mean_token_sum
                                ? 1.0 / static_cast<double>(sequences)
                            : aggregation == rlft::loss_aggregation::token_sum ? 1.0
                                : 1.0 / (static_cast<double>(sequences) * divisor);
      for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
        if (batch.loss_mask()[t]) expected[t] = static_cast<float>(-batch.advantages()[t] * weight);
    }
    const auto gradient_of = [&](const auto& objective) {
      std::vector<float> gradients(batch.num_tokens(), 99.0f);
      objective({.batch = batch, .sequence_count = batch.num_sequences(), .logprobs = logprobs},
                {.logprob_gradients = gradients});
      return gradients;
    };
    const auto compare = [&](const std::vector<float>& actual) {
      for (std::size_t t = 0; t < actual.size(); ++t) CHECK(actual[t] == Approx(expected[t]).epsilon(1e-6));
    };
    compare(gradient_of(rlft::clipped_surrogate_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0},
                                                          .aggregation = aggregation,
                                                          .constant_divisor = divisor}));
    compare(gradient_of(rlft::reinforce_objective{.aggregation = aggregation, .constant_divisor = divisor}));
    compare(gradient_of(rlft::gspo_objective{.aggregation = aggregation, .constant_divisor = divisor}));
    compare(gradient_of(rlft::gspo_token_objective{.aggregation = aggregation, .constant_divisor = divisor}));
    compare(gradient_of(rlft::gmpo_objective{.aggregation = aggregation, .constant_divisor = divisor}));
    compare(gradient_of(rlft::cispo_objective{.aggregation = aggregation, .constant_divisor = divisor}));
    compare(gradient_of(rlft::sapo_objective{.aggregation = aggregation, .constant_divisor = divisor}));
  }
}

TEST_CASE("with the reference equal to the current policy the KL term and its gradient vanish") {
  auto fixture = rlft_test::make_objective_fixture(22);
  auto& batch = fixture.batch;
  std::vector<float> logprobs(fixture.logprobs.begin(), fixture.logprobs.end());
  std::copy(logprobs.begin(), logprobs.end(), batch.ref_logprobs().begin());
  const auto run = [&](const rlft::kl_penalty& kl, std::vector<float>& gradients) {
    return rlft::clipped_surrogate_objective{.kl = kl}({.batch = batch,
                                                        .sequence_count = batch.num_sequences(),
                                                        .logprobs = logprobs},
                                                       {.logprob_gradients = gradients});
  };
  std::vector<float> without(batch.num_tokens()), with(batch.num_tokens());
  const auto base = run({.coefficient = 0.0}, without);
  for (const auto estimator : {rlft::kl_estimator::k2, rlft::kl_estimator::k3}) {
    const auto result = run({.coefficient = 0.5, .estimator = estimator}, with);
    CHECK(result.loss == base.loss);
    CHECK(result.metrics.kl_mean == 0.0);
    CHECK(with == without);
  }
  // k1 = −δ is 0 here too, but its derivative is +1 whatever δ: an unbiased estimate of the
  // KL, not of its gradient. The loss vanishes, the gradient is shifted by β·w.
  const auto k1 = run({.coefficient = 0.5, .estimator = rlft::kl_estimator::k1}, with);
  CHECK(k1.loss == base.loss);
  const auto scope = rlft::count_aggregation_scope(batch);
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    std::size_t tokens = 0;
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t) tokens += batch.loss_mask()[t];
    for (std::size_t t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
      if (batch.loss_mask()[t])
        CHECK(with[t] - without[t] == Approx(0.5 / static_cast<double>(scope.sequences * tokens)).epsilon(1e-5));
  }
}

TEST_CASE("the clipped surrogate's subgradients at its kinks follow torch.clamp, maximum and minimum") {
  const rlft::ratio_bounds<double> plain({.epsilon_low = 0.2, .epsilon_high = 0.2});
  // At 1 + ε_high (A > 0) both branches are equal and both pass the gradient: −A.
  auto at = rlft::clipped_surrogate(plain.high, 1.0, plain);
  CHECK(at.loss == -plain.high);
  CHECK(at.derivative == -1.0);
  CHECK_FALSE(at.clipped_high);
  CHECK(rlft::clipped_surrogate(std::nextafter(plain.high, 2.0), 1.0, plain).derivative == 0.0);
  // At 1 − ε_low (A < 0) likewise: −A.
  at = rlft::clipped_surrogate(plain.low, -1.0, plain);
  CHECK(at.loss == plain.low);
  CHECK(at.derivative == 1.0);
  CHECK(rlft::clipped_surrogate(std::nextafter(plain.low, 0.0), -1.0, plain).derivative == 0.0);
  CHECK(rlft::clipped_surrogate(std::nextafter(plain.low, 0.0), -1.0, plain).clipped_low);
  // A = 0: no loss, no gradient, nothing clipped.
  at = rlft::clipped_surrogate(5.0, 0.0, plain);
  CHECK(at.loss == 0.0);
  CHECK(at.derivative == 0.0);
  CHECK_FALSE(at.clipped_high);

  // Dual clip at r = c (A < 0): torch.minimum of equal values passes half the gradient.
  const rlft::ratio_bounds<double> dual({.epsilon_low = 0.2, .epsilon_high = 0.2, .dual_clip = 3.0});
  at = rlft::clipped_surrogate(3.0, -2.0, dual);
  CHECK(at.loss == 6.0);
  CHECK(at.derivative == 1.0);  // half of −A = 2
  CHECK_FALSE(at.held_at_bound);
  at = rlft::clipped_surrogate(3.5, -2.0, dual);
  CHECK(at.loss == 6.0);
  CHECK(at.derivative == 0.0);
  CHECK(at.held_at_bound);
  CHECK(rlft::clipped_surrogate(3.5, 2.0, dual).loss == -2.0 * 1.2);  // A > 0: no dual clip

  // Two-sided clip at r = δ: torch.clamp passes the gradient at its bound: the full −A.
  const rlft::ratio_bounds<double> two_sided({.epsilon_low = 0.2, .epsilon_high = 0.2, .two_sided = 2.0});
  at = rlft::clipped_surrogate(2.0, -2.0, two_sided);
  CHECK(at.loss == 4.0);
  CHECK(at.derivative == 2.0);
  at = rlft::clipped_surrogate(2.5, -2.0, two_sided);
  CHECK(at.loss == 4.0);
  CHECK(at.derivative == 0.0);
  CHECK(at.held_at_bound);
  CHECK(rlft::clipped_surrogate(2.5, 2.0, two_sided).loss == -2.0 * 1.2);

  // The log-ratio clamps pass the gradient at their bound and stop it beyond.
  CHECK(rlft::detail::importance_ratio(20.0, 20.0).passes == 1.0);
  CHECK(rlft::detail::importance_ratio(20.5, 20.0).passes == 0.0);
  CHECK(rlft::detail::importance_ratio(20.5, 20.0).ratio == std::exp(20.0));
  CHECK(rlft::estimate_kl<rlft::kl_estimator::k2>(0.0, 20.0, 20.0, HUGE_VAL).derivative == -20.0);
  CHECK(rlft::estimate_kl<rlft::kl_estimator::k2>(0.0, 25.0, 20.0, HUGE_VAL).derivative == 0.0);
  CHECK(rlft::estimate_kl<rlft::kl_estimator::k2>(0.0, 25.0, 20.0, HUGE_VAL).value == 200.0);
  CHECK(rlft::estimate_kl<rlft::kl_estimator::k3>(0.0, -25.0, 20.0, HUGE_VAL).value == Approx(std::exp(-20.0) + 19.0));
}

TEST_CASE("a token far off-policy cannot overflow the loss") {
  hand_batch fixture;
  fixture.logprobs[5] = 500.0f;  // log-ratio 500: the ratio is clamped at exp(20)
  const auto result = fixture.run({.kl = {.coefficient = 0.1, .estimator = rlft::kl_estimator::k3}});
  CHECK(std::isfinite(result.loss));
  CHECK(fixture.gradients[5] == 0.0f);  // beyond both clamps: no gradient
  CHECK(result.metrics.ratio_max == Approx(std::exp(20.0)).epsilon(1e-6));
}

TEST_CASE("KL values are bounded at ±10 by default, as verl's low_var_kl and OpenRLHF, unbounded on request") {
  using rlft::kl_estimator;
  // δ = 20: k3 = e^20 − 21 ≈ 4.9e8 unbounded; held at 10 with no gradient when bounded.
  const auto held = rlft::estimate_kl<kl_estimator::k3>(0.0, 20.0, 20.0, 10.0);
  CHECK(held.value == 10.0);
  CHECK(held.derivative == 0.0);
  const auto free = rlft::estimate_kl<kl_estimator::k3>(0.0, 20.0, 20.0, HUGE_VAL);
  CHECK(free.value == Approx(std::exp(20.0) - 21.0));
  CHECK(free.derivative == Approx(-(std::exp(20.0) - 1.0)));
  // Within the bound nothing changes.
  const auto inside = rlft::estimate_kl<kl_estimator::k3>(0.0, 1.0, 20.0, 10.0);
  CHECK(inside.value == rlft::estimate_kl<kl_estimator::k3>(0.0, 1.0, 20.0, HUGE_VAL).value);
  CHECK(inside.derivative == rlft::estimate_kl<kl_estimator::k3>(0.0, 1.0, 20.0, HUGE_VAL).derivative);
  // k1, k2 and abs are held at ±10 with no gradient beyond it, and pass through unbounded.
  for (const auto& [estimator, delta, value] : {std::tuple{kl_estimator::k1, 12.0, -10.0},
                                                std::tuple{kl_estimator::k1, -12.0, 10.0},
                                                std::tuple{kl_estimator::k2, 20.0, 10.0},
                                                std::tuple{kl_estimator::abs, -15.0, 10.0}}) {
    CAPTURE(static_cast<int>(estimator));
    const auto bounded_kl = rlft::estimate_kl(estimator, 0.0, delta, 20.0, 10.0);
    CHECK(bounded_kl.value == value);
    CHECK(bounded_kl.derivative == 0.0);
    CHECK(rlft::estimate_kl(estimator, 0.0, delta, 20.0, HUGE_VAL).derivative != 0.0);
  }
  CHECK(rlft::estimate_kl<kl_estimator::k2>(0.0, 20.0, 20.0, HUGE_VAL).value == 200.0);
  CHECK(rlft::estimate_kl<kl_estimator::k1>(0.0, 9.5, 20.0, 10.0).value == -9.5);
  CHECK(rlft::kl_value_bound({}) == 10.0);
  CHECK(std::isinf(rlft::kl_value_bound({.value_bound = 0.0})));

  // In the loss: one token 20 nats below its reference.
  hand_batch fixture;
  std::copy(fixture.logprobs.begin(), fixture.logprobs.end(), fixture.batch.ref_logprobs().begin());
  fixture.batch.ref_logprobs()[4] = fixture.logprobs[4] + 20.0f;
  const auto bounded = fixture.run({.kl = {.coefficient = 0.1}});
  CHECK(bounded.metrics.kl_mean == Approx(10.0 / 4.0));  // the other tokens' k3 is 0
  const auto unbounded = fixture.run({.kl = {.coefficient = 0.1, .value_bound = 0.0}});
  CHECK(unbounded.metrics.kl_mean == Approx((std::exp(20.0) - 21.0) / 4.0).epsilon(1e-5));
  CHECK(unbounded.loss > 1e6 * std::abs(bounded.loss));
}

TEST_CASE("cispo: the clipped weight times the REINFORCE term, by hand") {
  hand_batch fixture;
  // Weights clip(r, 0, 1.28) of the ratios 1.5, 0.5, 1.1, 4: 1.28, 0.5, 1.1, 1.28.
  const double weights[] = {1.28, 0.5, 1.1, 1.28}, advantages[] = {1.0, -1.0, 2.0, -1.0};
  const double ratios[] = {1.5, 0.5, 1.1, 4.0};
  const std::size_t tokens[] = {1, 2, 4, 5};
  const auto result = fixture.run_with(rlft::cispo_objective{});
  double loss = 0.0;
  for (int i = 0; i < 4; ++i) {
    loss += -weights[i] * advantages[i] * std::log(ratios[i]) / 4.0;  // token_mean over 4 tokens
    CHECK(fixture.gradients[tokens[i]] == Approx(-weights[i] * advantages[i] / 4.0));
  }
  CHECK(result.loss == Approx(loss));
  CHECK(result.metrics.clip_fraction_high == Approx(0.5));  // 1.5 and 4 held at 1.28
  CHECK(result.metrics.clip_fraction_low == 0.0);
  // A lower bound: ε_low = 0.4 holds the ratio 0.5 at 0.6.
  fixture.run_with(rlft::cispo_objective{.epsilon_low = 0.4});
  CHECK(fixture.gradients[2] == Approx(0.6 / 4.0));
}

TEST_CASE("sapo: the soft gate and its derivative, by hand") {
  hand_batch fixture;
  const auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  const double advantages[] = {1.0, -1.0, 2.0, -1.0}, ratios[] = {1.5, 0.5, 1.1, 4.0};
  const std::size_t tokens[] = {1, 2, 4, 5};
  for (const auto& [positive, negative] : {std::pair{1.0, 1.05}, std::pair{3.0, 0.5}}) {
    const auto result = fixture.run_with(
        rlft::sapo_objective{.temperature_positive = positive, .temperature_negative = negative});
    double loss = 0.0;
    for (int i = 0; i < 4; ++i) {
      const double tau = advantages[i] > 0 ? positive : negative, gate = sigmoid(tau * (ratios[i] - 1.0));
      loss += -advantages[i] * 4.0 / tau * gate / 4.0;  // sequence_mean_token_mean: 1/(2·2) each
      CHECK(fixture.gradients[tokens[i]] ==
            Approx(-advantages[i] * 4.0 * gate * (1.0 - gate) * ratios[i] / 4.0).epsilon(1e-5));
    }
    CHECK(result.loss == Approx(loss).epsilon(1e-6));
    CHECK(result.metrics.clip_fraction_high == 0.0);
    CHECK(result.metrics.ratio_max == Approx(4.0));
  }
}

TEST_CASE("gmpo: the geometric mean of log-space clipped ratios, by hand") {
  hand_batch fixture;
  // Sequence 0: log 1.5 > 0.4 with A > 0 is held at 0.4, log 0.5 < −0.4 with A < 0 at −0.4: the
  // mean is 0 and the mean advantage 0, so its term and gradients vanish. Sequence 1: log 1.1
  // (A = 2) and log 4 (A = −1, not held above) give the ratio √4.4 and Â = 0.5.
  const auto result = fixture.run_with(rlft::gmpo_objective{});
  const double term = -0.5 * std::sqrt(4.4);
  CHECK(result.loss == Approx(term / 2.0));  // mean over 2 sequences
  CHECK(fixture.gradients[1] == 0.0f);
  CHECK(fixture.gradients[2] == 0.0f);
  CHECK(fixture.gradients[4] == Approx(term / 4.0));  // ℓ_i·w per token, w = 1/(2·2)
  CHECK(fixture.gradients[5] == Approx(term / 4.0));
  CHECK(result.metrics.clip_fraction_high == Approx(0.25));
  CHECK(result.metrics.clip_fraction_low == Approx(0.25));
  // ε = 1 holds nothing: sequence 0's ratio is √0.75 with Â = 0, still no term.
  fixture.run_with(rlft::gmpo_objective{.epsilon_low = 1.0, .epsilon_high = 1.0});
  CHECK(fixture.gradients[1] == 0.0f);
}

TEST_CASE("gspo-token: the sequence ratio clipped with each token's advantage, by hand") {
  hand_batch fixture;
  // s_0 = √(1.5·0.5) = √0.75 inside [0.8, 1.2]; s_1 = √4.4 above it: the token with A = 2 is
  // clipped at −2·1.2, the token with A = −1 is not (max(√4.4, 1.2)).
  const auto result = fixture.run_with(rlft::gspo_token_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}});
  const double s0 = std::sqrt(0.75), s1 = std::sqrt(4.4);
  CHECK(result.loss == Approx(((-s0 + s0) / 2.0 + (-2.4 + s1) / 2.0) / 2.0));
  CHECK(fixture.gradients[1] == Approx(-s0 / 4.0));
  CHECK(fixture.gradients[2] == Approx(s0 / 4.0));
  CHECK(fixture.gradients[4] == 0.0f);
  CHECK(fixture.gradients[5] == Approx(s1 / 4.0));
  // GSPO with the mean advantage 0.5 clips sequence 1 whole.
  fixture.run_with(rlft::gspo_objective{.clip = {.epsilon_low = 0.2, .epsilon_high = 0.2}});
  CHECK(fixture.gradients[5] == 0.0f);
}

TEST_CASE("abs and k3_plus: verl's abs and straight-through k3+ estimators") {
  using rlft::kl_estimator;
  for (const double delta : {-3.0, -0.5, -1e-3, 0.0, 1e-3, 0.7, 4.0}) {
    CAPTURE(delta);
    const auto abs = rlft::estimate_kl<kl_estimator::abs>(0.0, delta, 20.0, 10.0);
    CHECK(abs.value == std::abs(delta));
    CHECK(abs.derivative == (delta < 0 ? 1.0 : delta > 0 ? -1.0 : 0.0));  // d|log π − log π_ref|/d log π
    const auto plus = rlft::estimate_kl<kl_estimator::k3_plus>(0.0, delta, 20.0, 10.0);
    CHECK(plus.value == rlft::estimate_kl<kl_estimator::k3>(0.0, delta, 20.0, 10.0).value);
    CHECK(plus.derivative == rlft::estimate_kl<kl_estimator::k2>(0.0, delta, 20.0, 10.0).derivative);
  }
  // Beyond the log-ratio bound the value is held but the straight-through gradient, as verl's,
  // is k2's of the unclamped log-ratio.
  CHECK(rlft::estimate_kl<kl_estimator::k3_plus>(0.0, 25.0, 20.0, 10.0).value == 10.0);
  CHECK(rlft::estimate_kl<kl_estimator::k3_plus>(0.0, 25.0, 20.0, 10.0).derivative == -25.0);
  // In an objective: k3_plus's loss is k3's, its gradient k2's.
  hand_batch fixture;
  for (std::size_t t = 0; t < 6; ++t) fixture.batch.ref_logprobs()[t] = fixture.logprobs[t] - 0.3f * static_cast<float>(t);
  const auto gradients_with = [&](kl_estimator estimator) {
    const auto result = fixture.run({.kl = {.coefficient = 0.5, .estimator = estimator}});
    return std::pair{result.loss, fixture.gradients};
  };
  const auto [k3_loss, k3_gradients] = gradients_with(kl_estimator::k3);
  const auto [k2_loss, k2_gradients] = gradients_with(kl_estimator::k2);
  const auto [plus_loss, plus_gradients] = gradients_with(kl_estimator::k3_plus);
  CHECK(plus_loss == k3_loss);
  CHECK(plus_gradients == k2_gradients);
  CHECK(k2_loss != k3_loss);
}

TEST_CASE("an importance-weighted KL term is r·KL, differentiated through both, by hand") {
  // k1 = log π − log π_ref = 0.3·t on loss token t; old log-probs 0, so r_t = π_θ(o_t).
  hand_batch fixture;
  for (std::size_t t = 0; t < 6; ++t) fixture.batch.ref_logprobs()[t] = fixture.logprobs[t] - 0.3f * static_cast<float>(t);
  const auto run = [&](bool weighted) {
    const auto result = fixture.run(
        {.kl = {.coefficient = 0.5, .estimator = rlft::kl_estimator::k1, .importance_weighted = weighted}});
    return std::pair{result.loss, fixture.gradients};
  };
  const auto [plain_loss, plain_gradients] = run(false);
  const auto [weighted_loss, weighted_gradients] = run(true);
  const double weight = 0.25;  // sequence_mean_token_mean: two sequences of two loss tokens
  double difference = 0.0;
  for (const std::size_t t : {1, 2, 4, 5}) {
    const double ratio = std::exp(static_cast<double>(fixture.logprobs[t])), k1 = 0.3 * static_cast<double>(t);
    difference += 0.5 * weight * (ratio - 1.0) * k1;
    // d(r·k1)/d log π = r·(1 + k1) in place of k1's derivative 1.
    CHECK(weighted_gradients[t] - plain_gradients[t] == Approx(0.5 * weight * (ratio * (1.0 + k1) - 1.0)).epsilon(1e-5));
  }
  CHECK(weighted_loss - plain_loss == Approx(difference).epsilon(1e-5));
}

TEST_CASE("the KL term's own aggregation weights only the KL term") {
  // Per-token KL k2 = (0.3·t)²/2 against a reference 0.3·t below the log-prob; the policy term
  // by sequence mean of token means (1/4 a token), the KL term by token mean (1/4 too here) or
  // by sequence mean of token sums (1/2 a token).
  hand_batch fixture;
  for (std::size_t t = 0; t < 6; ++t) fixture.batch.ref_logprobs()[t] = fixture.logprobs[t] - 0.3f * static_cast<float>(t);
  const rlft::kl_penalty kl{.coefficient = 0.5, .estimator = rlft::kl_estimator::k2};
  const auto same = fixture.run({.kl = kl});
  const std::vector<float> same_gradients = fixture.gradients;
  const auto summed = fixture.run({.kl = kl, .kl_aggregation = rlft::loss_aggregation::sequence_mean_token_sum});
  double kl_sum = 0.0;
  for (const std::size_t t : {1, 2, 4, 5}) {
    const double delta = 0.3 * static_cast<double>(t);
    kl_sum += delta * delta / 2.0;
    // d(β·k2)/d log π = β·δ: weighted 1/4 before, 1/2 now.
    CHECK(fixture.gradients[t] == Approx(same_gradients[t] + 0.5 * static_cast<float>(delta) * (0.5 - 0.25)).epsilon(1e-5));
  }
  CHECK(summed.loss == Approx(same.loss + 0.5 * kl_sum * (0.5 - 0.25)).epsilon(1e-6));
  CHECK(summed.metrics.policy_loss == Approx(same.metrics.policy_loss));
}
