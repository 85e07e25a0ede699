// Samples k completions of every prompt of a prompt batch, in rounds of a bounded number of
// prompts, and hands each one, decoded, to a callback as the rlft::reward_input a reward would
// see, a round of prompts at a time. Evaluation (pass@1, cons@k) and rejection sampling are both
// this loop; they judge a round's completions in parallel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/prompt_batch.hpp"
#include "rlft/distributed/communicator.hpp"

namespace rlft {

struct completion_sampling_options {
  std::size_t samples_per_prompt = 8;
  std::size_t max_new_tokens = 256;
  std::vector<token_id> stop_tokens = {};
  std::size_t prompts_per_round = 64;
  std::uint64_t seed = 0;
  std::uint64_t first_stream = 0;  // Philox stream of the first completion
};

namespace detail {

inline void check_references(const prompt_batch& prompts) {
  if (prompts.prompts.size() != prompts.references.size())
    throw error(make_message("completion sampling: ", prompts.prompts.size(), " prompts and ",
                             prompts.references.size(), " references"));
}

}  // namespace detail

// Rank `rank`'s part of a prompt batch split across `ranks` processes by whole prompts in rank
// order (share_begin), with the options that sample them with the Philox streams they get in
// one process: the ranks' completions together are one process's, bit for bit (a completion
// depends only on its prompt, the weights and its stream). `first` is the first prompt's index.
struct prompt_share {
  prompt_batch prompts;
  std::size_t first = 0;
  completion_sampling_options options;
};

inline prompt_share share_of_prompts(const prompt_batch& all, const completion_sampling_options& options,
                                     std::size_t rank, std::size_t ranks) {
  detail::check_references(all);
  prompt_share share{.prompts = {}, .first = share_begin(all.prompts.size(), rank, ranks), .options = options};
  const std::size_t last = share_begin(all.prompts.size(), rank + 1, ranks);
  for (std::size_t p = share.first; p < last; ++p) {
    share.prompts.prompts.push_back(all.prompts.view()[p]);
    share.prompts.references.push_back(all.references[p]);
  }
  share.options.first_stream += share.first * options.samples_per_prompt;
  return share;
}

// One round of sampled completions, decoded: inputs[i] is what a reward would see, prompts[i]
// the index of its prompt in the prompt batch. The views stay valid during the callback only.
struct completion_round {
  std::span<const reward_input> inputs;
  std::span<const std::size_t> prompts;
};

// on_round(completion_round) once per round of at most options.prompts_per_round prompts, the
// completions in prompt order; a completion's text and tokens exclude the stop token that ended
// it. Returns the Philox streams used.
template <policy Policy, sampler Sampler, token_decoder Decode, class OnRound>
std::uint64_t for_each_completion_round(Policy& policy, const prompt_batch& prompts, const Sampler& sampler,
                                        const Decode& decode, const completion_sampling_options& options,
                                        OnRound&& on_round) {
  detail::check_option(options.samples_per_prompt >= 1, "completion sampling", "samples_per_prompt",
                       static_cast<double>(options.samples_per_prompt), ">= 1");
  detail::check_option(options.prompts_per_round >= 1, "completion sampling", "prompts_per_round",
                       static_cast<double>(options.prompts_per_round), ">= 1");
  detail::check_references(prompts);
  std::uint64_t stream = options.first_stream;
  for (std::size_t first = 0; first < prompts.prompts.size(); first += options.prompts_per_round) {
    const std::size_t count = std::min(options.prompts_per_round, prompts.prompts.size() - first);
    const rollout_batch batch = policy.generate(prompts.prompts.view().subview(first, count), options.samples_per_prompt,
                                                sampler,
                                                {.max_new_tokens = options.max_new_tokens,
                                                 .stop_tokens = options.stop_tokens,
                                                 .seed = options.seed,
                                                 .first_stream = stream});
    stream += batch.num_sequences();
    std::vector<std::string> prompt_texts(batch.num_groups());
    std::vector<std::string> completion_texts(batch.num_sequences());
    std::vector<reward_input> inputs(batch.num_sequences());
    std::vector<std::size_t> prompt_indices(batch.num_sequences());
    for (std::size_t g = 0; g < batch.num_groups(); ++g) {
      prompt_texts[g] = decode(batch.prompt(batch.group_begin(g)));
      for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
        auto tokens = batch.completion(s);
        if (!batch.truncated()[s] && !tokens.empty()) tokens = tokens.first(tokens.size() - 1);
        completion_texts[s] = decode(tokens);
        inputs[s] = reward_input{.prompt = prompt_texts[g],
                                 .completion = completion_texts[s],
                                 .prompt_tokens = batch.prompt(s),
                                 .completion_tokens = tokens,
                                 .reference = prompts.references[first + g],
                                 .truncated = batch.truncated()[s] != 0};
        prompt_indices[s] = first + g;
      }
    }
    on_round(completion_round{inputs, prompt_indices});
  }
  return stream - options.first_stream;
}

// on_completion(input, prompt_index) for every completion in prompt order, one at a time.
template <policy Policy, sampler Sampler, token_decoder Decode, class OnCompletion>
std::uint64_t for_each_completion(Policy& policy, const prompt_batch& prompts, const Sampler& sampler,
                                  const Decode& decode, const completion_sampling_options& options,
                                  OnCompletion&& on_completion) {
  return for_each_completion_round(policy, prompts, sampler, decode, options, [&](const completion_round& round) {
    for (std::size_t i = 0; i < round.inputs.size(); ++i) on_completion(round.inputs[i], round.prompts[i]);
  });
}

}  // namespace rlft
