// Checkpoints of the trainers (rlft/train/checkpoint.hpp): a run interrupted after a
// checkpoint and resumed from it ends exactly where the uninterrupted run ends, for GRPO (with
// dynamic sampling, reference refreshes and validation state) and SFT (stopped mid-epoch); the
// checkpoint directory keeps the previous checkpoint when writing the next one fails; a
// malformed checkpoint is an rlft::io_error.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "trainer_test_support.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "rlft/train/sft_trainer.hpp"

using doctest::Contains;
using rlft_test::digits_decoder;
using rlft_test::finds_two;
using rlft_test::unigram_policy;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed at the end of the test.
struct scratch_directory {
  fs::path path;
  explicit scratch_directory(const std::string& name) : path(fs::temp_directory_path() / name) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_directory() { fs::remove_all(path); }
};

// References cycle through "0011": half the groups carry no signal, so dynamic sampling draws
// more than P prompts in some steps.
struct half_signal_prompts : rlft_test::cycling_prompts {
  half_signal_prompts() { pattern = "0011"; }
};

auto make_grpo(unigram_policy& policy) {
  return rlft::grpo_trainer(policy, rlft::temperature{1.0f}, finds_two, digits_decoder{},
                            rlft::grpo_advantage{.equal_rewards = rlft::equal_reward_policy::drop},
                            rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.05}},
                            rlft::grpo_options{.prompts_per_step = 3,
                                               .group_size = 6,
                                               .max_new_tokens = 3,
                                               .stop_tokens = {3},
                                               .reference_refresh_steps = 2,
                                               .max_sampling_rounds = 3,
                                               .seed = 11},
                            rlft::policy_update_options{
                                .schedule = {.peak_learning_rate = 0.05f, .final_learning_rate = 0.01f, .total_steps = 6}});
}

std::vector<float> values_of(unigram_policy& policy) {
  const auto values = policy.parameters()[0].values;
  return {values.begin(), values.end()};
}

std::vector<rlft::sft_example> sft_examples() {
  return {{.tokens = {0, 0, 2, 2}, .prompt_length = 2}, {.tokens = {0, 2, 1}, .prompt_length = 1},
          {.tokens = {0, 0, 0, 2, 2, 2}, .prompt_length = 3}, {.tokens = {0, 1}, .prompt_length = 1},
          {.tokens = {0, 0, 2}, .prompt_length = 2}, {.tokens = {0, 3, 3, 1}, .prompt_length = 1}};
}

rlft::sft_trainer<unigram_policy> make_sft(unigram_policy& policy) {
  return {policy, {.tokens_per_batch = 7, .epochs = 3, .seed = 4},
          {.schedule = {.peak_learning_rate = 0.1f, .final_learning_rate = 0.01f, .total_steps = 12}}};
}

}  // namespace

