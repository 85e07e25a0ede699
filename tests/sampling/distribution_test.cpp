// Chi-square tests: every sampler draws from the exact (truncated, renormalised) distribution
// computed independently in double precision with a full sort. Fixed seeds; the threshold
// z < 5 (p ≈ 3e−7) never fails by chance for these seeds, and the negative controls show the
// test rejects a sampler that draws from the wrong distribution.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "chi_square.hpp"
#include "reference_distributions.hpp"
#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

namespace {

constexpr double max_z = 5.0;

// Draws `draws` tokens and checks them against `expected`: never a token of probability 0,
// and chi-square below the threshold. Returns the chi-square deviate.
template <class Sampler>
double check_distribution(const Sampler& sampler, std::span<const float> logits,
                          const std::vector<double>& expected, std::size_t draws, std::uint64_t seed,
                          std::span<const token_id> history = {}) {
  const auto counts = count_draws(sampler, logits, history, draws, seed);
  for (std::size_t i = 0; i < counts.size(); ++i)
    if (expected[i] == 0.0) CHECK_MESSAGE(counts[i] == 0, "token ", i, " is outside the kept set");
  const auto result = chi_square(counts, expected);
  CHECK_MESSAGE(result.z < max_z, "chi-square ", result.statistic, " on ", result.degrees_of_freedom,
                " degrees of freedom");
  return result.z;
}

}  // namespace

TEST_CASE("categorical sampling draws softmax of the logits") {
  const auto logits = uniform_logits(30, -3.0f, 3.0f, 1);
  check_distribution(categorical{}, logits, softmax(to_double(logits)), 30000, 11);
}

TEST_CASE("temperature draws softmax of logits / T") {
  const auto logits = uniform_logits(25, -2.0f, 2.0f, 2);
  check_distribution(temperature{0.6f}, logits, softmax(to_double(logits, 0.6)), 30000, 12);
  check_distribution(temperature{1.7f}, logits, softmax(to_double(logits, 1.7)), 30000, 13);
}

TEST_CASE("top-k draws the renormalised k most likely tokens") {
  const auto logits = uniform_logits(40, -3.0f, 3.0f, 3);
  const auto p = softmax(to_double(logits));
  check_distribution(top_k{7}, logits, renormalised(p, top_k_set(p, 7)), 30000, 14);
  check_distribution(top_k{39}, logits, renormalised(p, top_k_set(p, 39)), 30000, 15);
  // Few survivors of a larger vocabulary: the race runs over token ids, not spread back.
  const auto wide = uniform_logits(400, -3.0f, 3.0f, 7);
  const auto q = softmax(to_double(wide));
  check_distribution(top_k{12}, wide, renormalised(q, top_k_set(q, 12)), 30000, 20);
}

TEST_CASE("top-p draws the renormalised nucleus") {
  const auto logits = uniform_logits(60, -3.0f, 3.0f, 4);
  const auto p = softmax(to_double(logits));
  for (const float top : {0.3f, 0.8f, 0.95f}) {
    CAPTURE(top);
    check_distribution(top_p{top}, logits, renormalised(p, top_p_set(p, top)), 25000, 16);
  }
}

TEST_CASE("min-p draws the tokens at least p times as likely as the most likely one") {
  const auto logits = uniform_logits(50, -3.0f, 3.0f, 5);
  const auto p = softmax(to_double(logits));
  check_distribution(min_p{0.1f}, logits, renormalised(p, min_p_set(p, 0.1)), 30000, 17);
}

TEST_CASE("a composed sampler draws the distribution of its stages applied in order") {
  const auto logits = uniform_logits(48, -3.0f, 3.0f, 6);
  const std::vector<token_id> history{3, 3, 3, 10, 11, 40, 47, 47};
  const auto sampler = repetition_penalty{1.3f} | presence_penalty{0.25f} | frequency_penalty{0.2f} |
                       temperature{0.8f} | top_k{30} | top_p{0.9f};

  // The same stages in double, in the same order.
  auto z = to_double(logits);
  std::vector<int> count(z.size(), 0);
  for (const auto token : history) ++count[static_cast<std::size_t>(token)];
  for (std::size_t i = 0; i < z.size(); ++i) {
    if (count[i] == 0) continue;
    z[i] = z[i] > 0 ? z[i] / 1.3 : z[i] * 1.3;
    z[i] -= 0.25 + 0.2 * count[i];
  }
  for (double& x : z) x /= 0.8;
  auto p = softmax(z);
  p = renormalised(p, top_k_set(p, 30));
  p = renormalised(p, top_p_set(p, 0.9));
  check_distribution(sampler, logits, p, 30000, 18, history);
}

TEST_CASE("flat distributions show no bias towards small ids") {
  // Ties among the largest keys would favour small ids; 32-bit noise makes them negligible.
  const std::vector<float> logits(256, 0.25f);
  const std::vector<double> p(logits.size(), 1.0 / 256.0);
  const auto counts = count_draws(categorical{}, logits, {}, 12800, 19);
  CHECK(chi_square(counts, p).z < max_z);
  std::int64_t lower_half = 0;
  for (std::size_t i = 0; i < 128; ++i) lower_half += counts[i];
  CHECK(std::abs(static_cast<double>(lower_half) - 6400.0) < 5.0 * std::sqrt(3200.0));  // 5 sigma
}

TEST_CASE("the chi-square test rejects samplers drawing from the wrong distribution") {
  const auto logits = uniform_logits(60, -3.0f, 3.0f, 4);
  const auto p = softmax(to_double(logits));
  const auto untruncated = count_draws(top_p{0.8f}, logits, {}, 25000, 16);
  CHECK(chi_square(untruncated, p).z > 20.0);
  const auto tempered = count_draws(temperature{0.6f}, logits, {}, 25000, 12);
  CHECK(chi_square(tempered, p).z > 20.0);
}
