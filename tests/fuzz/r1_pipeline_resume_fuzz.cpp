// The files examples/r1_pipeline reads on --resume (examples/r1_pipeline/resume_files.hpp). The
// first byte picks the file the rest replaces in a run directory where "base" has finished and
// "reasoning_rl" has a checkpoint of a 2-step run: 0 a done.json, 1 metrics.jsonl (cut back to
// what the checkpoints cover), 2 reasoning_rl's checkpoint pointer (read for its wall time),
// 3 the reward model's done.json.
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "fuzz_support.hpp"
#include "r1_pipeline/resume_files.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/grpo_trainer.hpp"

namespace {

namespace fs = std::filesystem;
using rlft_test::unigram_policy;

struct repeated_prompt {
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i) {
      batch.prompts.push_back(std::vector<rlft::token_id>{0});
      batch.references.push_back("1");
    }
    return batch;
  }
  void seek(std::uint64_t) {}
};

struct run_directory {
  fs::path output = rlft_fuzz::scratch_directory() / "run";
  fs::path pointer = output / "reasoning_rl" / rlft::checkpoint_directory::pointer_name;
  std::string valid_pointer;
};

const run_directory& run() {
  static const run_directory made = [] {
    run_directory run;
    const rlft::r1::stage_result base{.stage = "base", .evaluation = {.problems = 4, .samples_per_problem = 2}};
    fs::create_directories(run.output / "base");
    rlft_fuzz::write_file(run.output / "base" / "done.json", rlft::r1::to_json(base).dump());
    unigram_policy policy({0.1f, -0.2f, 0.3f, 0.0f});
    const auto finds_reference = [](const rlft::reward_input& in) {
      return in.completion.find(in.reference) != std::string_view::npos ? 1.0f : 0.0f;
    };
    auto trainer = rlft::grpo_trainer(policy, rlft::temperature{1.0f}, finds_reference, rlft_test::digits_decoder{},
                                      rlft::grpo_advantage{}, rlft::clipped_surrogate_objective{},
                                      rlft::grpo_options{.prompts_per_step = 2, .group_size = 2, .max_new_tokens = 2},
                                      rlft::policy_update_options{});
    repeated_prompt prompts;
    trainer.step(prompts);
    trainer.step(prompts);
    rlft::checkpoint_directory checkpoints(run.output / "reasoning_rl");
    trainer.save_checkpoint(checkpoints, {{"seconds", 12.5}});
    std::ifstream pointer(run.pointer);
    run.valid_pointer.assign(std::istreambuf_iterator<char>(pointer), {});
    return run;
  }();
  return made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& directory = run();
  const std::string_view contents = rlft_fuzz::as_text(data + 1, size - 1);
  rlft_fuzz::write_file(directory.pointer, directory.valid_pointer);
  rlft_fuzz::expect_rlft_error_at_most([&] {
    switch (data[0] % 4) {
      case 0: {
        const fs::path path = directory.output / "final_rl" / "done.json";
        fs::create_directories(path.parent_path());
        rlft_fuzz::write_file(path, contents);
        (void)rlft::r1::read_stage_result(path);
        break;
      }
      case 1:
        rlft_fuzz::write_file(directory.output / "metrics.jsonl", contents);
        rlft::r1::drop_unfinished_metrics(directory.output);
        break;
      case 2:
        rlft_fuzz::write_file(directory.pointer, contents);
        (void)rlft::r1::seconds_before_resume(directory.output / "reasoning_rl");
        break;
      default: {
        const fs::path path = directory.output / "reward_model" / "done.json";
        fs::create_directories(path.parent_path());
        rlft_fuzz::write_file(path, contents);
        (void)rlft::r1::read_reward_model_result(path);
      }
    }
  });
  return 0;
}
