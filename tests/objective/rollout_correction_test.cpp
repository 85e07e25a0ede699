// Importance corrections of rollouts from another engine (rlft/objective/rollout_correction.hpp)
// against weights and masks computed by hand, the weighted objective against the importance-
// weighted gradient computed independently, the no-op on rlft's own rollouts (bit for bit), and
// the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "objective_fixture.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/rollout_correction.hpp"

using doctest::Approx;
using doctest::Contains;

namespace {

// Two sequences of one prompt token and three completion tokens. Old log-probs −1; sampling
// log-probs give the token ratios ρ = 1.5, 0.25, 1 (sequence 0) and 3, 1, 1.2 (sequence 1).
struct mismatched_batch {
  rlft::rollout_batch batch = rlft::rollout_batch::with_group_size(
      rlft::token_sequences({1, 2, 3, 4, 1, 2, 3, 4}, {0, 4, 8}), {1, 1}, 2);
  static constexpr double ratios[2][3] = {{1.5, 0.25, 1.0}, {3.0, 1.0, 1.2}};

  mismatched_batch() {
    for (std::size_t s = 0; s < 2; ++s)
      for (std::size_t k = 0; k < 3; ++k) {
        const std::size_t t = 4 * s + 1 + k;
        batch.old_logprobs()[t] = -1.0f;
        batch.sampling_logprobs()[t] = static_cast<float>(-1.0 - std::log(ratios[s][k]));
        batch.advantages()[t] = s == 0 ? 1.0f : -0.5f;
      }
  }
  // ρ as the correction computes it from the float log-probs.
  double ratio(std::size_t s, std::size_t k) const {
    const std::size_t t = 4 * s + 1 + k;
    return std::exp(static_cast<double>(batch.old_logprobs()[t]) - batch.sampling_logprobs()[t]);
  }
};

}  // namespace

TEST_CASE("truncated importance sampling: token and sequence weights, capped") {
  mismatched_batch b;
  std::vector<float> weights(8, -1.0f);
  const auto report = rlft::correct_rollouts(b.batch, {.truncate = {{.level = rlft::ratio_level::token, .cap = 2.0}}},
                                             weights);
  CHECK(weights[0] == 1.0f);  // a prompt token
  CHECK(weights[1] == Approx(b.ratio(0, 0)));
  CHECK(weights[2] == Approx(b.ratio(0, 1)));
  CHECK(weights[5] == 2.0f);  // ρ = 3, capped
  CHECK(weights[7] == Approx(b.ratio(1, 2)));
  CHECK(report.tokens == 6);
  CHECK(report.truncated_share == Approx(1.0 / 6.0));
  CHECK(report.masked_share == 0.0);
  double ratio_sum = 0.0, kl = 0.0;
  for (std::size_t s = 0; s < 2; ++s)
    for (std::size_t k = 0; k < 3; ++k) {
      ratio_sum += b.ratio(s, k);
      kl += b.ratio(s, k) - 1.0 - std::log(b.ratio(s, k));
    }
  CHECK(report.ratio_mean == Approx(ratio_sum / 6.0));
  CHECK(report.mismatch_kl == Approx(kl / 6.0));
  CHECK(std::vector<std::uint8_t>(b.batch.loss_mask().begin(), b.batch.loss_mask().end()) ==
        std::vector<std::uint8_t>{0, 1, 1, 1, 0, 1, 1, 1});

  // Sequence level: Π ρ = 0.375 for sequence 0, 3.6 (capped at 2) for sequence 1.
  rlft::correct_rollouts(b.batch, {.truncate = {{.level = rlft::ratio_level::sequence, .cap = 2.0}}}, weights);
  for (std::size_t t = 1; t < 4; ++t) CHECK(weights[t] == Approx(b.ratio(0, 0) * b.ratio(0, 1) * b.ratio(0, 2)));
  for (std::size_t t = 5; t < 8; ++t) CHECK(weights[t] == 2.0f);
}

