// What the trainer tests share: a reward, a prompt source, GRPO options and a learning rate small
// enough for the unigram policy of tests/concepts, and that policy's token probabilities.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "rlft/core/prompt_batch.hpp"
#include "rlft/train/grpo_trainer.hpp"

namespace rlft_test {

// Reference "1": reward 1 when the completion holds token 2; reference "0": always 0.
inline constexpr auto finds_two = [](const rlft::reward_input& in) {
  return in.reference == "1" && in.completion.find('2') != std::string_view::npos ? 1.0f : 0.0f;
};

// Prompts `prompt`; references cycle through `pattern`; seek() resumes after a checkpoint.
struct cycling_prompts {
  std::string pattern = "1";
  std::uint64_t drawn = 0;
  std::vector<rlft::token_id> prompt = {0};
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      batch.prompts.push_back(prompt);
      batch.references.push_back(std::string(1, pattern[drawn % pattern.size()]));
    }
    return batch;
  }
  void seek(std::uint64_t position) { drawn = position; }
};

inline rlft::grpo_options small_grpo_options() {
  return {.prompts_per_step = 4, .group_size = 8, .max_new_tokens = 3, .stop_tokens = {3}, .seed = 5};
}

// A constant learning rate without weight decay.
inline rlft::policy_update_options constant_learning_rate(float rate) {
  return {.adamw = {.weight_decay = 0.0f}, .schedule = {.peak_learning_rate = rate, .final_learning_rate = rate}};
}

inline double probability_of(unigram_policy& policy, std::size_t token) {
  const auto logits = policy.parameters()[0].values;
  double total = 0.0;
  for (const float x : logits) total += std::exp(double{x});
  return std::exp(double{logits[token]}) / total;
}

}  // namespace rlft_test
