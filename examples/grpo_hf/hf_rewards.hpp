// The rewards grpo_hf trains with, chosen on the command line by name and weight
// (--reward accuracy=1 --reward format=0.5). Every reward below is computed and logged each
// step; its weight (0 unless named) says how much it adds to the total that GRPO's advantages
// are computed from. Rewards of your own go into user_rewards.hpp, compiled in.
//   accuracy    1 when the final answer (the <answer> block, else the last \boxed{}) matches the
//               reference as a string or a number (R1's rule-based accuracy reward)
//   format      1 for R1's <think>…</think><answer>…</answer> layout
//   language    share of the reasoning's words in Latin script (R1's language consistency)
//   cosine      Yeo et al.'s cosine length scaling of accuracy (arXiv 2502.03373), L_max =
//               --max-new-tokens
//   overlong    DAPO's soft overlong punishment (arXiv 2503.14476), L_max = --max-new-tokens,
//               the last quarter as the punished cache
//   repetition  penalty for repeated word 3-grams
//   reward_model  the score of --reward-model (a learned reward model) for prompt + completion,
//               all completions of a step in one batch; 0 without --reward-model
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rlft/core/error.hpp>
#include <rlft/rewards/accuracy.hpp>
#include <rlft/rewards/composition.hpp>
#include <rlft/rewards/cosine_length.hpp>
#include <rlft/rewards/format.hpp>
#include <rlft/rewards/language_consistency.hpp>
#include <rlft/rewards/learned_reward.hpp>
#include <rlft/rewards/ngram_repetition.hpp>
#include <rlft/rewards/overlong_punishment.hpp>

#include "transformer/transformer.hpp"

namespace rlft::hf {

// "name=weight" pairs; a name not given weighs 0.
class reward_weights {
 public:
  // Throws rlft::error for a malformed pair, a weight that is not a finite number, or a name
  // given twice.
  explicit reward_weights(const std::vector<std::string>& pairs) {
    for (const std::string& pair : pairs) {
      const auto equals = pair.find('=');
      if (equals == std::string::npos || equals == 0)
        throw error("--reward \"" + pair + "\": expected NAME=WEIGHT, such as accuracy=1");
      const std::string name = pair.substr(0, equals);
      std::size_t parsed = 0;
      float weight = 0.0f;
      try {
        weight = std::stof(pair.substr(equals + 1), &parsed);
      } catch (const std::exception&) {
        parsed = 0;
      }
      if (parsed == 0 || parsed != pair.size() - equals - 1 || !std::isfinite(weight))
        throw error("--reward \"" + pair + "\": the weight is not a finite number");
      if (!weights_.emplace(name, weight).second) throw error("--reward names \"" + name + "\" twice");
    }
  }

  float operator()(std::string_view name) const {
    const auto it = weights_.find(std::string(name));
    return it == weights_.end() ? 0.0f : it->second;
  }

  // Throws rlft::error naming a weighted reward that is not among `known`.
  void check_known(const std::vector<std::string>& known) const {
    for (const auto& [name, weight] : weights_) {
      bool found = false;
      for (const auto& k : known) found = found || k == name;
      if (!found) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        throw error("--reward: no reward is named \"" + name + "\" (there are: " + list + ")");
      }
    }
  }

  const std::map<std::string, float>& weights() const noexcept { return weights_; }

 private:
  std::map<std::string, float> weights_;
};

// The reward model of --reward-model, or a score of 0 without one.
struct reward_model_score {
  std::optional<learned_reward<examples::transformer>> model = {};

  float operator()(const reward_input& input) const { return model ? (*model)(input) : 0.0f; }
  void score_batch(std::span<const reward_input> inputs, std::span<float> scores) const {
    if (model)
      model->score_batch(inputs, scores);
    else
      std::fill(scores.begin(), scores.end(), 0.0f);
  }
};

// Loads --reward-model (empty: none). Throws rlft::error when it is not a score model or its
// vocabulary does not cover the policy's tokenizer, and when reward_model is weighted without one.
inline reward_model_score load_reward_model(const std::filesystem::path& directory, std::size_t tokenizer_vocabulary,
                                            const reward_weights& w) {
  if (directory.empty()) {
    if (w("reward_model") != 0.0f) throw error("--reward reward_model=W needs --reward-model DIRECTORY");
    return {};
  }
  auto model = examples::transformer::from_pretrained(directory);
  if (model.config().head != examples::transformer_head::score)
    throw error("--reward-model " + directory.string() +
                " is a causal language model; a reward model is a …ForSequenceClassification checkpoint");
  if (model.config().vocab_size < tokenizer_vocabulary)
    throw error("--reward-model " + directory.string() + " knows " + std::to_string(model.config().vocab_size) +
                " tokens, the policy's tokenizer " + std::to_string(tokenizer_vocabulary) +
                ": it must share the policy's tokenizer");
  return {.model = learned_reward<examples::transformer>(std::move(model))};
}

// The built-in rewards, weighted; `max_new_tokens` is the length the length rewards measure
// against.
inline auto builtin_rewards(const reward_weights& w, std::size_t max_new_tokens, reward_model_score reward_model) {
  return w("accuracy") * component("accuracy", accuracy_reward{}) +
         w("format") * component("format", format_reward{}) +
         w("language") * component("language", language_consistency_reward{}) +
         w("cosine") * component("cosine", cosine_length_reward<accuracy_reward<>>{.max_length = max_new_tokens}) +
         w("overlong") * component("overlong", soft_overlong_punishment{.max_length = max_new_tokens,
                                                                        .cache_length = std::max<std::size_t>(
                                                                            1, max_new_tokens / 4)}) +
         w("repetition") * component("repetition", ngram_repetition_penalty{}) +
         w("reward_model") * component("reward_model", std::move(reward_model));
}

}  // namespace rlft::hf
