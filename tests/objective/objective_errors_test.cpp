// Bad input to the objectives: each failure is an rlft::error naming the problem.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "rlft/objective/cispo_objective.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/gmpo_objective.hpp"
#include "rlft/objective/gspo_objective.hpp"
#include "rlft/objective/gspo_token_objective.hpp"
#include "rlft/objective/reinforce_objective.hpp"
#include "rlft/objective/sapo_objective.hpp"

using doctest::Contains;

namespace {

struct small_batch {
  rlft::rollout_batch batch = rlft::rollout_batch::with_group_size(
      rlft::token_sequences({1, 2, 3, 1, 2, 3, 4}, {0, 3, 7}), {1, 1}, 2);
  std::vector<float> logprobs = std::vector<float>(7, -1.0f);
  std::vector<float> entropy = std::vector<float>(7, 1.0f);
  std::vector<float> gradients = std::vector<float>(7);
  std::vector<float> entropy_gradients = std::vector<float>(7);

  template <class Objective>
  rlft::objective_result run(const Objective& objective) {
    return objective({.batch = batch, .sequence_count = 2, .logprobs = logprobs, .entropy = entropy},
                     {.logprob_gradients = gradients, .entropy_gradients = entropy_gradients});
  }
};

}  // namespace

TEST_CASE("out-of-range options are rejected, naming the option") {
  small_batch b;
  const auto option_error = [&](const rlft::clipped_surrogate_objective& objective, const char* expected) {
    CHECK_THROWS_WITH_AS(b.run(objective), Contains(expected), rlft::error);
  };
  option_error({.clip = {.epsilon_low = -0.1}}, "option clip.epsilon_low = -0.1 is out of range (in [0, 1))");
  option_error({.clip = {.epsilon_low = 1.0}}, "clip.epsilon_low = 1");
  option_error({.clip = {.epsilon_high = -0.2}}, "clip.epsilon_high = -0.2");
  option_error({.clip = {.epsilon_high = std::numeric_limits<double>::infinity()}}, "clip.epsilon_high = inf");
  option_error({.clip = {.dual_clip = 0.5}}, "clip.dual_clip = 0.5 is out of range (0 for off, or finite and > 1)");
  option_error({.clip = {.epsilon_high = 0.28, .two_sided = 1.2}}, "clip.two_sided = 1.2");
  option_error({.kl = {.coefficient = -0.01}}, "option kl.coefficient = -0.01");
  option_error({.kl = {.coefficient = 0.01, .log_ratio_bound = -1.0}}, "kl.log_ratio_bound = -1");
  option_error({.kl = {.coefficient = 0.01, .value_bound = -1.0}}, "kl.value_bound = -1");
  option_error({.kl = {.coefficient = 0.01, .value_bound = std::numeric_limits<double>::infinity()}},
               "kl.value_bound = inf is out of range (0 for none, or finite and > 0)");
  option_error({.entropy_coefficient = std::nan("")}, "option entropy_coefficient = nan is out of range (finite)");
  option_error({.aggregation = rlft::loss_aggregation::sequence_mean_token_sum_normalized},
               "option constant_divisor = 0 is out of range");
  option_error({.log_ratio_bound = 0.0}, "option log_ratio_bound = 0");
  option_error({.aggregation = static_cast<rlft::loss_aggregation>(17)}, "option aggregation is out of range (a loss_aggregation value)");
  CHECK_THROWS_WITH_AS(b.run(rlft::gspo_objective{.clip = {.epsilon_low = 2.0}}),
                       Contains("gspo objective: option clip.epsilon_low = 2"), rlft::error);
  CHECK_THROWS_WITH_AS(b.run(rlft::reinforce_objective{.kl = {.coefficient = -1.0}}),
                       Contains("reinforce objective: option kl.coefficient = -1"), rlft::error);
  option_error({.kl = {.coefficient = 0.01, .estimator = static_cast<rlft::kl_estimator>(9)}},
               "kl.estimator is out of range (k1, k2, k3, abs or k3_plus)");

  // The newer objectives' own options.
  const auto other_error = [&](const auto& objective, const char* expected) {
    CHECK_THROWS_WITH_AS(b.run(objective), Contains(expected), rlft::error);
  };
  other_error(rlft::cispo_objective{.epsilon_low = 1.5}, "cispo objective: option epsilon_low = 1.5 is out of range (in [0, 1])");
  other_error(rlft::cispo_objective{.epsilon_high = std::nan("")}, "cispo objective: option epsilon_high = nan");
  other_error(rlft::cispo_objective{.log_ratio_bound = 100.0}, "cispo objective: option log_ratio_bound = 100");
  other_error(rlft::sapo_objective{.temperature_positive = 0.0},
              "sapo objective: option temperature_positive = 0 is out of range (in (0, 80])");
  other_error(rlft::sapo_objective{.temperature_negative = 81.0}, "sapo objective: option temperature_negative = 81");
  other_error(rlft::gmpo_objective{.epsilon_low = -0.1}, "gmpo objective: option epsilon_low = -0.1");
  other_error(rlft::gmpo_objective{.epsilon_high = std::numeric_limits<double>::infinity()},
              "gmpo objective: option epsilon_high = inf");
  other_error(rlft::gspo_token_objective{.clip = {.epsilon_low = 1.0}}, "gspo-token objective: option clip.epsilon_low = 1");
  other_error(rlft::sapo_objective{.aggregation = static_cast<rlft::loss_aggregation>(17)}, "sapo objective: option aggregation");
}