TEST_CASE("masked importance sampling: tokens or whole sequences outside the band leave the loss") {
  {
    mismatched_batch b;  // IcePop: token weights and a token mask [0.5, 2]
    std::vector<float> weights(8);
    const auto report = rlft::correct_rollouts(
        b.batch,
        {.truncate = {{.cap = std::numeric_limits<double>::infinity()}}, .mask = {{.low = 0.5, .high = 2.0}}},
        weights);
    CHECK(std::vector<std::uint8_t>(b.batch.loss_mask().begin(), b.batch.loss_mask().end()) ==
          std::vector<std::uint8_t>{0, 1, 0, 1, 0, 0, 1, 1});  // ρ = 0.25 and 3 are out
    CHECK(weights[5] == Approx(b.ratio(1, 0)));               // uncapped
    CHECK(report.masked_share == Approx(2.0 / 6.0));
    CHECK(report.truncated_share == 0.0);
  }
  {
    mismatched_batch b;  // sequence products 0.375 and 3.6: both outside [0.5, 2]
    std::vector<float> weights(8);
    rlft::correct_rollouts(b.batch, {.mask = {{.level = rlft::ratio_level::sequence, .low = 0.5, .high = 2.0}}},
                           weights);
    CHECK(std::vector<std::uint8_t>(b.batch.loss_mask().begin(), b.batch.loss_mask().end()) ==
          std::vector<std::uint8_t>(8, 0));
    CHECK(weights == std::vector<float>(8, 1.0f));
  }
  {
    mismatched_batch b;  // geometric means 0.375^(1/3) = 0.72 (kept) and 3.6^(1/3) = 1.53 (out of [0.5, 1.5])
    std::vector<float> weights(8);
    rlft::correct_rollouts(b.batch, {.mask = {{.level = rlft::ratio_level::geometric, .low = 0.5, .high = 1.5}}},
                           weights);
    CHECK(std::vector<std::uint8_t>(b.batch.loss_mask().begin(), b.batch.loss_mask().end()) ==
          std::vector<std::uint8_t>{0, 1, 1, 1, 0, 0, 0, 0});
  }
}

TEST_CASE("the corrected objective's gradient is the importance-weighted gradient") {
  mismatched_batch b;
  std::vector<float> weights(8);
  rlft::correct_rollouts(b.batch, {.truncate = {{.cap = 2.0}}}, weights);
  // Current log-probs equal the old ones: ratio 1, so the clipped surrogate's policy gradient
  // is −A·w_agg, w_agg = 1/(2·3), times the weight; the KL term (β = 0.1, k2, reference = old
  // + 0.2) adds β·(log π − log π_ref) = −0.02, unweighted.
  std::vector<float> logprobs(b.batch.old_logprobs().begin(), b.batch.old_logprobs().end());
  for (std::size_t t = 0; t < 8; ++t) b.batch.ref_logprobs()[t] = b.batch.old_logprobs()[t] + 0.2f;
  std::vector<float> gradients(8);
  const rlft::clipped_surrogate_objective objective{.kl = {.coefficient = 0.1, .estimator = rlft::kl_estimator::k2}};
  objective({.batch = b.batch, .sequence_count = 2, .logprobs = logprobs, .policy_weights = weights},
            {.logprob_gradients = gradients});
  for (std::size_t t = 0; t < 8; ++t) {
    CAPTURE(t);
    if (!b.batch.loss_mask()[t]) {
      CHECK(gradients[t] == 0.0f);
      continue;
    }
    const double advantage = b.batch.advantages()[t], kl = 0.1 * (logprobs[t] - b.batch.ref_logprobs()[t]);
    CHECK(gradients[t] == Approx((-advantage * weights[t] + kl) / 6.0).epsilon(1e-6));
  }
}

