// The data set in the trainer: GRPO on the committed GSM8K-shaped sample, stopped after three
// steps and resumed from its checkpoint with a fresh data set, ends exactly where the
// uninterrupted run ends — the trainer's seek() puts the data set on the prompts it stopped at.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "data/scratch_files.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/data/prompt_data_set.hpp"
#include "rlft/data/read_data_file.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/grpo_trainer.hpp"

using rlft_test::digits_decoder;
using rlft_test::unigram_policy;

namespace {

// Prompts of one token among the unigram policy's four, so that different records differ.
std::vector<rlft::token_id> one_token(std::string_view text) {
  return {static_cast<rlft::token_id>(text.size() % 3)};
}

rlft::data::prompt_data_set sample_train_set() {
  return {rlft::data::read_data_file(std::filesystem::path(RLFT_SAMPLE_DATA_DIRECTORY) / "gsm8k_sample_train.jsonl",
                                     {.fields = {.prompt = "question", .reference = "answer"},
                                      .reference = rlft::data::reference_style::gsm8k}),
          one_token, {.seed = 17}};
}

// 1 when the completion writes the reference's last digit (the policy writes digits 0 to 3).
const auto writes_last_digit = [](const rlft::reward_input& in) {
  return in.completion.find(in.reference.back()) != std::string_view::npos ? 1.0f : 0.0f;
};

auto make_grpo(unigram_policy& policy) {
  return rlft::grpo_trainer(policy, rlft::temperature{1.0f}, writes_last_digit, digits_decoder{},
                            rlft::grpo_advantage{}, rlft::clipped_surrogate_objective{},
                            rlft::grpo_options{.prompts_per_step = 4, .group_size = 4, .max_new_tokens = 3,
                                               .stop_tokens = {3}, .seed = 9},
                            rlft::policy_update_options{.schedule = {.peak_learning_rate = 0.05f,
                                                                     .final_learning_rate = 0.05f}});
}

}  // namespace

TEST_CASE("GRPO on a data set, resumed from a checkpoint, draws and learns what the uninterrupted run does") {
  const std::vector<float> start{0.1f, -0.2f, 0.3f, 0.0f};
  unigram_policy straight_policy(start);
  auto straight = make_grpo(straight_policy);
  auto straight_prompts = sample_train_set();
  std::vector<double> straight_losses;
  for (int step = 0; step < 12; ++step) straight_losses.push_back(straight.step(straight_prompts).loss);
  CHECK(straight_prompts.drawn() == 48);
  CHECK(straight_prompts.epoch() == 1);  // 36 records: the run went on into a second epoch

  const auto directory = rlft::testing::scratch_directory() / "grpo_checkpoints";
  {
    unigram_policy policy(start);
    auto trainer = make_grpo(policy);
    auto prompts = sample_train_set();
    for (int step = 0; step < 5; ++step) trainer.step(prompts);
    rlft::checkpoint_directory checkpoints(directory);
    trainer.save_checkpoint(checkpoints);
  }

  unigram_policy policy({9.0f, 9.0f, 9.0f, 9.0f});  // overwritten by the checkpoint
  auto resumed = make_grpo(policy);
  auto prompts = sample_train_set();
  const auto latest = rlft::checkpoint_directory(directory).latest();
  REQUIRE(latest);
  resumed.resume(*latest, prompts);
  CHECK(prompts.drawn() == 20);
  for (int step = 5; step < 12; ++step) CHECK(resumed.step(prompts).loss == straight_losses[step]);
  CHECK(prompts.drawn() == straight_prompts.drawn());
  const auto values = policy.parameters()[0].values, straight_values = straight_policy.parameters()[0].values;
  CHECK(std::vector<float>(values.begin(), values.end()) ==
        std::vector<float>(straight_values.begin(), straight_values.end()));
}