TEST_CASE("a GRPO run resumed from a checkpoint equals the uninterrupted run, bit for bit") {
  const scratch_directory scratch("rlft_grpo_checkpoint_test");
  const std::vector<float> start{0.1f, -0.2f, 0.3f, 0.0f};

  unigram_policy straight_policy(start);
  auto straight = make_grpo(straight_policy);
  half_signal_prompts straight_prompts;
  std::vector<double> straight_losses;
  for (int step = 0; step < 6; ++step) straight_losses.push_back(straight.step(straight_prompts).loss);

  {  // the interrupted run: three steps, a validation, a checkpoint, then it is gone
    unigram_policy policy(start);
    auto trainer = make_grpo(policy);
    half_signal_prompts prompts;
    rlft::best_policy<unigram_policy> best;
    for (int step = 0; step < 3; ++step) {
      trainer.step(prompts);
      best.offer(policy, -static_cast<double>(step), trainer.steps());  // the first step stays best
    }
    rlft::checkpoint_directory checkpoints(scratch.path);
    trainer.save_checkpoint(checkpoints, {{"note", "kept"}}, &best);
  }

  unigram_policy policy({9.0f, 9.0f, 9.0f, 9.0f});  // overwritten by the checkpoint
  auto resumed = make_grpo(policy);
  half_signal_prompts prompts;  // moved on by resume()
  rlft::best_policy<unigram_policy> best;
  const auto latest = rlft::checkpoint_directory(scratch.path).latest();
  REQUIRE(latest);
  CHECK(latest->directory.filename() == "step-3");
  const nlohmann::json caller = resumed.resume(*latest, prompts, &best);
  CHECK(caller.at("note") == "kept");
  CHECK(resumed.steps() == 3);
  CHECK(prompts.drawn == resumed.prompts_drawn());
  REQUIRE_FALSE(best.empty());
  CHECK(best.step() == 1);
  CHECK(best.score() == 0.0);
  for (int step = 3; step < 6; ++step) CHECK(resumed.step(prompts).loss == straight_losses[step]);
  CHECK(values_of(policy) == values_of(straight_policy));
  CHECK(values_of(resumed.reference()) == values_of(straight.reference()));
  CHECK(resumed.update().updates() == straight.update().updates());
  CHECK(resumed.streams_used() == straight.streams_used());
  CHECK(resumed.prompts_drawn() == straight.prompts_drawn());
  CHECK(straight.prompts_drawn() > 6 * 3);  // dynamic sampling drew extra prompts
}

TEST_CASE("an SFT run stopped mid-epoch and resumed equals the uninterrupted run") {
  const scratch_directory scratch("rlft_sft_checkpoint_test");
  const auto examples = sft_examples();
  const std::vector<float> start{0.0f, 0.5f, -0.5f, 0.25f};

  unigram_policy straight_policy(start);
  auto straight = make_sft(straight_policy);
  std::vector<double> straight_losses;
  std::vector<std::size_t> straight_epochs;
  straight.train(
      examples, [&](const rlft::sft_step_metrics& m) { straight_losses.push_back(m.loss); },
      [&](std::size_t epoch) { straight_epochs.push_back(epoch); });
  REQUIRE(straight_losses.size() > 6);

  std::vector<std::size_t> epochs;
  {  // stops after its fifth update, in the second epoch
    unigram_policy policy(start);
    auto trainer = make_sft(policy);
    trainer.train(
        examples, [&](const rlft::sft_step_metrics& m) { return m.step < 5; },
        [&](std::size_t epoch) { epochs.push_back(epoch); });
    rlft::checkpoint_directory checkpoints(scratch.path);
    trainer.save_checkpoint(checkpoints);
  }
  unigram_policy policy({1.0f, 1.0f, 1.0f, 1.0f});
  auto resumed = make_sft(policy);
  resumed.resume(*rlft::checkpoint_directory(scratch.path).latest());
  std::vector<double> losses;
  resumed.train(
      examples, [&](const rlft::sft_step_metrics& m) { losses.push_back(m.loss); },
      [&](std::size_t epoch) { epochs.push_back(epoch); });
  CHECK(losses == std::vector<double>(straight_losses.begin() + 5, straight_losses.end()));
  CHECK(epochs == straight_epochs);
  CHECK(values_of(policy) == values_of(straight_policy));
  CHECK(resumed.update().updates() == straight.update().updates());

  // A checkpoint written at the end of an epoch resumes after it: the epoch is not closed twice.
  struct interrupted {};
  epochs.clear();
  unigram_policy first_policy(start);
  auto first = make_sft(first_policy);
  rlft::checkpoint_directory checkpoints(scratch.path);
  CHECK_THROWS_AS(first.train(
                      examples, [](const rlft::sft_step_metrics&) {},
                      [&](std::size_t epoch) {
                        epochs.push_back(epoch);
                        first.save_checkpoint(checkpoints);
                        if (epoch == 0) throw interrupted{};
                      }),
                  interrupted);
  unigram_policy second_policy({1.0f, 1.0f, 1.0f, 1.0f});
  auto second = make_sft(second_policy);
  second.resume(*checkpoints.latest());
  second.train(examples, [](const rlft::sft_step_metrics&) {}, [&](std::size_t epoch) { epochs.push_back(epoch); });
  CHECK(epochs == straight_epochs);
  CHECK(values_of(second_policy) == values_of(straight_policy));
}

