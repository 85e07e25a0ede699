// Compile-time composition: every stage and every chain satisfies rlft::sampler, chains flatten
// into one sampling_pipeline, categorical is neutral, and a user-defined logit processor
// composes with the built-in ones.
#include <doctest/doctest.h>

#include <type_traits>
#include <vector>

#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

static_assert(sampler<categorical> && sampler<greedy> && sampler<temperature> && sampler<top_k> &&
              sampler<top_p> && sampler<min_p> && sampler<repetition_penalty> && sampler<presence_penalty> &&
              sampler<frequency_penalty>);
static_assert(logit_processor<top_p> && !logit_processor<int> && !logit_processor<sampled_token>);

using chain = decltype(temperature{} | top_k{} | top_p{});
static_assert(std::is_same_v<chain, sampling_pipeline<temperature, top_k, top_p>>);
static_assert(std::is_same_v<decltype((temperature{} | top_k{}) | (top_p{} | greedy{})),
                             sampling_pipeline<temperature, top_k, top_p, greedy>>);
static_assert(sampler<chain> && logit_processor<chain>);
static_assert(!std::is_polymorphic_v<chain>, "composition involves no virtual dispatch");

namespace {

// A user's own stage: forbid one token (for example an end-of-sequence token before a minimum
// length).
struct ban_token {
  token_id banned = 0;
  void apply(candidate_logits& candidates, std::span<const token_id>) const {
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (candidates.token(i) == banned) candidates.values()[i] = -std::numeric_limits<float>::infinity();
  }
};
static_assert(logit_processor<ban_token>);

}  // namespace

TEST_CASE("a chain holds its stages by value, in order") {
  const auto sampler = temperature{0.6f} | top_p{0.95f} | top_k{40};
  CHECK(std::get<0>(sampler.stages).value == 0.6f);
  CHECK(std::get<1>(sampler.stages).p == 0.95f);
  CHECK(std::get<2>(sampler.stages).k == 40);
}

TEST_CASE("categorical is the neutral element of |") {
  const auto logits = uniform_logits(500, -3.0f, 3.0f, 1);
  const auto plain = temperature{0.8f} | top_p{0.9f};
  const auto padded = categorical{} | temperature{0.8f} | categorical{} | top_p{0.9f} | categorical{};
  for (std::uint64_t stream = 0; stream < 50; ++stream) {
    philox_stream a(1, stream), b(1, stream);
    const auto x = plain(logits, {}, a), y = padded(logits, {}, b);
    CHECK(x.token == y.token);
    CHECK(x.logprob == y.logprob);
  }
}

TEST_CASE("a user-defined processor composes with built-in stages") {
  std::vector<float> logits(50, 0.0f);
  logits[7] = 10.0f;  // by far the most likely token
  const auto sampler = ban_token{7} | temperature{0.5f} | top_k{5};
  for (std::uint64_t stream = 0; stream < 200; ++stream) {
    philox_stream rng(3, stream);
    const auto drawn = sampler(logits, {}, rng);
    CHECK(drawn.token != 7);
  }
  // Only banned tokens left: the draw reports it instead of returning garbage.
  const std::vector<float> one{1.0f};
  philox_stream rng(3, 0);
  RLFT_CHECK_ERROR_CONTAINS((ban_token{0} | top_k{1})(one, {}, rng), "no candidate with a finite logit");
}
