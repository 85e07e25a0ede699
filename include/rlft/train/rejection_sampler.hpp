// Rejection sampling (DeepSeek-R1, arXiv 2501.12948, section 2.3.3): sample k completions of
// every prompt from a trained policy, keep those every verifier accepts (correct answer, R1
// format, readable language...), drop duplicates, and return them as a text data set for
// SFT. The verifier is one predicate over rlft::reward_input, so verifiers compose as plain
// lambdas; it sees the same input a reward does and, like a reward, is called concurrently on a
// round's completions (it must not modify shared state).
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/distributed/byte_blob.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/io/text_examples.hpp"
#include "rlft/train/for_each_completion.hpp"

namespace rlft {

struct rejection_sampling_report {
  std::size_t prompts = 0;
  std::size_t samples = 0;
  std::size_t accepted = 0;  // before removing duplicates
  std::size_t kept = 0;
  std::size_t prompts_with_a_kept_sample = 0;
};

template <class V>
concept completion_verifier = std::copy_constructible<V> && std::predicate<const V&, const reward_input&>;

// max_kept_per_prompt = 0 keeps every accepted distinct completion.
template <policy Policy, sampler Sampler, token_decoder Decode, completion_verifier Verifier>
std::pair<std::vector<text_example>, rejection_sampling_report> rejection_sample(
    Policy& policy, const prompt_batch& prompts, const Sampler& sampler, const Decode& decode,
    const Verifier& accept, const completion_sampling_options& options, std::size_t max_kept_per_prompt = 0) {
  std::vector<text_example> kept;
  rejection_sampling_report report{.prompts = prompts.prompts.size()};
  std::vector<std::set<std::string>> seen(prompts.prompts.size());
  for_each_completion_round(policy, prompts, sampler, decode, options, [&](const completion_round& round) {
    std::vector<char> accepted(round.inputs.size());
    parallel_for(round.inputs.size(), [&](std::size_t i) { accepted[i] = accept(round.inputs[i]) ? 1 : 0; },
                 costly_iterations);
    for (std::size_t i = 0; i < round.inputs.size(); ++i) {
      const reward_input& input = round.inputs[i];
      ++report.samples;
      if (!accepted[i]) continue;
      ++report.accepted;
      std::set<std::string>& kept_of_prompt = seen[round.prompts[i]];
      if (max_kept_per_prompt != 0 && kept_of_prompt.size() == max_kept_per_prompt) continue;
      if (!kept_of_prompt.emplace(input.completion).second) continue;
      kept.push_back({std::string(input.prompt), std::string(input.completion), std::string(input.reference)});
    }
  });
  report.kept = kept.size();
  for (const auto& completions : seen) report.prompts_with_a_kept_sample += !completions.empty();
  return {std::move(kept), report};
}

// The same with the prompts split across the ranks of `comm` (share_of_prompts): every rank
// returns all the kept examples, in the order one process keeps them, and the whole report.
template <communicator Communicator, policy Policy, sampler Sampler, token_decoder Decode, completion_verifier Verifier>
std::pair<std::vector<text_example>, rejection_sampling_report> rejection_sample(
    Communicator& comm, Policy& policy, const prompt_batch& prompts, const Sampler& sampler, const Decode& decode,
    const Verifier& accept, const completion_sampling_options& options, std::size_t max_kept_per_prompt = 0) {
  const prompt_share share = share_of_prompts(prompts, options, comm.rank(), comm.size());
  const auto [kept, report] =
      rejection_sample(policy, share.prompts, sampler, decode, accept, share.options, max_kept_per_prompt);
  detail::byte_writer out;
  for (const std::size_t count : {report.prompts, report.samples, report.accepted, report.prompts_with_a_kept_sample})
    out.count(count);
  for (const text_example& example : kept) {
    out.text(example.prompt);
    out.text(example.completion);
    out.text(example.reference);
  }
  const std::vector<std::byte> mine = out.take();
  std::vector<text_example> all;
  rejection_sampling_report total;
  for (const auto& blob : comm.all_gather(mine)) {
    detail::byte_reader in(blob);
    total.prompts += in.count();
    total.samples += in.count();
    total.accepted += in.count();
    total.prompts_with_a_kept_sample += in.count();
    while (!in.done()) {
      text_example& example = all.emplace_back();
      example.prompt = in.text();
      example.completion = in.text();
      example.reference = in.text();
    }
  }
  total.kept = all.size();
  return {std::move(all), total};
}

}  // namespace rlft