TEST_CASE("slices outside the batch and spans of the wrong length are rejected") {
  small_batch b;
  const rlft::clipped_surrogate_objective objective;
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .logprobs = b.logprobs}, {.logprob_gradients = b.gradients}),
                       Contains("the slice covers no sequences"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .first_sequence = 1, .sequence_count = 2, .logprobs = b.logprobs},
                                 {.logprob_gradients = b.gradients}),
                       Contains("slice [1, 3) exceeds the batch's 2 sequences"), rlft::error);
  std::vector<float> short_span(6);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = short_span},
                                 {.logprob_gradients = b.gradients}),
                       Contains("6 log-probs given for a slice of 7 tokens"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs},
                                 {.logprob_gradients = short_span}),
                       Contains("6 log-prob gradients given for a slice of 7 tokens"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs, .entropy = short_span},
                                 {.logprob_gradients = b.gradients}),
                       Contains("6 entropies given"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 1, .logprobs = b.logprobs},
                                 {.logprob_gradients = b.gradients}),
                       Contains("7 log-probs given for a slice of 3 tokens"), rlft::error);
}

TEST_CASE("the entropy bonus needs the entropies and their gradient span") {
  small_batch b;
  const rlft::clipped_surrogate_objective objective{.entropy_coefficient = 0.01};
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs},
                                 {.logprob_gradients = b.gradients, .entropy_gradients = b.entropy_gradients}),
                       Contains("needs the policy's per-token entropy"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs, .entropy = b.entropy},
                                 {.logprob_gradients = b.gradients}),
                       Contains("needs output.entropy_gradients"), rlft::error);
  // Without the bonus the entropies are only a metric.
  const auto result = rlft::clipped_surrogate_objective{}(
      {.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs, .entropy = b.entropy},
      {.logprob_gradients = b.gradients});
  CHECK(result.metrics.entropy_mean == 1.0);
}

TEST_CASE("a scope smaller than the slice is rejected") {
  small_batch b;
  const rlft::clipped_surrogate_objective objective;
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs,
                                  .scope = {.sequences = 2, .loss_tokens = 4}},
                                 {.logprob_gradients = b.gradients}),
                       Contains("the aggregation scope counts 4 loss tokens but this slice alone has 5"), rlft::error);
  CHECK_THROWS_WITH_AS(objective({.batch = b.batch, .sequence_count = 2, .logprobs = b.logprobs,
                                  .scope = {.sequences = 1, .loss_tokens = 5}},
                                 {.logprob_gradients = b.gradients}),
                       Contains("counts 1 sequences but this slice alone has 2"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::count_aggregation_scope(b.batch, 1, 2), Contains("sequences [1, 3) exceed the batch's 2"),
                       rlft::error);
}

TEST_CASE("non-finite inputs of loss tokens are data errors naming them; those of other tokens are ignored") {
  small_batch b;
  const rlft::clipped_surrogate_objective objective{.kl = {.coefficient = 0.1}};
  b.logprobs[0] = std::numeric_limits<float>::quiet_NaN();  // a prompt token: not in the loss
  b.batch.ref_logprobs()[3] = std::numeric_limits<float>::infinity();
  CHECK(std::isfinite(b.run(objective).loss));
  CHECK(b.gradients[0] == 0.0f);

  b.logprobs[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(b.run(objective), Contains("log-prob of token 5 (slice token 5) is nan"), rlft::data_error);
  b.logprobs[5] = -1.0f;
  b.batch.advantages()[2] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(b.run(objective), Contains("advantage of token 2"), rlft::data_error);
  b.batch.advantages()[2] = 0.0f;
  b.batch.ref_logprobs()[6] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(b.run(objective), Contains("reference log-prob of token 6"), rlft::data_error);
  b.batch.ref_logprobs()[6] = 0.0f;
  b.entropy[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(b.run(rlft::clipped_surrogate_objective{.entropy_coefficient = 0.1}),
                       Contains("entropy of token 4"), rlft::data_error);
}

TEST_CASE("infinite log-probs of loss tokens are named, not clamped into a finite loss") {
  const float inf = std::numeric_limits<float>::infinity();
  const auto named = [](const auto& objective, const auto& spoil, const char* expected) {
    small_batch b;
    spoil(b);
    CHECK_THROWS_WITH_AS(b.run(objective), Contains(expected), rlft::data_error);
  };
  const rlft::clipped_surrogate_objective with_kl{.kl = {.coefficient = 0.1}};
  named(with_kl, [&](small_batch& b) { b.logprobs[5] = -inf; }, "log-prob of token 5 (slice token 5) is -inf");
  named(with_kl, [&](small_batch& b) { b.batch.old_logprobs()[2] = -inf; }, "old log-prob of token 2 (slice token 2) is -inf");
  named(with_kl, [&](small_batch& b) { b.batch.ref_logprobs()[6] = inf; }, "reference log-prob of token 6 (slice token 6) is inf");
  named(rlft::gspo_objective{}, [&](small_batch& b) { b.batch.old_logprobs()[4] = inf; }, "old log-prob of token 4");
  named(rlft::reinforce_objective{.kl = {.coefficient = 0.1}}, [&](small_batch& b) { b.batch.ref_logprobs()[1] = -inf; },
        "reference log-prob of token 1");
}