TEST_CASE("with rlft's own rollouts the correction changes nothing, bit for bit") {
  auto fixture = rlft_test::make_objective_fixture(31);
  auto& batch = fixture.batch;
  std::copy(batch.old_logprobs().begin(), batch.old_logprobs().end(), batch.sampling_logprobs().begin());
  const std::vector<std::uint8_t> mask_before(batch.loss_mask().begin(), batch.loss_mask().end());
  std::vector<float> weights(batch.num_tokens());
  const auto report = rlft::correct_rollouts(
      batch, {.truncate = {{.level = rlft::ratio_level::token, .cap = 2.0}}, .mask = {{.low = 0.5, .high = 2.0}}},
      weights);
  CHECK(weights == std::vector<float>(batch.num_tokens(), 1.0f));
  CHECK(std::vector<std::uint8_t>(batch.loss_mask().begin(), batch.loss_mask().end()) == mask_before);
  CHECK(report.mismatch_kl == 0.0);
  CHECK(report.ratio_mean == 1.0);

  const std::vector<float> logprobs(fixture.logprobs.begin(), fixture.logprobs.end());
  const auto run = [&](const auto& objective, bool weighted) {
    std::vector<float> gradients(batch.num_tokens());
    const auto result = objective({.batch = batch, .sequence_count = batch.num_sequences(), .logprobs = logprobs,
                                   .policy_weights = weighted ? std::span<const float>(weights) : std::span<const float>()},
                                  {.logprob_gradients = gradients});
    return std::pair{result.loss, gradients};
  };
  const rlft::clipped_surrogate_objective clipped{.kl = {.coefficient = 0.04}};
  CHECK(run(clipped, true) == run(clipped, false));
  const rlft::gspo_objective gspo{};
  CHECK(run(gspo, true) == run(gspo, false));
}

TEST_CASE("rollout corrections and policy weights reject bad options and inputs") {
  mismatched_batch b;
  std::vector<float> weights(8);
  CHECK_THROWS_WITH_AS(rlft::correct_rollouts(b.batch, {.truncate = {{.cap = 0.0}}}, weights),
                       Contains("rollout correction: option truncate.cap = 0 is out of range"), rlft::error);
  CHECK_THROWS_WITH_AS(
      rlft::correct_rollouts(b.batch, {.truncate = {{.level = rlft::ratio_level::geometric}}}, weights),
      Contains("option truncate.level is out of range (token or sequence)"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::correct_rollouts(b.batch, {.mask = {{.low = 2.0, .high = 1.0}}}, weights),
                       Contains("option mask.high = 1 is out of range (>= mask.low)"), rlft::error);
  std::vector<float> short_weights(7);
  CHECK_THROWS_WITH_AS(rlft::correct_rollouts(b.batch, {}, short_weights),
                       Contains("7 policy weights given for a batch of 8 tokens"), rlft::error);
  b.batch.sampling_logprobs()[6] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(rlft::correct_rollouts(b.batch, {.mask = {{}}}, weights),
                       Contains("rollout correction: the sampling log-prob of token 6 is nan"), rlft::data_error);
  CHECK(b.batch.loss_mask()[6] == 1);  // unchanged

  std::vector<float> logprobs(8, -1.0f), gradients(8);
  std::vector<float> negative(8, 1.0f);
  negative[3] = -0.5f;
  CHECK_THROWS_WITH_AS(rlft::clipped_surrogate_objective{}({.batch = b.batch, .sequence_count = 2, .logprobs = logprobs,
                                                            .policy_weights = negative},
                                                           {.logprob_gradients = gradients}),
                       Contains("the policy weight of token 3 (slice token 3) is -0.5"), rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::clipped_surrogate_objective{}({.batch = b.batch, .sequence_count = 2, .logprobs = logprobs,
                                                            .policy_weights = short_weights},
                                                           {.logprob_gradients = gradients}),
                       Contains("7 policy weights given for a slice of 8 tokens"), rlft::error);
}
