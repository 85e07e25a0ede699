// Edge cases and bad input: p = 1, k = 1, all-equal logits, a vocabulary of one, rows where
// only one token is possible, and every kind of invalid row or parameter (rlft::error whose
// message names the problem).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "reference_distributions.hpp"
#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

namespace {


template <class Sampler>
sampled_token draw(const Sampler& sampler, std::span<const float> logits, std::uint64_t stream = 0,
                   std::span<const token_id> history = {}) {
  philox_stream rng(2026, stream);
  return sampler(logits, history, rng);
}

}  // namespace

TEST_CASE("top-p with p = 1 and top-k with k >= V draw exactly what plain sampling draws") {
  const auto logits = uniform_logits(777, -3.0f, 3.0f, 1);
  for (std::uint64_t stream = 0; stream < 100; ++stream) {
    const auto plain = draw(categorical{}, logits, stream);
    for (const auto& other : {draw(top_p{1.0f}, logits, stream), draw(top_k{777}, logits, stream),
                              draw(min_p{0.0f}, logits, stream), draw(temperature{1.0f}, logits, stream)}) {
      CHECK(other.token == plain.token);
      CHECK(other.logprob == plain.logprob);
      CHECK(other.raw_logprob == plain.raw_logprob);
    }
    CHECK(plain.logprob == plain.raw_logprob);
  }
}

TEST_CASE("k = 1 and greedy return the argmax with probability 1") {
  const auto logits = uniform_logits(1000, -3.0f, 3.0f, 2);
  const auto best = static_cast<token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const double raw = std::log(softmax(to_double(logits))[static_cast<std::size_t>(best)]);
  for (std::uint64_t stream = 0; stream < 20; ++stream) {
    for (const auto& drawn : {draw(top_k{1}, logits, stream), draw(greedy{}, logits, stream),
                              draw(temperature{0.3f} | greedy{}, logits, stream), draw(top_p{1e-6f}, logits, stream)}) {
      CHECK(drawn.token == best);
      CHECK(drawn.logprob == 0.0f);
      CHECK(drawn.raw_logprob == doctest::Approx(raw).epsilon(1e-5));
    }
  }
}

TEST_CASE("all-equal logits: truncations keep every tied token, draws are uniform") {
  const std::vector<float> logits(16, 0.5f);
  for (std::uint64_t stream = 0; stream < 10; ++stream) {
    for (const auto& drawn : {draw(categorical{}, logits, stream), draw(top_k{3}, logits, stream),
                              draw(top_p{0.1f}, logits, stream), draw(min_p{1.0f}, logits, stream)}) {
      CHECK(drawn.logprob == doctest::Approx(-std::log(16.0)).epsilon(1e-6));
      CHECK(drawn.raw_logprob == doctest::Approx(-std::log(16.0)).epsilon(1e-6));
    }
  }
  CHECK(draw(greedy{}, logits).token == 0);
}

TEST_CASE("a vocabulary of one, and rows with a single finite logit, give that token") {
  const std::vector<float> single{-3.5f};
  std::vector<float> masked(5000, -infinity);
  masked[4321] = -100.0f;
  for (const auto& row : {std::span<const float>(single), std::span<const float>(masked)}) {
    const token_id expected = row.size() == 1 ? 0 : 4321;
    const std::vector<token_id> history{expected};
    for (std::uint64_t stream = 0; stream < 5; ++stream) {
      for (const auto& drawn :
           {draw(categorical{}, row, stream), draw(temperature{0.01f}, row, stream), draw(top_k{1}, row, stream),
            draw(top_p{0.5f}, row, stream), draw(min_p{0.5f}, row, stream), draw(greedy{}, row, stream),
            draw(repetition_penalty{2.0f} | frequency_penalty{1.0f} | temperature{3.0f} | top_p{0.9f}, row, stream,
                 history)}) {
        CHECK(drawn.token == expected);
        CHECK(drawn.logprob == 0.0f);
        CHECK(drawn.raw_logprob == 0.0f);
      }
    }
  }
}

