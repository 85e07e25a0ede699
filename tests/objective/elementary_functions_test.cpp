// The elementary functions under the objectives: the vectorisable float exp and the k1/k2/k3
// KL estimators with their derivatives, against std::exp / std::expm1 in long double.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "rlft/core/elementary_functions.hpp"
#include "rlft/objective/kl_estimator.hpp"

using doctest::Approx;

TEST_CASE("fast_exp(float) is within 2 ulp of exp on [−87, 87]") {
  double worst = 0.0;
  for (double x = -87.0; x <= 87.0; x += 1.0 / 1024.0 + 1e-7) {
    const auto argument = static_cast<float>(x);
    const long double exact = std::exp(static_cast<long double>(argument));
    const double error = static_cast<double>(std::abs(rlft::detail::fast_exp(argument) - exact) / exact);
    worst = std::max(worst, error);
  }
  MESSAGE("largest relative error of fast_exp(float): " << worst);
  CHECK(worst <= 2.0 * std::numeric_limits<float>::epsilon());
  CHECK(rlft::detail::fast_exp(0.0f) == 1.0f);
  CHECK(rlft::detail::fast_exp(-87.0f) == Approx(std::exp(-87.0)).epsilon(1e-6));
  CHECK(rlft::detail::fast_exp(87.0f) == Approx(std::exp(87.0)).epsilon(1e-6));
  CHECK(rlft::detail::fast_exp(-300.0f) > 0.0f);  // saturates
  CHECK(std::isfinite(rlft::detail::fast_exp(300.0f)));
  CHECK(std::isnan(rlft::detail::fast_exp(std::numeric_limits<float>::quiet_NaN())));
  CHECK(rlft::detail::fast_exp(1.5) == std::exp(1.5));
}

TEST_CASE("k1, k2 and k3 against their definitions, δ = ref − logprob") {
  for (const double logprob : {-3.0, -1.0, -0.2}) {
    for (const double delta : {-2.0, -0.7, -0.3, 1e-3, 0.45, 0.55, 1.7}) {
      const double ref = logprob + delta;
      const auto k1 = rlft::estimate_kl(rlft::kl_estimator::k1, logprob, ref, 20.0, HUGE_VAL);
      const auto k2 = rlft::estimate_kl(rlft::kl_estimator::k2, logprob, ref, 20.0, HUGE_VAL);
      const auto k3 = rlft::estimate_kl(rlft::kl_estimator::k3, logprob, ref, 20.0, HUGE_VAL);
      const double d = ref - logprob;
      CHECK(k1.value == Approx(-d));
      CHECK(k1.derivative == 1.0);
      CHECK(k2.value == Approx(d * d / 2.0));
      CHECK(k2.derivative == Approx(-d));
      CHECK(k3.value == Approx(std::expm1(d) - d).epsilon(1e-12));
      CHECK(k3.derivative == Approx(-std::expm1(d)).epsilon(1e-12));
    }
  }
}

TEST_CASE("k3 keeps its digits for small log-ratios, in float too") {
  for (const float delta : {1e-4f, -3e-3f, 2e-2f, -0.3f, 0.49f}) {
    const long double d = delta;
    const long double exact = std::expm1(d) - d;
    const auto k3 = rlft::estimate_kl<rlft::kl_estimator::k3>(0.0f, delta, 20.0f, INFINITY);
    CHECK(static_cast<double>(std::abs(k3.value - exact) / exact) <= 1e-6);
    CHECK(static_cast<double>(std::abs(-k3.derivative - std::expm1(d)) / std::abs(std::expm1(d))) <= 1e-6);
  }
}

TEST_CASE("k3's derivative is the derivative of its value across the series/exp switch at |δ| = 1/2") {
  for (const double delta : {-0.5 - 1e-4, -0.5 + 1e-4, 0.5 - 1e-4, 0.5 + 1e-4, 0.2, -1.3}) {
    const double h = 1e-6;
    const double up = rlft::estimate_kl<rlft::kl_estimator::k3>(h, delta, 20.0, HUGE_VAL).value;
    const double down = rlft::estimate_kl<rlft::kl_estimator::k3>(-h, delta, 20.0, HUGE_VAL).value;
    const double derivative = rlft::estimate_kl<rlft::kl_estimator::k3>(0.0, delta, 20.0, HUGE_VAL).derivative;
    CHECK((up - down) / (2.0 * h) == Approx(derivative).epsilon(1e-8));
  }
}
