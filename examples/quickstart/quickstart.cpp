// Quickstart: a user-defined reward and a user-defined advantage estimator, checked against
// rlft's concepts at compile time, composed over a built-in rollout batch (two arithmetic
// prompts, four completions each, in the R1-Zero <think>/<answer> template), printing every
// completion's reward components and its GRPO advantage (DeepSeekMath, arXiv 2402.03300,
// eq. 3: A_i = (R_i − mean R) / (std R + ε) within each group).
#include <rlft/rlft.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The text between the first `open` tag and the next `close` tag, if both exist.
std::string_view between(std::string_view text, std::string_view open, std::string_view close) {
  const auto start = text.find(open);
  if (start == std::string_view::npos) return {};
  const auto end = text.find(close, start + open.size());
  if (end == std::string_view::npos) return {};
  return text.substr(start + open.size(), end - start - open.size());
}

// 1 when the <answer> equals the reference exactly.
struct exact_answer {
  float operator()(const rlft::reward_input& in) const {
    const auto answer = between(in.completion, "<answer>", "</answer>");
    return !answer.empty() && answer == in.reference ? 1.0f : 0.0f;
  }
};

// 1 when the completion is exactly <think>…</think><answer>…</answer>.
struct r1_format {
  float operator()(const rlft::reward_input& in) const {
    const std::string_view text = in.completion;
    return text.starts_with("<think>") && text.ends_with("</answer>") &&
                   text.find("</think><answer>") != std::string_view::npos
               ? 1.0f
               : 0.0f;
  }
};

// Group z-score of the total reward, on every loss-masked token of the completion.
struct group_z_score {
  float epsilon = 1e-4f;
  rlft::advantage_summary operator()(const rlft::rollout_batch& batch,
                                     std::span<float> advantages) const {
    rlft::advantage_summary summary{.groups = batch.num_groups()};
    const auto rewards = batch.rewards().total();
    for (std::size_t g = 0; g < batch.num_groups(); ++g) {
      const auto n = static_cast<float>(batch.group_size(g));
      float mean = 0.0f, square = 0.0f;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) mean += rewards[s] / n;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s)
        square += (rewards[s] - mean) * (rewards[s] - mean) / n;
      const float std_dev = std::sqrt(square);
      summary.groups_with_equal_rewards += std_dev == 0.0f;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s)
        for (auto t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
          advantages[t] = batch.loss_mask()[t] ? (rewards[s] - mean) / (std_dev + epsilon) : 0.0f;
    }
    return summary;
  }
};

// Scores every completion with each reward into its own column, sums them into the total,
// then runs the estimator: the composition a GRPO step performs.
template <rlft::advantage_estimator Estimator, rlft::reward_function... Rewards>
rlft::advantage_summary score_and_estimate(rlft::rollout_batch& batch,
                                           const std::vector<std::string>& texts,
                                           const std::vector<std::string>& references,
                                           const Estimator& estimator,
                                           const std::pair<const char*, Rewards>&... rewards) {
  const auto score_column = [&](const char* name, const auto& reward) {
    const auto column = batch.rewards().component(batch.rewards().add_component(name));
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      const std::string_view text = texts[s];
      const rlft::reward_input input{.prompt = text.substr(0, batch.prompt_length(s)),
                                     .completion = text.substr(batch.prompt_length(s)),
                                     .prompt_tokens = batch.prompt(s),
                                     .completion_tokens = batch.completion(s),
                                     .reference = references[s],
                                     .truncated = batch.truncated()[s] != 0};
      column[s] = static_cast<float>(reward(input));
      batch.rewards().total()[s] += column[s];
    }
  };
  (score_column(rewards.first, rewards.second), ...);
  return estimator(batch, batch.advantages());
}

}  // namespace

int main() {
  struct example {
    std::string prompt, completion, reference;
  };
  const std::vector<example> examples{
      {"12+7=", "<think>12+7 is 19</think><answer>19</answer>", "19"},
      {"12+7=", "<think>12+8 is 20</think><answer>20</answer>", "19"},
      {"12+7=", "19", "19"},
      {"12+7=", "<think>seven more than twelve</think><answer>19</answer>", "19"},
      {"5*6=", "<think>5*6 = 30</think><answer>30</answer>", "30"},
      {"5*6=", "<think>5+6</think><answer>11</answer>", "30"},
      {"5*6=", "<answer>30</answer>", "30"},
      {"5*6=", "<think>thirty</think><answer>30", "30"},
  };

  // Character-level tokens: one id per byte.
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  std::vector<std::string> texts, references;
  for (const auto& e : examples) {
    texts.push_back(e.prompt + e.completion);
    references.push_back(e.reference);
    std::vector<rlft::token_id> tokens(texts.back().begin(), texts.back().end());
    sequences.push_back(tokens);
    prompt_lengths.push_back(static_cast<std::int64_t>(e.prompt.size()));
  }
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths), 4);

  const auto summary = score_and_estimate(batch, texts, references, group_z_score{},
                                          std::pair{"accuracy", exact_answer{}},
                                          std::pair{"format", r1_format{}});

  std::printf("rlft %d.%d.%d quickstart: %zu prompts x %zu completions, %zu completion tokens\n\n",
              RLFT_VERSION_MAJOR, RLFT_VERSION_MINOR, RLFT_VERSION_PATCH, batch.num_groups(),
              batch.group_size(0), batch.num_completion_tokens());
  std::printf("%-6s %-58s %8s %6s %5s %9s\n", "prompt", "completion", "accuracy", "format",
              "total", "advantage");
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    const auto last_token = batch.sequence_end(s) - 1;
    std::printf("%-6s %-58s %8.0f %6.0f %5.0f %+9.3f\n", examples[s].prompt.c_str(),
                examples[s].completion.c_str(), batch.rewards().component("accuracy")[s],
                batch.rewards().component("format")[s], batch.rewards().total()[s],
                batch.advantages()[last_token]);
  }
  std::printf("\n%zu groups, %zu with all-equal rewards\n", summary.groups,
              summary.groups_with_equal_rewards);
  return 0;
}