TEST_CASE("a checkpoint that fails half-way leaves the previous one the latest") {
  const scratch_directory scratch("rlft_checkpoint_directory_test");
  rlft::checkpoint_directory checkpoints(scratch.path);
  CHECK_FALSE(checkpoints.latest());
  const auto write_file = [](const fs::path& directory) { std::ofstream(directory / "weights") << "first"; };
  checkpoints.save("step-1", {{"n", 1}}, write_file);
  CHECK_THROWS_WITH_AS(checkpoints.save("step-2", {{"n", 2}},
                                        [](const fs::path& directory) {
                                          std::ofstream(directory / "weights") << "half";
                                          throw rlft::io_error("disk full");
                                        }),
                       Contains("disk full"), rlft::io_error);
  auto latest = checkpoints.latest();
  REQUIRE(latest);
  CHECK(latest->directory.filename() == "step-1");
  CHECK(latest->state.at("n") == 1);
  CHECK(fs::exists(latest->directory / "weights"));

  // What a run killed while writing step-2 left is replaced; step-1 goes once step-2 is complete.
  checkpoints.save("step-2", {{"n", 2}}, [](const fs::path& directory) {
    CHECK(fs::is_empty(directory));
    std::ofstream(directory / "weights") << "second";
  });
  latest = checkpoints.latest();
  CHECK(latest->directory.filename() == "step-2");
  CHECK_FALSE(fs::exists(scratch.path / "step-1"));
  // The same name again (two saves at one step) never writes over the latest.
  checkpoints.save("step-2", {{"n", 3}}, write_file);
  latest = checkpoints.latest();
  CHECK(latest->directory.filename() == "step-2.1");
  CHECK(latest->state.at("n") == 3);
  CHECK_FALSE(fs::exists(scratch.path / "step-2"));
  for (const char* name : {"../elsewhere", "..", ".", "", "latest.json"})
    CHECK_THROWS_AS(checkpoints.save(name, {}, write_file), rlft::error);

  checkpoints.remove();
  CHECK_FALSE(checkpoints.latest());
  CHECK_FALSE(fs::exists(scratch.path / "step-2.1"));
}

TEST_CASE("malformed checkpoints are io errors naming the file") {
  const scratch_directory scratch("rlft_checkpoint_errors_test");
  rlft::checkpoint_directory checkpoints(scratch.path);
  std::ofstream(scratch.path / "latest.json") << "{\"checkpoint\": ";
  CHECK_THROWS_WITH_AS(checkpoints.latest(), Contains("latest.json"), rlft::io_error);
  std::ofstream(scratch.path / "latest.json") << R"({"checkpoint": "step-9", "state": {}})";
  CHECK_THROWS_WITH_AS(checkpoints.latest(), Contains("names step-9"), rlft::io_error);
  std::ofstream(scratch.path / "latest.json") << R"({"checkpoint": "..", "state": {}})";
  CHECK_THROWS_WITH_AS(checkpoints.latest(), Contains("names .."), rlft::io_error);

  unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
  auto sft = make_sft(policy);
  fs::remove(scratch.path / "latest.json");
  sft.save_checkpoint(checkpoints);
  auto grpo = make_grpo(policy);
  half_signal_prompts prompts;
  CHECK_THROWS_WITH_AS(grpo.resume(*checkpoints.latest(), prompts), Contains("not a checkpoint of a grpo trainer"),
                       rlft::io_error);
  std::ofstream(checkpoints.latest()->directory / "optimizer.safetensors") << "not a safetensors file";
  CHECK_THROWS_AS(sft.resume(*checkpoints.latest()), rlft::io_error);
}
