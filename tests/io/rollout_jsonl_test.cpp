// Rollouts in JSON Lines (rlft/io/rollout_jsonl.hpp): a file read into a batch field by field,
// a batch written and read back unchanged, and each malformed line refused with its line number.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "data/scratch_files.hpp"
#include "rlft/io/rollout_jsonl.hpp"

using doctest::Contains;
using rlft::testing::scratch_file;

namespace {

const char* const two_groups =
    R"({"prompt_ids": [1, 2], "completion_ids": [3, 4, 5], "sampling_logprobs": [-0.5, -1.25, -2], "reward": 1, "rewards": {"accuracy": 1, "format": 0.5}})"
    "\n"
    R"({"prompt_ids": [1, 2], "completion_ids": [6], "sampling_logprobs": [-0.75], "reward": 0, "rewards": {"accuracy": 0, "format": 1}, "truncated": true})"
    "\n\n"
    R"({"prompt_ids": [7], "completion_ids": [8, 9], "sampling_logprobs": [-3, -0.125], "reward": 0.5, "rewards": {"accuracy": 0.5, "format": 0}})"
    "\n";

}  // namespace

TEST_CASE("a rollout file becomes a batch: tokens, prompt lengths, groups, sampling log-probs, rewards") {
  const auto batch = rlft::io::read_rollouts(scratch_file("two_groups.jsonl", two_groups), {.vocabulary_size = 10});
  REQUIRE(batch.num_sequences() == 3);
  REQUIRE(batch.num_groups() == 2);  // consecutive lines with one prompt
  CHECK(batch.group_size(0) == 2);
  CHECK(std::vector<int>(batch.tokens(0).begin(), batch.tokens(0).end()) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(batch.prompt_length(0) == 2);
  CHECK(batch.prompt_length(2) == 1);
  const auto logprobs = batch.sampling_logprobs();
  CHECK(std::vector<float>(logprobs.begin(), logprobs.begin() + 5) == std::vector<float>{0.0f, 0.0f, -0.5f, -1.25f, -2.0f});
  CHECK(logprobs[batch.sequence_begin(2) + 2] == -0.125f);
  CHECK(std::vector<std::uint8_t>(batch.loss_mask().begin(), batch.loss_mask().begin() + 5) ==
        std::vector<std::uint8_t>{0, 0, 1, 1, 1});
  CHECK(batch.rewards().total()[2] == 0.5f);
  CHECK(batch.rewards().component("format")[1] == 1.0f);
  CHECK(batch.truncated()[1] == 1);
  CHECK(batch.truncated()[0] == 0);
}

TEST_CASE("written rollouts read back unchanged, groups by number") {
  auto batch = rlft::io::read_rollouts(scratch_file("source.jsonl", two_groups));
  batch.sampling_logprobs()[3] = -1.0f / 3.0f;  // a float without a short decimal form
  const auto path = rlft::testing::scratch_directory() / "written.jsonl";
  rlft::io::write_rollouts(path, batch);
  const auto again = rlft::io::read_rollouts(path);
  CHECK(std::ranges::equal(again.tokens(), batch.tokens()));
  CHECK(std::ranges::equal(again.sampling_logprobs(), batch.sampling_logprobs()));
  CHECK(std::ranges::equal(again.rewards().total(), batch.rewards().total()));
  CHECK(std::ranges::equal(again.rewards().component("accuracy"), batch.rewards().component("accuracy")));
  CHECK(std::ranges::equal(again.truncated(), batch.truncated()));
  CHECK(again.num_groups() == 2);

  // With "group", lines of one prompt can form two groups.
  const auto numbered = rlft::io::read_rollouts(scratch_file(
      "numbered.jsonl",
      R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 4})"
      "\n"
      R"({"prompt_ids": [1], "completion_ids": [3], "sampling_logprobs": [-1], "reward": 0, "group": 5})"
      "\n"));
  CHECK(numbered.num_groups() == 2);
}

TEST_CASE("malformed rollout lines are data errors naming the file and line") {
  const auto refused = [](const std::string& second_line, const char* expected) {
    const std::string text = R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0})"
                             "\n" +
                             second_line + "\n";
    CAPTURE(second_line);
    CHECK_THROWS_WITH_AS(rlft::io::read_rollouts(scratch_file("bad.jsonl", text), {.vocabulary_size = 50}),
                         Contains(expected), rlft::data_error);
  };
  const std::string ok_start = R"({"prompt_ids": [1], "completion_ids": [2, 3], )";
  refused(ok_start + R"("sampling_logprobs": [-1], "reward": 1, "group": 0})",
          "bad.jsonl:2: \"sampling_logprobs\" must hold one number per completion token (2)");
  refused(ok_start + R"("sampling_logprobs": [-1, 1e999], "reward": 1, "group": 0})", "bad.jsonl:2");
  refused(ok_start + R"("sampling_logprobs": [-1, "x"], "reward": 1, "group": 0})",
          "a sampling log-prob is not a finite number");
  refused(R"({"prompt_ids": [1], "completion_ids": [60], "sampling_logprobs": [-1], "reward": 1, "group": 0})",
          "\"completion_ids\" holds 60, which is no token id of the vocabulary");
  refused(R"({"prompt_ids": [-1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0})",
          "\"prompt_ids\" holds -1");
  refused(R"({"prompt_ids": [1], "completion_ids": [], "sampling_logprobs": [], "reward": 1, "group": 0})",
          "\"completion_ids\" is empty");
  refused(R"({"prompt_ids": [], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0})",
          "\"prompt_ids\" is empty");
  refused(R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "group": 0})", "bad.jsonl:2");
  refused(R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1})",
          "\"group\" is on some lines and not on others");
  refused(R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0, "rewards": {"a": 1}})",
          "the reward components differ from the previous line's");
  refused(R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": -2})",
          "\"group\" is not a non-negative integer");
  refused(R"([1, 2])", "a rollout is a JSON object");
  CHECK_THROWS_WITH_AS(
      rlft::io::read_rollouts(scratch_file(
          "split.jsonl",
          R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0})"
          "\n"
          R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 1})"
          "\n"
          R"({"prompt_ids": [1], "completion_ids": [2], "sampling_logprobs": [-1], "reward": 1, "group": 0})"
          "\n")),
      Contains("split.jsonl:3: group 0 continues after other groups"), rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::io::read_rollouts(scratch_file("empty.jsonl", "\n")), Contains("holds no rollouts"),
                       rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::io::read_rollouts(rlft::testing::scratch_directory() / "absent.jsonl"),
                       Contains("cannot open"), rlft::io_error);
  CHECK_THROWS_WITH_AS(rlft::io::read_rollouts(scratch_file("many.jsonl", two_groups), {.max_records = 2}),
                       Contains("many.jsonl:4: the file holds more than max_records = 2 rollouts"), rlft::data_error);
}
