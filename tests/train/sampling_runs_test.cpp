// Rejection sampling and evaluation runs on the unigram test policy.
#include <doctest/doctest.h>

#include <array>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "thread_counts.hpp"
#include "rlft/sampling/greedy.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/evaluation.hpp"
#include "rlft/train/rejection_sampler.hpp"

using rlft_test::digits_decoder;
using rlft_test::unigram_policy;

namespace {

rlft::prompt_batch prompts(std::size_t count) {
  rlft::prompt_batch batch;
  for (std::size_t i = 0; i < count; ++i) {
    batch.prompts.push_back(std::vector<rlft::token_id>{0});
    batch.references.push_back(std::to_string(i));
  }
  return batch;
}

const rlft::completion_sampling_options sampling{
    .samples_per_prompt = 6, .max_new_tokens = 4, .stop_tokens = {3}, .prompts_per_round = 2, .seed = 11};

}  // namespace

TEST_CASE("rejection sampling keeps accepted, distinct completions without their stop token") {
  unigram_policy policy({0.0f, 0.5f, 0.5f, 0.0f});
  const auto contains_two = [](const rlft::reward_input& in) { return in.completion.find('2') != std::string_view::npos; };
  // The same verdicts, counted here: every acceptance, and the distinct accepted completions
  // (the verifier runs on several threads at once).
  std::size_t accepted = 0;
  std::set<std::pair<std::string, std::string>> distinct;
  std::mutex counting_mutex;
  const auto counting = [&accepted, &distinct, &counting_mutex, contains_two](const rlft::reward_input& in) {
    if (!contains_two(in)) return false;
    const std::lock_guard lock(counting_mutex);
    ++accepted;
    distinct.emplace(in.reference, in.completion);
    return true;
  };
  const auto [kept, report] =
      rlft::rejection_sample(policy, prompts(5), rlft::temperature{1.0f}, digits_decoder{}, counting, sampling);
  CHECK(report.prompts == 5);
  CHECK(report.samples == 30);
  CHECK(report.accepted == accepted);
  CHECK(report.kept == distinct.size());
  CHECK(kept.size() == distinct.size());
  for (const auto& example : kept) {
    CHECK(example.prompt == "0");
    CHECK(example.completion.find('2') != std::string::npos);
    CHECK(example.completion.find('3') == std::string::npos);  // the stop token is not text
  }
  for (std::size_t i = 0; i < kept.size(); ++i)
    for (std::size_t j = i + 1; j < kept.size(); ++j)
      CHECK_FALSE((kept[i].reference == kept[j].reference && kept[i].completion == kept[j].completion));

  const auto [again, same_report] =
      rlft::rejection_sample(policy, prompts(5), rlft::temperature{1.0f}, digits_decoder{}, contains_two, sampling);
  CHECK(again == kept);

  const auto [one_each, limited] =
      rlft::rejection_sample(policy, prompts(5), rlft::temperature{1.0f}, digits_decoder{}, contains_two, sampling, 1);
  CHECK(limited.kept == limited.prompts_with_a_kept_sample);
}

TEST_CASE("evaluation of a policy: greedy decoding makes every sample the same") {
  unigram_policy policy({0.0f, 0.0f, 2.0f, 1.0f});  // argmax is token 2, never the stop token 3
  const auto judge = [](const rlft::reward_input& in) {
    return rlft::sample_outcome{.answer = std::string(in.completion), .correct = in.reference == "1",
                                .well_formatted = !in.truncated, .length = in.completion_tokens.size()};
  };
  std::vector<std::size_t> seen_problems;  // on_outcome: every sample, in problem order
  const auto summary = rlft::evaluate_policy(
      policy, prompts(4), rlft::greedy{}, digits_decoder{}, judge, sampling,
      [&](const rlft::reward_input& in, const rlft::sample_outcome& outcome, std::size_t problem) {
        CHECK(in.reference == std::to_string(problem));
        CHECK(outcome.correct == (problem == 1));
        seen_problems.push_back(problem);
      });
  CHECK(seen_problems == std::vector<std::size_t>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3});
  CHECK(summary.problems == 4);
  CHECK(summary.samples_per_problem == 6);
  CHECK(summary.pass_at_1 == doctest::Approx(0.25));
  CHECK(summary.consensus_at_k == doctest::Approx(0.25));
  CHECK(summary.format_rate == 0.0);  // "2222" runs to the length limit
  CHECK(summary.mean_length == doctest::Approx(4.0));
}

TEST_CASE("judges and verifiers run on several threads; results do not depend on how many") {
  unigram_policy policy({0.0f, 0.7f, 0.5f, 0.3f});
  const auto judge = [](const rlft::reward_input& in) {
    return rlft::sample_outcome{.answer = std::string(in.completion), .correct = in.completion.find('2') != std::string_view::npos,
                                .well_formatted = !in.truncated, .length = in.completion_tokens.size()};
  };
  const auto evaluations = rlft::testing::results_for_thread_counts([&] {
    const auto summary = rlft::evaluate_policy(policy, prompts(7), rlft::temperature{1.0f}, digits_decoder{}, judge, sampling);
    return std::array{summary.pass_at_1, summary.consensus_at_k, summary.format_rate, summary.mean_length};
  });
  CHECK(evaluations[0] == evaluations[1]);
  CHECK(evaluations[0] == evaluations[2]);
  CHECK(evaluations[0][0] > 0.0);
  CHECK(evaluations[0][0] < 1.0);
  const auto kept = rlft::testing::results_for_thread_counts([&] {
    const auto verifier = [](const rlft::reward_input& in) { return in.completion.find('1') != std::string_view::npos; };
    return rlft::rejection_sample(policy, prompts(7), rlft::temperature{1.0f}, digits_decoder{}, verifier, sampling).first;
  });
  CHECK(kept[0] == kept[1]);
  CHECK(kept[0] == kept[2]);
  CHECK_FALSE(kept[0].empty());
}

TEST_CASE("completion sampling checks its inputs") {
  unigram_policy policy({0.0f, 0.0f});
  auto batch = prompts(2);
  batch.references.pop_back();
  const auto judge = [](const rlft::reward_input&) { return rlft::sample_outcome{}; };
  CHECK_THROWS_WITH_AS(rlft::evaluate_policy(policy, batch, rlft::greedy{}, digits_decoder{}, judge, sampling),
                       doctest::Contains("2 prompts and 1 references"), rlft::error);
}
