// rlft::sampler: a type that satisfies it, and types that miss each requirement.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rlft/concepts/sampler.hpp"

using rlft::philox_stream;
using rlft::sampled_token;
using rlft::token_id;

namespace {

// Greedy decoding: the argmax, whose probability under the sampled (point-mass) distribution
// is 1.
struct argmax_sampler {
  sampled_token operator()(std::span<const float> logits, std::span<const token_id>,
                           philox_stream&) const {
    const auto best = std::max_element(logits.begin(), logits.end());
    float normaliser = 0.0f;
    for (const float x : logits) normaliser += std::exp(x - *best);
    return {static_cast<token_id>(best - logits.begin()), 0.0f, -std::log(normaliser)};
  }
};

struct returns_a_bare_token_id {
  token_id operator()(std::span<const float>, std::span<const token_id>, philox_stream&) const;
};

struct mutates_itself_when_drawing {
  sampled_token operator()(std::span<const float>, std::span<const token_id>, philox_stream&);
};

struct ignores_the_history {
  sampled_token operator()(std::span<const float>, philox_stream&) const;
};

struct not_copyable {
  not_copyable() = default;
  not_copyable(const not_copyable&) = delete;
  sampled_token operator()(std::span<const float>, std::span<const token_id>, philox_stream&) const;
};

}  // namespace

static_assert(rlft::sampler<argmax_sampler>);
static_assert(!rlft::sampler<returns_a_bare_token_id>);
static_assert(!rlft::draws_token_from_logits<mutates_itself_when_drawing>);
static_assert(!rlft::sampler<ignores_the_history>);
static_assert(!rlft::sampler_parameters<not_copyable>);
static_assert(!rlft::sampler<not_copyable>);
static_assert(!rlft::sampler<int>);

TEST_CASE("a sampler that satisfies the concept reports both log-probabilities") {
  const std::vector<float> logits{0.0f, 2.0f, 1.0f};
  philox_stream rng(1, 0);
  const rlft::sampler auto sampler = argmax_sampler{};
  const auto drawn = sampler(logits, {}, rng);
  CHECK(drawn.token == 1);
  CHECK(drawn.logprob == 0.0f);
  const double expected = 2.0 - std::log(std::exp(0.0) + std::exp(2.0) + std::exp(1.0));
  CHECK(drawn.raw_logprob == doctest::Approx(expected).epsilon(1e-6));
}
