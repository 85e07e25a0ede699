// The draw rule documented in exponential_race.hpp — the contract a CUDA sampler must follow —
// checked against an independent double-precision evaluation of the same formula, and the
// float exp/log it is built from checked against libm in double precision.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "reference_distributions.hpp"
#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

namespace {


double ulps(double value, double reference) {
  return std::abs(value - reference) / (std::abs(reference) * 0x1.0p-24);
}

// E of the rule, in double: −log(1 − w), w = (2b + 1)/2^33 rounded to float, capped at
// 1 − 2^−24.
double reference_variate(std::uint32_t bits) {
  const auto w = static_cast<float>((2.0 * bits + 1.0) * 0x1.0p-33);
  return -std::log1p(-std::min(double{w}, 1.0 - 0x1.0p-24));
}

// The token the rule draws from the candidate set `keep` of `z`, evaluated in double.
std::size_t reference_race(const std::vector<double>& z, const std::vector<bool>& keep, const philox_stream& rng) {
  double shift = -INFINITY;
  for (std::size_t i = 0; i < z.size(); ++i)
    if (keep[i]) shift = std::max(shift, z[i]);
  std::size_t best = z.size();
  double best_key = -1.0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    if (!keep[i]) continue;
    const auto word = rng.block(static_cast<std::uint32_t>(i / 4)).words[i % 4];
    const double key = std::exp(z[i] - shift) / reference_variate(word);
    if (key > best_key) {
      best_key = key;
      best = i;
    }
  }
  return best;
}

}  // namespace

TEST_CASE("exp_nonpositive is within 2 ulp of exp on [-87.3, 0] and 0 below") {
  double worst = 0.0;
  for (float x = -87.3f; x <= 0.0f; x += 0.000731f)
    worst = std::max(worst, ulps(detail::exp_nonpositive(x), std::exp(double{x})));
  CHECK(worst <= 2.0);
  CHECK(detail::exp_nonpositive(0.0f) == 1.0f);
  CHECK(detail::exp_nonpositive(-0.0f) == 1.0f);
  CHECK(detail::exp_nonpositive(-87.4f) == 0.0f);
  CHECK(detail::exp_nonpositive(-1e30f) == 0.0f);
  CHECK(detail::exp_nonpositive(-infinity) == 0.0f);
}

TEST_CASE("log_positive is within 4 ulp of log for normal positive floats") {
  double worst = 0.0;
  for (double x = 0x1.0p-126; x < 0x1.0p126; x *= 1.0009765625) {
    const auto value = static_cast<float>(x);
    const double reference = std::log(double{value});
    if (reference != 0.0) worst = std::max(worst, ulps(detail::log_positive(value), reference));
  }
  for (float x = 0.5f; x < 2.0f; x += 0x1.0p-14f) {
    const double reference = std::log(double{x});
    if (reference != 0.0) worst = std::max(worst, ulps(detail::log_positive(x), reference));
  }
  CHECK(worst <= 4.0);
  CHECK(detail::log_positive(1.0f) == 0.0f);
}

TEST_CASE("max_and_flaws finds the maximum and flags NaN and +inf but not -inf") {
  const std::vector<float> plain{-3.0f, -0.0f, -infinity, -7.5f};
  CHECK(detail::max_and_flaws(plain.data(), plain.size()).max == 0.0f);
  CHECK_FALSE(detail::max_and_flaws(plain.data(), plain.size()).has_nan_or_positive_infinity);
  const std::vector<float> negative{-3.0f, -1.5f, -2.0f};
  CHECK(detail::max_and_flaws(negative.data(), negative.size()).max == -1.5f);
  const std::vector<float> with_nan{1.0f, std::nanf(""), 2.0f};
  CHECK(detail::max_and_flaws(with_nan.data(), with_nan.size()).has_nan_or_positive_infinity);
  const std::vector<float> with_infinity{1.0f, infinity};
  CHECK(detail::max_and_flaws(with_infinity.data(), with_infinity.size()).has_nan_or_positive_infinity);
  CHECK(detail::max_and_flaws(nullptr, 0).max == -infinity);
}

TEST_CASE("exponential_variate follows the documented formula and is Exp(1)") {
  double worst = 0.0;
  for (const std::uint32_t bits :
       {0u, 1u, 2u, 255u, 65535u, 65536u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
    worst = std::max(worst, ulps(exponential_variate(bits), reference_variate(bits)));
  philox_stream words(5, 5);
  double sum = 0.0, below_ln2 = 0.0;
  constexpr int draws = 1 << 20;
  for (int i = 0; i < draws; ++i) {
    const std::uint32_t bits = words();
    const float e = exponential_variate(bits);
    if (i < 100000) worst = std::max(worst, ulps(e, reference_variate(bits)));
    sum += e;
    below_ln2 += e < std::log(2.0f) ? 1.0 : 0.0;
  }
  CHECK(worst <= 8.0);
  CHECK(exponential_variate(0xffffffffu) == doctest::Approx(24.0 * std::log(2.0)).epsilon(1e-6));
  CHECK(exponential_variate(0u) > 0.0f);
  // Mean 1 and median ln 2, each within 5 standard errors.
  CHECK(std::abs(sum / draws - 1.0) < 5.0 / std::sqrt(double{draws}));
  CHECK(std::abs(below_ln2 / draws - 0.5) < 5.0 * 0.5 / std::sqrt(double{draws}));
}

TEST_CASE("the drawn token is the documented exponential-race winner, dense, sparse and spread") {
  for (std::uint64_t row = 0; row < 200; ++row) {
    CAPTURE(row);
    auto logits = uniform_logits(1000 + row, -4.0f, 4.0f, 100 + row);
    logits[row % 7] = -infinity;
    const philox_stream rng(77, row, 3);
    const auto z = to_double(logits);

    philox_stream stream = rng;
    CHECK(categorical{}(logits, {}, stream).token ==
          static_cast<token_id>(reference_race(z, std::vector<bool>(z.size(), true), rng)));

    // Few survivors race by id; many (at least 1/8 of the vocabulary) are spread back over it.
    const auto tempered = to_double(logits, 0.7);
    for (const std::int64_t k : {40, 600}) {
      const auto keep = top_k_set(softmax(tempered), static_cast<std::size_t>(k));
      CHECK((temperature{0.7f} | top_k{k})(logits, {}, stream).token ==
            static_cast<token_id>(reference_race(tempered, keep, rng)));
    }
  }
}

TEST_CASE("both log-probabilities match double-precision references") {
  const auto logits = uniform_logits(5000, -6.0f, 6.0f, 9);
  const auto raw = softmax(to_double(logits));
  const auto tempered = softmax(to_double(logits, 0.5));
  const auto kept = renormalised(tempered, top_p_set(tempered, 0.9));
  const auto sampler = temperature{0.5f} | top_p{0.9f};
  for (std::uint64_t draw = 0; draw < 50; ++draw) {
    philox_stream rng(1, draw);
    const auto drawn = sampler(logits, {}, rng);
    const auto token = static_cast<std::size_t>(drawn.token);
    REQUIRE(kept[token] > 0.0);
    CHECK(drawn.logprob == doctest::Approx(std::log(kept[token])).epsilon(1e-5));
    CHECK(drawn.raw_logprob == doctest::Approx(std::log(raw[token])).epsilon(1e-5));
  }
}
