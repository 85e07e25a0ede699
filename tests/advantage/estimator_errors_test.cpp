// Bad input to the estimators: each failure is an rlft::error naming the problem; bad values in
// the data (NaN rewards, a batch that cannot be whitened) are rlft::data_error, misuse is not.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "batch_builder.hpp"
#include "rlft/advantage/dr_grpo_advantage.hpp"
#include "rlft/advantage/gae_advantage.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/advantage/process_supervision_advantage.hpp"
#include "rlft/advantage/reinforce_plus_plus_advantage.hpp"
#include "rlft/advantage/remax_advantage.hpp"
#include "rlft/advantage/rloo_advantage.hpp"

using doctest::Contains;
using rlft_test::make_batch;

namespace {

constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();
constexpr float infinity = std::numeric_limits<float>::infinity();

rlft::rollout_batch valid_batch() {
  auto batch = make_batch({{1, 2}, {2, 2}, {1, 3}}, {0, 2, 3}, {1.0f, 0.0f, 0.5f});
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) batch.values()[t] = 0.0f;
  for (std::size_t g = 0; g < batch.num_groups(); ++g) batch.greedy_rewards()[g] = 0.0f;
  for (const auto t : {2, 6, 10}) batch.step_ends()[static_cast<std::size_t>(t)] = 1;
  return batch;
}

template <class Estimator>
void check_common_errors(const Estimator& estimator, const char* name) {
  CAPTURE(name);
  auto batch = valid_batch();
  std::vector<float> advantages(batch.num_tokens());
  CHECK_NOTHROW(estimator(batch, advantages));

  std::vector<float> short_span(batch.num_tokens() - 1);
  CHECK_THROWS_WITH_AS(estimator(batch, short_span), Contains("10 advantages given for a batch of 11 tokens"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(estimator(batch, short_span), Contains(name), rlft::error);
}

}  // namespace

TEST_CASE("every estimator rejects an advantage span of the wrong length") {
  check_common_errors(rlft::grpo_advantage{}, "grpo advantage");
  check_common_errors(rlft::dr_grpo_advantage{}, "dr. grpo advantage");
  check_common_errors(rlft::rloo_advantage{}, "rloo advantage");
  check_common_errors(rlft::remax_advantage{}, "remax advantage");
  check_common_errors(rlft::reinforce_plus_plus_advantage{}, "reinforce++ advantage");
  check_common_errors(rlft::gae_advantage{}, "gae advantage");
  check_common_errors(rlft::process_supervision_advantage{}, "process supervision advantage");
}

TEST_CASE("NaN and infinite rewards are data errors naming the sequence") {
  for (const float bad : {not_a_number, infinity, -infinity}) {
    auto batch = valid_batch();
    batch.rewards().total()[1] = bad;
    std::vector<float> advantages(batch.num_tokens());
    const auto message = Contains("reward of sequence 1 is");
    CHECK_THROWS_WITH_AS(rlft::grpo_advantage{}(batch, advantages), message, rlft::data_error);
    CHECK_THROWS_WITH_AS(rlft::dr_grpo_advantage{}(batch, advantages), message, rlft::data_error);
    CHECK_THROWS_WITH_AS(rlft::rloo_advantage{}(batch, advantages), message, rlft::data_error);
    CHECK_THROWS_WITH_AS(rlft::remax_advantage{}(batch, advantages), message, rlft::data_error);
    CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{}(batch, advantages), message, rlft::data_error);
    CHECK_THROWS_WITH_AS(rlft::gae_advantage{}(batch, advantages), message, rlft::data_error);
  }
}

