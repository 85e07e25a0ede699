// GRPO end to end in one file, the program README's "Training" section shows: the reference
// transformer (Qwen2-shaped, random weights, characters as tokens) learns to put the sum of two
// digits into its completion, rewarded by a plain C++ function. It checkpoints every 10 steps
// and resumes from the latest checkpoint when started again with the same directory.
//   rlft_grpo_quickstart [checkpoint directory] [steps]
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rlft/rlft.hpp>

#include "transformer/transformer.hpp"

namespace {

// Characters are tokens: ASCII codes, '\n' ends a completion.
constexpr rlft::token_id end_of_line = '\n';

std::vector<rlft::token_id> encode(std::string_view text) { return {text.begin(), text.end()}; }

struct ascii_decoder {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const rlft::token_id t : tokens) text += t == end_of_line ? '\0' : static_cast<char>(t);
    return text.substr(0, text.find('\0'));
  }
};

// "a+b=" with the sum as the reference. seek() lets a resumed run continue where it stopped.
struct sum_prompts {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      const auto a = drawn % 10, b = drawn * 7 % 10;
      batch.prompts.push_back(encode(std::to_string(a) + "+" + std::to_string(b) + "="));
      batch.references.push_back(std::to_string(a + b));
    }
    return batch;
  }
  void seek(std::uint64_t position) { drawn = position; }
};

// The reward: 1 when the completion contains the sum. Any const callable from
// rlft::reward_input to a number is a reward.
struct contains_the_sum {
  float operator()(const rlft::reward_input& in) const {
    return in.completion.find(in.reference) != std::string_view::npos ? 1.0f : 0.0f;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string directory = argc > 1 ? argv[1] : "grpo_quickstart_checkpoints";
  const std::size_t steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 60;
  try {
    rlft::examples::transformer policy({.vocab_size = 128, .hidden_size = 64, .intermediate_size = 128,
                                        .num_layers = 1, .num_heads = 4, .num_kv_heads = 2, .head_dim = 16},
                                       /*seed=*/1);
    rlft::grpo_trainer trainer(policy, rlft::temperature{1.0f}, contains_the_sum{}, ascii_decoder{},
                               rlft::grpo_advantage{},
                               rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.001}},
                               rlft::grpo_options{.prompts_per_step = 8,
                                                  .group_size = 8,
                                                  .max_new_tokens = 12,
                                                  .stop_tokens = {end_of_line},
                                                  .seed = 1},
                               {.schedule = {.peak_learning_rate = 3e-3f, .final_learning_rate = 3e-3f}});
    sum_prompts prompts;
    rlft::checkpoint_directory checkpoints(directory);
    if (const auto latest = checkpoints.latest()) {
      trainer.resume(*latest, prompts);
      std::printf("resumed at step %zu from %s\n", trainer.steps(), latest->directory.c_str());
    }
    while (trainer.steps() < steps) {
      const rlft::grpo_step_metrics m = trainer.step(prompts);
      std::printf("step %3zu  reward %.3f  kl %.4f  length %.1f%s%s\n", m.step, m.rewards.back().mean,
                  m.objective.kl_mean, m.completion_length, m.applied ? "" : "  skipped: ",
                  m.skipped_because.c_str());
      if (m.step % 10 == 0) trainer.save_checkpoint(checkpoints);
    }
  } catch (const rlft::error& e) {  // misuse or a failing machine: the trainer skips only bad data
    std::fprintf(stderr, "grpo_quickstart: %s\n", e.what());
    return 1;
  }
  return 0;
}
