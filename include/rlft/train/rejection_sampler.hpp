// Rejection sampling (DeepSeek-R1, arXiv 2501.12948, section 2.3.3): sample k completions of
// every prompt from a trained policy, keep those every verifier accepts (correct answer, R1
// format, readable language...), drop duplicates, and return them as a text data set for
// SFT. The verifier is one predicate over rlft::reward_input, so verifiers compose as plain
// lambdas; it sees the same input a reward does.
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
  for_each_completion(policy, prompts, sampler, decode, options, [&](const reward_input& input, std::size_t prompt) {
    ++report.samples;
    if (!accept(input)) return;
    ++report.accepted;
    if (max_kept_per_prompt != 0 && seen[prompt].size() == max_kept_per_prompt) return;
    if (!seen[prompt].emplace(input.completion).second) return;
    kept.push_back({std::string(input.prompt), std::string(input.completion), std::string(input.reference)});
  });
  report.kept = kept.size();
  for (const auto& completions : seen) report.prompts_with_a_kept_sample += !completions.empty();
  return {std::move(kept), report};
}

}  // namespace rlft
