// The scoring driver: decodes every completion, scores it in parallel into one column per
// component plus the total, independent of the thread count, and leaves the table untouched
// when scoring fails.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "rlft/rlft.hpp"

using namespace rlft;

namespace {

// Character-level tokens: one id per byte.
struct byte_decoder {
  std::string operator()(std::span<const token_id> tokens) const {
    std::string text;
    for (const token_id t : tokens) text += static_cast<char>(t);
    return text;
  }
};

rollout_batch make_batch(const std::vector<std::pair<std::string, std::string>>& prompt_and_completion,
                         std::size_t group_size) {
  token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (const auto& [prompt, completion] : prompt_and_completion) {
    const std::string text = prompt + completion;
    std::vector<token_id> tokens;
    for (const char c : text) tokens.push_back(static_cast<token_id>(static_cast<unsigned char>(c)));
    sequences.push_back(tokens);
    prompt_lengths.push_back(static_cast<std::int64_t>(prompt.size()));
  }
  return rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths), group_size);
}

const std::vector<std::pair<std::string, std::string>> completions{
    {"3+4=", "<think>3+4 is 7</think><answer>7</answer>"},
    {"3+4=", "<think>3+4 is 8</think><answer>8</answer>"},
    {"3+4=", "<answer>7</answer>"},
    {"3+4=", "<think>\xFF\xFE</think><answer>7"},
    {"10*10=", "<think>ten tens</think><answer>100</answer>"},
    {"10*10=", "<think>ten tens</think><answer>1,00</answer>"},
    {"10*10=", ""},
    {"10*10=", "<think>cent</think><answer>100.0</answer>"},
};
const std::vector<std::string> references{"7", "100"};

const auto r1_reward = component("format", format_reward{}) +
                       gate(format_reward{}, component("accuracy", accuracy_reward{})) +
                       0.5f * component("length", soft_overlong_punishment{.max_length = 50, .cache_length = 20});

}  // namespace

TEST_CASE("every completion is scored into its component columns and the total") {
  auto batch = make_batch(completions, 4);
  batch.truncated()[3] = 1;
  score_rollouts(batch, r1_reward, byte_decoder{}, references);
  const auto& table = batch.rewards();
  REQUIRE(table.num_components() == 3);
  CHECK(table.component_name(0) == "format");
  CHECK(table.component_name(2) == "length");
  // Each entry independently: the reward called on the decoded completion.
  for (std::size_t s = 0; s < completions.size(); ++s) {
    CAPTURE(s);
    const auto& [prompt, completion] = completions[s];
    std::vector<token_id> tokens;
    for (const char c : completion) tokens.push_back(static_cast<token_id>(static_cast<unsigned char>(c)));
    const reward_input input{.prompt = prompt, .completion = completion, .completion_tokens = tokens,
                             .reference = references[s / 4], .truncated = s == 3};
    CHECK(table.component("format")[s] == format_reward{}(input));
    CHECK(table.component("accuracy")[s] == accuracy_reward{}(input));
    CHECK(table.total()[s] == r1_reward(input));
  }
  CHECK(table.component("accuracy")[0] == 1.0f);
  CHECK(table.component("accuracy")[5] == 0.0f);  // "1,00" is no number
  CHECK(table.component("accuracy")[7] == 1.0f);  // "100.0"
  CHECK(table.total()[2] == 0.0f);                // right answer, no think block: gated out
  CHECK(table.component("length")[0] == doctest::Approx(-0.55f));  // 41 tokens: 11 into the cache
}

TEST_CASE("scores do not depend on the thread count, and scoring again overwrites") {
  auto reference_batch = make_batch(completions, 4);
  score_rollouts(reference_batch, r1_reward, byte_decoder{}, references);
#if defined(_OPENMP)
  const int threads_before = omp_get_max_threads();
  for (const int threads : {1, 3}) {
    omp_set_num_threads(threads);
    auto batch = make_batch(completions, 4);
    score_rollouts(batch, r1_reward, byte_decoder{}, references);
    score_rollouts(batch, r1_reward, byte_decoder{}, references);  // again: same columns
    CHECK(batch.rewards().num_components() == 3);
    for (std::size_t s = 0; s < completions.size(); ++s)
      CHECK(batch.rewards().total()[s] == reference_batch.rewards().total()[s]);
  }
  omp_set_num_threads(threads_before);
#endif
}

TEST_CASE("bad references, names or scores are rlft::error and leave the table unchanged") {
  auto batch = make_batch(completions, 4);
  const std::vector<std::string> one_reference{"7"};
  CHECK_THROWS_WITH_AS(score_rollouts(batch, r1_reward, byte_decoder{}, one_reference),
                       "score_rollouts: 1 references for 2 prompts (groups)", rlft::error);
  const auto duplicate = component("x", format_reward{}) + component("x", accuracy_reward{});
  CHECK_THROWS_WITH_AS(score_rollouts(batch, duplicate, byte_decoder{}, references),
                       "score_rollouts: two reward components are named 'x'", rlft::error);
  const auto not_a_number = component("broken", [](const reward_input& in) {
    return in.completion.empty() ? std::nanf("") : 1.0f;
  });
  CHECK_THROWS_WITH_AS(score_rollouts(batch, not_a_number, byte_decoder{}, references),
                       "score_rollouts: reward component 'broken' scored nan for completion 6", rlft::error);
  const auto throwing = component("throws", [](const reward_input& in) -> float {
    if (in.reference == "100") throw rlft::error("task data unreadable");
    return 1.0f;
  });
  CHECK_THROWS_WITH_AS(score_rollouts(batch, throwing, byte_decoder{}, references), "task data unreadable",
                       rlft::error);
  CHECK(batch.rewards().num_components() == 0);
  for (const float total : batch.rewards().total()) CHECK(total == 0.0f);
}
