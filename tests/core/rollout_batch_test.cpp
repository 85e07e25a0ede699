#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rlft/core/rollout_batch.hpp"

using doctest::Contains;
using rlft::token_id;

namespace {

// 2 prompts × 2 completions. Prompt A = {1, 2}, prompt B = {3}.
rlft::token_sequences two_by_two() {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<token_id>{1, 2, 10, 11, 12});
  sequences.push_back(std::vector<token_id>{1, 2, 20});
  sequences.push_back(std::vector<token_id>{3, 30, 31});
  sequences.push_back(std::vector<token_id>{3, 40, 41, 42, 43});
  return sequences;
}

}  // namespace

TEST_CASE("rollout_batch exposes groups, sequences, prompt/completion boundaries and masks") {
  auto batch = rlft::rollout_batch::with_group_size(two_by_two(), {2, 2, 1, 1}, 2);
  CHECK(batch.num_groups() == 2);
  CHECK(batch.num_sequences() == 4);
  CHECK(batch.num_tokens() == 16);
  CHECK(batch.num_completion_tokens() == 10);
  CHECK(batch.group_begin(1) == 2);
  CHECK(batch.group_end(1) == 4);
  CHECK(batch.group_size(0) == 2);

  CHECK(batch.sequence_begin(2) == 8);
  CHECK(batch.sequence_end(2) == 11);
  CHECK(batch.prompt_length(3) == 1);
  CHECK(batch.completion_length(3) == 4);
  CHECK(batch.prompt(0).size() == 2);
  CHECK(batch.completion(0)[0] == 10);
  CHECK(batch.completion(3).back() == 43);

  const std::vector<std::uint8_t> expected_mask{0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1};
  CHECK(std::vector<std::uint8_t>(batch.loss_mask().begin(), batch.loss_mask().end()) ==
        expected_mask);

  for (auto field : {batch.sampling_logprobs(), batch.old_logprobs(), batch.ref_logprobs(),
                     batch.advantages(), batch.token_rewards()}) {
    CHECK(field.size() == batch.num_tokens());
    CHECK(std::all_of(field.begin(), field.end(), [](float x) { return x == 0.0f; }));
  }
  CHECK(batch.step_ends().size() == batch.num_tokens());
  CHECK(std::all_of(batch.step_ends().begin(), batch.step_ends().end(), [](auto x) { return x == 0; }));
  // Inputs without a neutral default start unset, so estimators can tell "never filled".
  CHECK(batch.values().size() == batch.num_tokens());
  CHECK(std::all_of(batch.values().begin(), batch.values().end(), [](float x) { return std::isnan(x); }));
  CHECK(batch.greedy_rewards().size() == batch.num_groups());
  CHECK(std::all_of(batch.greedy_rewards().begin(), batch.greedy_rewards().end(),
                    [](float x) { return std::isnan(x); }));
  CHECK(batch.truncated().size() == 4);
  CHECK(batch.rewards().num_sequences() == 4);
}

TEST_CASE("per-token arrays are distinct and line up with sequence slices") {
  auto batch = rlft::rollout_batch::with_group_size(two_by_two(), {2, 2, 1, 1}, 2);
  batch.old_logprobs()[batch.sequence_begin(2) + 1] = -0.5f;
  batch.values()[batch.sequence_begin(2) + 1] = 2.0f;
  batch.token_rewards()[batch.sequence_begin(2) + 2] = 1.0f;
  CHECK(batch.ref_logprobs()[batch.sequence_begin(2) + 1] == 0.0f);
  CHECK(batch.token_rewards()[batch.sequence_begin(2) + 1] == 0.0f);
  CHECK(batch.advantages()[batch.sequence_begin(2) + 2] == 0.0f);

  const auto slice = batch.sequences(2, 2);
  const auto first = batch.sequence_begin(2);
  const auto old_slice = batch.old_logprobs().subspan(first, slice.num_tokens());
  CHECK(slice[0][1] == 30);
  CHECK(old_slice[slice.begin(0) + 1] == -0.5f);
  CHECK(slice.num_tokens() == 8);
}

TEST_CASE("groups may have different sizes") {
  const rlft::rollout_batch batch(two_by_two(), {2, 2, 1, 1}, {0, 1, 4});
  CHECK(batch.num_groups() == 2);
  CHECK(batch.group_size(0) == 1);
  CHECK(batch.group_size(1) == 3);
}

TEST_CASE("inconsistent rollout batches are rejected with a message naming the problem") {
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(rlft::token_sequences{}, {}, {0}),
                       Contains("no sequences"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, 1}, {0, 2, 4}),
                       Contains("3 prompt lengths for 4 sequences"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 4, 1, 1}, {0, 2, 4}),
                       Contains("sequence 1 has prompt length 4 outside [0, 3]"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, -1, 1}, {0, 2, 4}),
                       Contains("sequence 2 has prompt length -1"), rlft::error);

  rlft::token_sequences with_empty = two_by_two();
  with_empty.push_back(std::vector<token_id>{});
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(std::move(with_empty), {2, 2, 1, 1, 0}, {0, 5}),
                       Contains("sequence 4 is empty"), rlft::error);

  CHECK_THROWS_WITH_AS(rlft::rollout_batch(rlft::token_sequences({5, -3}, {0, 2}), {1}, {0, 1}),
                       Contains("token 1 has negative id -3"), rlft::error);

  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, 1, 1}, {0}),
                       Contains("at least two entries"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, 1, 1}, {1, 4}),
                       Contains("group offsets start at 1"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, 1, 1}, {0, 2, 3}),
                       Contains("end at 3 but there are 4 sequences"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch(two_by_two(), {2, 2, 1, 1}, {0, 2, 2, 4}),
                       Contains("group 1 is empty"), rlft::error);

  CHECK_THROWS_WITH_AS(rlft::rollout_batch::with_group_size(two_by_two(), {2, 2, 1, 1}, 0),
                       Contains("group size must be at least 1"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::rollout_batch::with_group_size(two_by_two(), {2, 2, 1, 1}, 3),
                       Contains("4 sequences do not split into groups of 3"), rlft::error);
}
