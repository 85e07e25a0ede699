// A user-defined reward composed with rlft's built-in ones: the R1 reward (format, and accuracy
// gated by format) plus a small bonus for showing the work, scored over a rollout batch.
#include <rlft/rlft.hpp>

#include <cstdio>
#include <string>
#include <vector>

// Any const callable from rlft::reward_input to a number is a reward.
struct shows_work {
  float operator()(const rlft::reward_input& in) const {
    return rlft::chain_of_thought(in.completion, {}).find_first_of("+-*=") != std::string_view::npos ? 1.0f : 0.0f;
  }
};

int main() {
  const auto reward = rlft::component("format", rlft::format_reward{}) +
                      rlft::gate(rlft::format_reward{}, rlft::component("accuracy", rlft::accuracy_reward{})) +
                      0.2f * rlft::component("shows work", shows_work{});
  const std::vector<std::string> texts{"12+7=<think>12+7=19</think><answer>19</answer>",
                                       "12+7=<think>nineteen</think><answer>19.0</answer>",
                                       "12+7=<answer>19</answer>", "12+7=<think>12+7=20</think><answer>20</answer>"};
  rlft::token_sequences sequences;  // character-level tokens
  for (const auto& text : texts) sequences.push_back(std::vector<rlft::token_id>(text.begin(), text.end()));
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {5, 5, 5, 5}, 4);
  const auto decode = [](std::span<const rlft::token_id> tokens) { return std::string(tokens.begin(), tokens.end()); };
  rlft::score_rollouts(batch, reward, decode, std::vector<std::string>{"19"});  // one reference per prompt
  const auto& table = batch.rewards();
  const float expected[] = {2.2f, 2.0f, 0.0f, 1.2f};
  bool as_expected = true;
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
    std::printf("%-50s format %.0f  accuracy %.0f  shows work %.0f  total %.1f\n", texts[s].c_str(),
                table.component("format")[s], table.component("accuracy")[s], table.component("shows work")[s],
                table.total()[s]);
    as_expected = as_expected && table.total()[s] - expected[s] < 1e-6f && expected[s] - table.total()[s] < 1e-6f;
  }
  std::printf(as_expected ? "custom reward: as expected\n" : "custom reward: UNEXPECTED totals\n");
  return as_expected ? 0 : 1;
}
