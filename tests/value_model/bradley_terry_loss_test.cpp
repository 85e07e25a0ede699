// rlft::bradley_terry_loss against hand-computed values and central finite differences, at
// extreme score differences, and with bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "error_message.hpp"
#include "rlft/objective/bradley_terry_loss.hpp"

namespace {

struct evaluated {
  rlft::bradley_terry_sums sums = {};
  std::vector<float> dchosen = {}, drejected = {};
};

evaluated evaluate(const std::vector<float>& chosen, const std::vector<float>& rejected,
                   const std::vector<float>& margins = {}, double center = 0.0) {
  evaluated result{.dchosen = std::vector<float>(chosen.size()), .drejected = std::vector<float>(chosen.size())};
  result.sums = rlft::bradley_terry_loss(chosen, rejected, margins, center, chosen.size(), result.dchosen,
                                         result.drejected);
  return result;
}

}  // namespace

TEST_CASE("Bradley–Terry: hand-computed loss, gradients and counts") {
  // d = 1: −log σ(1) = log(1 + e^−1) = 0.31326168751822286; σ(−1) = 0.2689414213699951.
  const auto one = evaluate({1.0f}, {0.0f});
  CHECK(one.sums.loss == doctest::Approx(0.31326168751822286).epsilon(1e-12));
  CHECK(one.dchosen[0] == doctest::Approx(-0.2689414213699951).epsilon(1e-6));
  CHECK(one.drejected[0] == doctest::Approx(0.2689414213699951).epsilon(1e-6));
  CHECK(one.sums.correct == 1);

  // Two pairs, mean: d = 0.5 after the margin (log(1 + e^−0.5) = 0.47407698418010669) and
  // d = −2 (log(1 + e^2) = 2.1269280110429727); a tie of scores counts as wrong.
  const auto two = evaluate({1.0f, 3.0f}, {0.0f, 3.0f}, {0.5f, 2.0f});
  CHECK(two.sums.loss == doctest::Approx((0.47407698418010669 + 2.1269280110429727) / 2).epsilon(1e-12));
  CHECK(two.sums.correct == 1);
  CHECK(two.sums.accuracy() == 0.5);
  CHECK(two.sums.chosen_scores == 4.0);
  CHECK(two.sums.rejected_scores == 3.0);

  // The centring term: c·(r_c + r_r)² = 0.01·(1 + 0)², and 2c·(r_c + r_r) on both gradients.
  const auto centred = evaluate({1.0f}, {0.0f}, {}, 0.01);
  CHECK(centred.sums.loss == doctest::Approx(0.31326168751822286 + 0.01).epsilon(1e-12));
  CHECK(centred.dchosen[0] == doctest::Approx(-0.2689414213699951 + 0.02).epsilon(1e-6));
  CHECK(centred.drejected[0] == doctest::Approx(0.2689414213699951 + 0.02).epsilon(1e-6));
}

TEST_CASE("Bradley–Terry: gradients match central finite differences of the loss") {
  const std::vector<float> chosen = {0.3f, -1.2f, 2.5f, 0.0f}, rejected = {0.1f, 0.4f, -0.7f, 0.0f},
                           margins = {0.0f, 0.5f, 1.0f, 0.25f};
  const double center = 0.05;
  const auto base = evaluate(chosen, rejected, margins, center);
  const float step = 1e-2f;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    for (const bool is_chosen : {true, false}) {
      auto plus_c = chosen, minus_c = chosen, plus_r = rejected, minus_r = rejected;
      (is_chosen ? plus_c : plus_r)[i] += step;
      (is_chosen ? minus_c : minus_r)[i] -= step;
      const double numeric = (evaluate(plus_c, plus_r, margins, center).sums.loss -
                              evaluate(minus_c, minus_r, margins, center).sums.loss) /
                             (2.0 * step);
      INFO("pair ", i, is_chosen ? " chosen" : " rejected");
      CHECK((is_chosen ? base.dchosen : base.drejected)[i] == doctest::Approx(numeric).epsilon(1e-4));
    }
  }
}

TEST_CASE("Bradley–Terry: extreme differences stay finite and exact; micro-batches add up") {
  const auto extreme = evaluate({1000.0f, -1000.0f}, {-1000.0f, 1000.0f});
  // Pair 0: d = 2000, the loss ~e^−2000 (0 in double); pair 1: d = −2000, the loss 2000.
  CHECK(extreme.sums.loss == doctest::Approx(1000.0).epsilon(1e-12));
  CHECK(extreme.dchosen[0] == 0.0f);
  CHECK(extreme.dchosen[1] == doctest::Approx(-0.5));

  std::vector<float> dc(1), dr(1);
  const std::vector<float> c1 = {0.3f}, r1 = {0.1f}, c2 = {-1.2f}, r2 = {0.4f};
  auto halves = rlft::bradley_terry_loss(c1, r1, {}, 0.0, 2, dc, dr);
  halves.add(rlft::bradley_terry_loss(c2, r2, {}, 0.0, 2, dc, dr));
  CHECK(halves.loss == doctest::Approx(evaluate({0.3f, -1.2f}, {0.1f, 0.4f}).sums.loss).epsilon(1e-12));
  CHECK(halves.pairs == 2);
}

TEST_CASE("Bradley–Terry: bad input is refused with a message naming it") {
  std::vector<float> d1(1), d2(2);
  const std::vector<float> one = {0.0f}, two = {0.0f, 1.0f};
  using rlft::testing::error_message;
  CHECK(error_message([&] { rlft::bradley_terry_loss(two, one, {}, 0.0, 2, d2, d2); }) ==
        "bradley_terry_loss: 2 chosen scores, 1 rejected, 0 margins, 2 and 2 gradients; all must agree (margins may "
        "be empty)");
  CHECK(error_message([&] { rlft::bradley_terry_loss(two, two, {}, 0.0, 1, d2, d2); }) ==
        "bradley_terry_loss: normaliser 1 below the 2 pairs or zero");
  CHECK(error_message([&] { rlft::bradley_terry_loss(one, one, {}, -1.0, 1, d1, d1); })
             ==
        "bradley_terry_loss: option center_rewards_coefficient = -1 is out of range (finite and >= 0)");
  const std::vector<float> nan_scores = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_AS(rlft::bradley_terry_loss(two, nan_scores, {}, 0.0, 2, d2, d2), rlft::data_error);
  CHECK(error_message([&] { rlft::bradley_terry_loss(two, nan_scores, {}, 0.0, 2, d2, d2); }) ==
        "bradley_terry_loss: the rejected score of pair 1 is nan");
  const std::vector<float> infinite_margin = {std::numeric_limits<float>::infinity()};
  CHECK(error_message([&] { rlft::bradley_terry_loss(one, one, infinite_margin, 0.0, 1, d1, d1); }) ==
        "bradley_terry_loss: the margin of pair 0 is inf");
}