TEST_CASE("out-of-range options are rejected, naming the option") {
  auto batch = valid_batch();
  std::vector<float> advantages(batch.num_tokens());
  CHECK_THROWS_WITH_AS(rlft::grpo_advantage{.epsilon = -1e-4}(batch, advantages),
                       Contains("option epsilon = -0.0001 is out of range"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::grpo_advantage{.epsilon = std::nan("")}(batch, advantages), Contains("epsilon"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{.gamma = 1.5}(batch, advantages),
                       Contains("option gamma = 1.5"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = -0.1}}(batch, advantages),
                       Contains("option kl.coefficient = -0.1"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{.whitening_epsilon = -1.0}(batch, advantages),
                       Contains("whitening_epsilon"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::gae_advantage{.lambda = -0.5}(batch, advantages), Contains("option lambda = -0.5"),
                       rlft::error);
  const rlft::gae_advantage unbounded{.kl = {.coefficient = 0.1, .log_ratio_bound = 0.0}};
  CHECK_THROWS_WITH_AS(unbounded(batch, advantages), Contains("kl.log_ratio_bound"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::process_supervision_advantage{.epsilon = -1.0}(batch, advantages),
                       Contains("option epsilon"), rlft::error);
}

TEST_CASE("missing or broken per-token and per-group inputs are rejected") {
  std::vector<float> advantages(11), returns(11);
  {
    auto batch = make_batch({{1, 2}, {2, 2}, {1, 3}}, {0, 2, 3}, {1.0f, 0.0f, 0.5f});  // values never set
    CHECK_THROWS_WITH_AS(rlft::gae_advantage{}(batch, advantages),
                         Contains("value of token 1 (sequence 0) is nan (fill batch.values())"), rlft::error);
    CHECK_THROWS_WITH_AS(rlft::remax_advantage{}(batch, advantages),
                         Contains("greedy reward of group 0 is nan (fill batch.greedy_rewards())"), rlft::error);
  }
  {
    auto batch = valid_batch();
    std::vector<float> short_returns(3);
    CHECK_THROWS_WITH_AS(rlft::gae_advantage{}(batch, advantages, short_returns),
                         Contains("3 returns given for a batch of 11 tokens"), rlft::error);
    batch.token_rewards()[9] = infinity;
    CHECK_THROWS_WITH_AS(rlft::gae_advantage{}(batch, advantages, returns),
                         Contains("token reward of token 9 (sequence 2) is inf"), rlft::error);
    CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{}(batch, advantages),
                         Contains("token reward of token 9"), rlft::error);
  }
  {
    auto batch = valid_batch();
    batch.ref_logprobs()[5] = not_a_number;
    // Only read when the KL penalty is on.
    CHECK_NOTHROW(rlft::reinforce_plus_plus_advantage{}(batch, advantages));
    CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{.kl = {.coefficient = 0.1}}(batch, advantages),
                         Contains("reference log-prob of token 5 (sequence 1) is nan"), rlft::error);
    batch.old_logprobs()[2] = -infinity;
    CHECK_THROWS_WITH_AS(rlft::gae_advantage{.kl = {.coefficient = 0.1}}(batch, advantages),
                         Contains("old log-prob of token 2 (sequence 0) is -inf"), rlft::error);
  }
  {
    auto batch = valid_batch();
    batch.greedy_rewards()[1] = -infinity;
    CHECK_THROWS_WITH_AS(rlft::remax_advantage{}(batch, advantages), Contains("greedy reward of group 1 is -inf"),
                         rlft::error);
  }
}

TEST_CASE("process supervision rejects misplaced, missing and non-finite step rewards") {
  std::vector<float> advantages(11);
  {
    auto batch = valid_batch();
    batch.step_ends()[0] = 1;
    CHECK_THROWS_WITH_AS(rlft::process_supervision_advantage{}(batch, advantages),
                         Contains("token 0 (sequence 0) is marked as a step end but belongs to the prompt"),
                         rlft::error);
  }
  {
    auto batch = valid_batch();
    batch.step_ends()[6] = 0;
    CHECK_THROWS_WITH_AS(rlft::process_supervision_advantage{}(batch, advantages),
                         Contains("sequence 1 has completion tokens but no step end"), rlft::error);
  }
  {
    auto batch = valid_batch();
    batch.token_rewards()[10] = not_a_number;
    CHECK_THROWS_WITH_AS(rlft::process_supervision_advantage{}(batch, advantages),
                         Contains("step reward of token 10 (sequence 2) is nan"), rlft::error);
  }
}

TEST_CASE("an empty group cannot reach an estimator: the batch rejects it") {
  CHECK_THROWS_WITH_AS(make_batch({{1, 2}, {1, 2}}, {0, 0, 2}), Contains("group 0 is empty"), rlft::error);
}

TEST_CASE("misuse is not a data error") {
  auto batch = valid_batch();
  std::vector<float> advantages(batch.num_tokens()), short_span(batch.num_tokens() - 1);
  const auto is_data_error = [](auto&& run) {
    try {
      run();
    } catch (const rlft::data_error&) {
      return true;
    } catch (const rlft::error&) {
      return false;
    }
    return false;
  };
  CHECK_FALSE(is_data_error([&] { rlft::grpo_advantage{.epsilon = -1.0}(batch, advantages); }));
  CHECK_FALSE(is_data_error([&] { rlft::rloo_advantage{}(batch, short_span); }));
  CHECK_FALSE(is_data_error([&] { rlft::gae_advantage{.gamma = 2.0}(batch, advantages); }));
  batch.rewards().total()[0] = not_a_number;
  CHECK(is_data_error([&] { rlft::grpo_advantage{}(batch, advantages); }));
}

TEST_CASE("whitening a batch with a single loss token is an error naming the cause") {
  auto batch = make_batch({{1, 2}, {1, 1}}, {0, 2}, {1.0f, 0.0f});
  batch.loss_mask()[1] = 0;  // sequence 0 keeps its last token only, sequence 1 its only one
  for (std::size_t t = 0; t < batch.num_tokens(); ++t) batch.values()[t] = 0.0f;
  std::vector<float> advantages(batch.num_tokens());
  CHECK_NOTHROW(rlft::reinforce_plus_plus_advantage{}(batch, advantages));  // two loss tokens
  batch.loss_mask()[4] = 0;
  const auto message = Contains("whitening needs at least two loss tokens, and the batch has one");
  CHECK_THROWS_WITH_AS(rlft::reinforce_plus_plus_advantage{}(batch, advantages), message, rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::gae_advantage{.whiten = true}(batch, advantages), message, rlft::data_error);
  CHECK_NOTHROW(rlft::reinforce_plus_plus_advantage{.whiten = false}(batch, advantages));
}