TEST_CASE("invalid rows are rejected with a message naming the problem") {
  std::vector<float> logits(10, 0.0f);
  RLFT_CHECK_ERROR_CONTAINS(draw(categorical{}, std::span<const float>{}), "empty row");
  logits[7] = std::nanf("");
  RLFT_CHECK_ERROR_CONTAINS(draw(top_p{0.9f}, logits), "logit of token 7 is nan");
  logits[7] = infinity;
  RLFT_CHECK_ERROR_CONTAINS(draw(categorical{}, logits), "logit of token 7 is inf");
  const std::vector<float> all_masked(10, -infinity);
  RLFT_CHECK_ERROR_CONTAINS(draw(categorical{}, all_masked), "all 10 logits are -inf");
}

TEST_CASE("invalid parameters are rejected with a message naming the parameter") {
  const auto logits = uniform_logits(10, -1.0f, 1.0f, 3);
  for (const float p : {0.0f, -0.5f, 1.5f, std::nanf("")})
    RLFT_CHECK_ERROR_CONTAINS(draw(top_p{p}, logits), "top_p: p must be in (0, 1]");
  for (const std::int64_t k : {std::int64_t{0}, std::int64_t{-3}})
    RLFT_CHECK_ERROR_CONTAINS(draw(top_k{k}, logits), "top_k: k must be at least 1");
  for (const float t : {0.0f, -1.0f, infinity, std::nanf("")})
    RLFT_CHECK_ERROR_CONTAINS(draw(temperature{t}, logits), "temperature: must be positive and finite");
  for (const float p : {-0.1f, 1.1f, std::nanf("")})
    RLFT_CHECK_ERROR_CONTAINS(draw(min_p{p}, logits), "min_p: p must be in [0, 1]");
  RLFT_CHECK_ERROR_CONTAINS(draw(repetition_penalty{0.0f}, logits), "repetition_penalty: must be positive");
  RLFT_CHECK_ERROR_CONTAINS(draw(presence_penalty{infinity}, logits), "presence_penalty: must be finite");
  RLFT_CHECK_ERROR_CONTAINS(draw(frequency_penalty{std::nanf("")}, logits), "frequency_penalty: must be finite");
  const std::vector<token_id> outside{3, 10};
  RLFT_CHECK_ERROR_CONTAINS(draw(repetition_penalty{1.2f}, logits, 0, outside),
                            "history token 10 is outside the vocabulary [0, 10)");
  const std::vector<token_id> negative{-1};
  RLFT_CHECK_ERROR_CONTAINS(draw(presence_penalty{1.0f}, logits, 0, negative), "history token -1");
  const std::vector<float> huge{1e30f, 0.0f};
  RLFT_CHECK_ERROR_CONTAINS(draw(temperature{1e-10f}, huge), "overflowed to +inf");
}

TEST_CASE("penalties change exactly the logits of tokens in the history") {
  const std::vector<float> logits{2.0f, -2.0f, 1.0f, 0.5f, 3.0f};
  const std::vector<token_id> history{0, 1, 1, 4, 4, 4};
  const auto processed = [&](const auto& processor, bool truncate_first) {
    candidate_logits candidates;
    candidates.assign(logits);
    if (truncate_first) candidates.tokens();  // materialises the ids: the sparse path
    processor.apply(candidates, history);
    std::vector<float> by_token(logits.size());
    for (std::size_t i = 0; i < candidates.size(); ++i)
      by_token[static_cast<std::size_t>(candidates.token(i))] = candidates.values()[i];
    return by_token;
  };
  for (const bool sparse : {false, true}) {
    CAPTURE(sparse);
    CHECK(processed(repetition_penalty{2.0f}, sparse) == std::vector<float>{1.0f, -4.0f, 1.0f, 0.5f, 1.5f});
    CHECK(processed(presence_penalty{0.5f}, sparse) == std::vector<float>{1.5f, -2.5f, 1.0f, 0.5f, 2.5f});
    CHECK(processed(frequency_penalty{0.5f}, sparse) == std::vector<float>{1.5f, -3.0f, 1.0f, 0.5f, 1.5f});
  }
}
