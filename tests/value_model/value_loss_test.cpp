// rlft::clipped_value_loss against hand-computed tokens (clipped term larger, unclipped larger,
// a tie inside the range), central finite differences, aggregation over micro-batches, and bad
// input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "error_message.hpp"
#include "rlft/objective/value_loss.hpp"

namespace {

// One sequence: a one-token prompt and `completion` tokens, old values and returns given.
rlft::rollout_batch one_sequence(const std::vector<float>& old_values) {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>(old_values.size() + 1, 1));
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {1}, 1);
  batch.values()[0] = 0.0f;
  for (std::size_t t = 0; t < old_values.size(); ++t) batch.values()[t + 1] = old_values[t];
  return batch;
}

}  // namespace

TEST_CASE("value loss: the larger term per token, its derivative, token mean") {
  // ε = 0.2, R = 2. V = 1, V_old = 0.5: clip(V) = 0.7, (1 − 2)² = 1 < (0.7 − 2)² = 1.69: the
  // clipped term, constant in V. V = 0.2, V_old = 0.5: clip(V) = 0.3, 3.24 > 2.89: V − R = −1.8.
  // V = 0.6, V_old = 0.5: inside the range, a tie: ½ of each, V − R = −1.4.
  const auto batch = one_sequence({0.5f, 0.5f, 0.5f});
  const std::vector<float> values = {0.0f, 1.0f, 0.2f, 0.6f}, returns = {0.0f, 2.0f, 2.0f, 2.0f};
  std::vector<float> dvalues(4);
  const auto sums = rlft::clipped_value_loss(batch, 0, 1, values, returns, {}, {}, dvalues);
  CHECK(sums.tokens == 3);
  CHECK(sums.clipped == 1);
  CHECK(sums.loss == doctest::Approx(0.5 * (1.69 + 3.24 + 1.96) / 3).epsilon(1e-6));
  CHECK(dvalues[0] == 0.0f);
  CHECK(dvalues[1] == 0.0f);
  CHECK(dvalues[2] == doctest::Approx(-1.8 / 3).epsilon(1e-6));
  CHECK(dvalues[3] == doctest::Approx(-1.4 / 3).epsilon(1e-6));
  CHECK(sums.squared_error == doctest::Approx(1.0 + 3.24 + 1.96).epsilon(1e-6));
}

TEST_CASE("value loss: gradients match central finite differences away from the kinks") {
  const auto batch = one_sequence({0.3f, -0.4f, 1.1f, 0.0f, 2.0f});
  const std::vector<float> returns = {0.0f, 1.0f, -1.0f, 0.5f, 0.2f, 1.5f};
  const std::vector<float> values = {0.0f, 0.9f, -0.1f, 1.2f, 0.05f, 1.7f};
  const rlft::value_loss_options options{.clip_range = 0.25, .aggregation = rlft::loss_aggregation::token_sum};
  std::vector<float> dvalues(6), unused(6);
  rlft::clipped_value_loss(batch, 0, 1, values, returns, {}, options, dvalues);
  const float step = 1e-3f;
  for (std::size_t t = 1; t < values.size(); ++t) {
    auto plus = values, minus = values;
    plus[t] += step;
    minus[t] -= step;
    const double numeric = (rlft::clipped_value_loss(batch, 0, 1, plus, returns, {}, options, unused).loss -
                            rlft::clipped_value_loss(batch, 0, 1, minus, returns, {}, options, unused).loss) /
                           (2.0 * step);
    CAPTURE(t);
    CHECK(dvalues[t] == doctest::Approx(numeric).epsilon(1e-3));
  }
}

TEST_CASE("value loss: slices with the mini-batch's scope add up to the whole; bad input is named") {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>{1, 1, 1});
  sequences.push_back(std::vector<rlft::token_id>{1, 1, 1, 1});
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {1, 1}, 2);
  const std::vector<float> old_values = {0.0f, 0.1f, 0.2f, 0.0f, -0.3f, 0.4f, 0.5f};
  std::copy(old_values.begin(), old_values.end(), batch.values().begin());
  const std::vector<float> values = {0.0f, 0.5f, -0.1f, 0.0f, 0.2f, 0.9f, 0.45f};
  const std::vector<float> returns = {0.0f, 1.0f, 0.0f, 0.0f, -1.0f, 1.0f, 0.5f};
  for (const auto aggregation : {rlft::loss_aggregation::token_mean, rlft::loss_aggregation::sequence_mean_token_mean}) {
    const rlft::value_loss_options options{.aggregation = aggregation};
    std::vector<float> whole(7), first(3), second(4);
    const auto all = rlft::clipped_value_loss(batch, 0, 2, values, returns, {}, options, whole);
    const auto scope = rlft::count_aggregation_scope(batch);
    auto parts = rlft::clipped_value_loss(batch, 0, 1, std::span(values).first(3), returns, scope, options, first);
    parts.add(rlft::clipped_value_loss(batch, 1, 1, std::span(values).last(4), returns, scope, options, second));
    CHECK(parts.loss == doctest::Approx(all.loss).epsilon(1e-12));
    CHECK(parts.tokens == all.tokens);
  }
  using rlft::testing::error_message;
  std::vector<float> gradients(7);
  CHECK(error_message([&] { rlft::clipped_value_loss(batch, 0, 2, values, returns, {}, {.clip_range = 0.0}, gradients); }) ==
        "clipped_value_loss: option clip_range = 0 is out of range (> 0 (infinity: no clipping))");
  CHECK(error_message([&] { rlft::clipped_value_loss(batch, 1, 2, values, returns, {}, {}, gradients); }) ==
        "clipped_value_loss: sequences [1, 3) are not a non-empty slice of the batch's 2");
  batch.values()[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(rlft::clipped_value_loss(batch, 0, 2, values, returns, {}, {}, gradients), rlft::data_error);
  CHECK(error_message([&] { rlft::clipped_value_loss(batch, 0, 2, values, returns, {}, {}, gradients); }) ==
        "clipped_value_loss: the old value (batch.values()) of token 5 is nan");
}
