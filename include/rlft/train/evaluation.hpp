// Evaluation metrics of the DeepSeek-R1 report (arXiv 2501.12948, section 3.1): pass@1 as the
// mean correctness over k samples per problem, and cons@k, the correctness of the majority
// vote over the k sampled answers; plus the share of well-formatted completions and their
// mean length. Inputs are per-sample outcomes, so any task and checker can be summarised;
// evaluate_policy samples them from a policy.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/distributed/byte_blob.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/train/for_each_completion.hpp"

namespace rlft {

struct sample_outcome {
  std::string answer;           // the extracted final answer, empty when none was found
  bool correct = false;
  bool well_formatted = false;
  std::size_t length = 0;       // completion tokens
};

struct evaluation_summary {
  std::size_t problems = 0;
  std::size_t samples_per_problem = 0;
  double pass_at_1 = 0.0;       // mean over problems of the share of correct samples
  double pass_at_1_standard_error = 0.0;  // of that mean: the problems' sample deviation / √problems
  double consensus_at_k = 0.0;  // share of problems whose most frequent answer is correct
  double format_rate = 0.0;
  double mean_length = 0.0;
};

// outcomes holds samples_per_problem consecutive samples per problem. The majority vote
// ignores empty answers; among equally frequent answers the one sampled first wins, so the
// vote is deterministic. Throws rlft::error on an empty input or a count that does not split.
inline evaluation_summary summarise_evaluation(std::span<const sample_outcome> outcomes,
                                               std::size_t samples_per_problem) {
  detail::check_option(samples_per_problem >= 1, "evaluation", "samples_per_problem",
                       static_cast<double>(samples_per_problem), ">= 1");
  if (outcomes.empty()) throw error("evaluation: no samples to summarise");
  if (outcomes.size() % samples_per_problem != 0)
    throw error(detail::make_message("evaluation: ", outcomes.size(), " samples do not split into groups of ",
                                     samples_per_problem));
  evaluation_summary summary{.problems = outcomes.size() / samples_per_problem,
                             .samples_per_problem = samples_per_problem};
  std::size_t correct = 0, formatted = 0, length = 0, consensus_correct = 0;
  std::vector<double> problem_pass_rates(summary.problems);
  for (std::size_t p = 0; p < summary.problems; ++p) {
    const auto samples = outcomes.subspan(p * samples_per_problem, samples_per_problem);
    std::unordered_map<std::string, std::size_t> votes;
    std::size_t problem_correct = 0;
    for (const auto& sample : samples) {
      problem_correct += sample.correct;
      formatted += sample.well_formatted;
      length += sample.length;
      if (!sample.answer.empty()) ++votes[sample.answer];
    }
    const sample_outcome* winner = nullptr;
    for (const auto& sample : samples)  // in sampling order, so the first of a tie wins
      if (!sample.answer.empty() && (winner == nullptr || votes[sample.answer] > votes[winner->answer]))
        winner = &sample;
    consensus_correct += winner != nullptr && winner->correct;
    correct += problem_correct;
    problem_pass_rates[p] = static_cast<double>(problem_correct) / static_cast<double>(samples_per_problem);
  }
  const auto total = static_cast<double>(outcomes.size());
  summary.pass_at_1 = static_cast<double>(correct) / total;
  if (summary.problems > 1) {
    double squares = 0.0;
    for (const double rate : problem_pass_rates) squares += (rate - summary.pass_at_1) * (rate - summary.pass_at_1);
    const auto problems = static_cast<double>(summary.problems);
    summary.pass_at_1_standard_error = std::sqrt(squares / (problems - 1.0) / problems);
  }
  summary.consensus_at_k = static_cast<double>(consensus_correct) / static_cast<double>(summary.problems);
  summary.format_rate = static_cast<double>(formatted) / total;
  summary.mean_length = static_cast<double>(length) / total;
  return summary;
}

// How one sampled completion fares: judge(input) → sample_outcome (answer, correct, format,
// length), the task's checker in one callable.
template <class J>
concept sample_judge = std::copy_constructible<J> && requires(const J& judge, const reward_input& input) {
  { judge(input) } -> std::convertible_to<sample_outcome>;
};

namespace detail {

// The outcomes of every problem's samples, in problem order; on_outcome gets problem indices
// offset by `first_problem`.
template <policy Policy, sampler Sampler, token_decoder Decode, sample_judge Judge, class OnOutcome>
std::vector<sample_outcome> sample_outcomes(Policy& policy, const prompt_batch& problems, const Sampler& sampler,
                                            const Decode& decode, const Judge& judge,
                                            const completion_sampling_options& options, OnOutcome& on_outcome,
                                            std::size_t first_problem) {
  std::vector<sample_outcome> outcomes;
  outcomes.reserve(problems.prompts.size() * options.samples_per_prompt);
  for_each_completion_round(policy, problems, sampler, decode, options, [&](const completion_round& round) {
    const std::size_t first = outcomes.size();
    outcomes.resize(first + round.inputs.size());
    parallel_for(round.inputs.size(), [&](std::size_t i) { outcomes[first + i] = judge(round.inputs[i]); },
                 costly_iterations);
    for (std::size_t i = 0; i < round.inputs.size(); ++i)
      on_outcome(round.inputs[i], outcomes[first + i], first_problem + round.prompts[i]);
  });
  return outcomes;
}

}  // namespace detail

// Samples options.samples_per_prompt completions of every problem and summarises them. The
// judge is called concurrently on a round's completions (like a reward in score_rollouts), so
// it must not modify shared state; the summary does not depend on the thread count.
// on_outcome(input, outcome, problem_index), on the calling thread and in problem order, is
// where a caller looks at samples (to log a few, say).
template <policy Policy, sampler Sampler, token_decoder Decode, sample_judge Judge,
          class OnOutcome = void (*)(const reward_input&, const sample_outcome&, std::size_t)>
evaluation_summary evaluate_policy(Policy& policy, const prompt_batch& problems, const Sampler& sampler,
                                   const Decode& decode, const Judge& judge, const completion_sampling_options& options,
                                   OnOutcome&& on_outcome = [](const reward_input&, const sample_outcome&, std::size_t) {}) {
  return summarise_evaluation(detail::sample_outcomes(policy, problems, sampler, decode, judge, options, on_outcome, 0),
                              options.samples_per_prompt);
}

// The same with the problems split across the ranks of `comm` (share_of_prompts): each rank
// samples and judges its problems, and every rank returns the summary of all of them, equal to
// one process's. on_outcome sees the calling rank's problems, with their indices among all.
template <communicator Communicator, policy Policy, sampler Sampler, token_decoder Decode, sample_judge Judge,
          class OnOutcome = void (*)(const reward_input&, const sample_outcome&, std::size_t)>
evaluation_summary evaluate_policy(Communicator& comm, Policy& policy, const prompt_batch& problems,
                                   const Sampler& sampler, const Decode& decode, const Judge& judge,
                                   const completion_sampling_options& options,
                                   OnOutcome&& on_outcome = [](const reward_input&, const sample_outcome&, std::size_t) {}) {
  const prompt_share share = share_of_prompts(problems, options, comm.rank(), comm.size());
  detail::byte_writer out;
  for (const sample_outcome& outcome :
       detail::sample_outcomes(policy, share.prompts, sampler, decode, judge, share.options, on_outcome, share.first)) {
    out.text(outcome.answer);
    out.count(outcome.correct);
    out.count(outcome.well_formatted);
    out.count(outcome.length);
  }
  const std::vector<std::byte> mine = out.take();
  std::vector<sample_outcome> outcomes;
  for (const auto& blob : comm.all_gather(mine)) {
    detail::byte_reader in(blob);
    while (!in.done()) {
      sample_outcome& outcome = outcomes.emplace_back();
      outcome.answer = in.text();
      outcome.correct = in.count() != 0;
      outcome.well_formatted = in.count() != 0;
      outcome.length = in.count();
    }
  }
  return summarise_evaluation(outcomes, options.samples_per_prompt);
}

}  // namespace rlft
