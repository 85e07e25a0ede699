// Scoring a rollout batch: every completion is decoded to text, scored by a composed reward
// (rlft::reward_expression) in parallel across completions (rewards that score batches, such as
// rlft::learned_reward, once for the whole batch), and the scores land in the
// batch's reward table — one column per named component (created on first use, overwritten
// when scoring again) and the total the advantage estimators read.
//
//     score_rollouts(batch, reward, tokenizer_decode, references_per_prompt);
//
// `decode` turns a span of token ids into text (anything convertible to std::string); it is
// called concurrently from several threads, so it must not modify shared state. The reference
// of group g (prompt g) is references[g]. Rewards see rlft::reward_input with the decoded
// prompt and completion, their tokens, the reference and the truncation flag.
// All scores are computed before the table is touched: if a reward throws, or a score is NaN
// or infinite (rlft::data_error naming the component and the completion), the table is unchanged.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/concepts/reward_expression.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/rewards/composition.hpp"

namespace rlft {

template <reward_expression Reward, token_decoder Decode, std::ranges::random_access_range References>
  requires std::convertible_to<std::ranges::range_reference_t<const References&>, std::string_view>
void score_rollouts(rollout_batch& batch, const Reward& reward, const Decode& decode, const References& references) {
  const std::size_t sequences = batch.num_sequences();
  const std::size_t groups = batch.num_groups();
  if (static_cast<std::size_t>(std::ranges::size(references)) != groups)
    throw error(detail::make_message("score_rollouts: ", std::ranges::size(references), " references for ", groups,
                                     " prompts (groups)"));
  std::vector<std::size_t> group_of(sequences);
  for (std::size_t g = 0; g < groups; ++g)
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) group_of[s] = g;

  constexpr std::size_t components = Reward::component_count;
  std::vector<std::string> names;
  reward.append_component_names(names);
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (names[c].empty()) throw error("score_rollouts: a reward component has an empty name");
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(c), names[c]) !=
        names.begin() + static_cast<std::ptrdiff_t>(c))
      throw error(detail::make_message("score_rollouts: two reward components are named '", names[c], "'"));
  }
  std::vector<float> scores(sequences * components);
  std::vector<float> totals(sequences);
  const rollout_batch& read_only = batch;
  const auto reference_of = [&](std::size_t group) {
    return std::string_view(std::ranges::begin(references)[static_cast<std::ptrdiff_t>(group)]);
  };
  // Every completion decoded first, so that rewards that score batches see them all at once.
  std::vector<std::string> prompts(sequences), completions(sequences);
  std::vector<reward_input> inputs(sequences);
  parallel_for(sequences, [&](std::size_t s) {
    prompts[s] = decode(read_only.prompt(s));
    completions[s] = decode(read_only.completion(s));
    inputs[s] = {.prompt = prompts[s],
                 .completion = completions[s],
                 .prompt_tokens = read_only.prompt(s),
                 .completion_tokens = read_only.completion(s),
                 .reference = reference_of(group_of[s]),
                 .truncated = read_only.truncated()[s] != 0};
  }, costly_iterations);
  score_all(reward, inputs, {.data = scores.data(), .stride = components}, totals);

  for (std::size_t s = 0; s < sequences; ++s) {
    for (std::size_t c = 0; c < components; ++c)
      if (!std::isfinite(scores[s * components + c]))
        throw data_error(detail::make_message("score_rollouts: reward component '", names[c], "' scored ",
                                         scores[s * components + c], " for completion ", s));
    if (!std::isfinite(totals[s]))
      throw data_error(detail::make_message("score_rollouts: the total reward is ", totals[s], " for completion ", s));
  }

  reward_table& table = batch.rewards();
  for (std::size_t c = 0; c < components; ++c) {
    const auto existing = table.find(names[c]);
    const auto column = table.component(existing ? *existing : table.add_component(names[c]));
    for (std::size_t s = 0; s < sequences; ++s) column[s] = scores[s * components + c];
  }
  std::copy(totals.begin(), totals.end(), table.total().begin());
}

}  // namespace rlft
