// A training run's checkpoint pointer (checkpoints/latest.json: which checkpoint, and the trainer's
// state: steps, Philox streams used, prompts drawn, validation record) read back by a GRPO
// trainer's resume, beside a real checkpoint written by a 2-step run of a tiny policy.
#include <vector>

#include "concepts/unigram_policy.hpp"
#include "fuzz_support.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/grpo_trainer.hpp"

namespace {

using rlft_test::unigram_policy;

struct repeated_prompt {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      batch.prompts.push_back(std::vector<rlft::token_id>{0});
      batch.references.push_back(drawn % 2 ? "2" : "1");
    }
    return batch;
  }
  void seek(std::uint64_t position) { drawn = position; }
};

auto make_trainer(unigram_policy& policy) {
  const auto finds_reference = [](const rlft::reward_input& in) {
    return in.completion.find(in.reference) != std::string_view::npos ? 1.0f : 0.0f;
  };
  return rlft::grpo_trainer(policy, rlft::temperature{1.0f}, finds_reference, rlft_test::digits_decoder{},
                            rlft::grpo_advantage{}, rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.05}},
                            rlft::grpo_options{.prompts_per_step = 2, .group_size = 4, .max_new_tokens = 3, .seed = 3},
                            rlft::policy_update_options{});
}

const rlft::checkpoint_directory& checkpoints() {
  static const rlft::checkpoint_directory directory = [] {
    rlft::checkpoint_directory made(rlft_fuzz::scratch_directory() / "checkpoints");
    unigram_policy policy({0.1f, -0.2f, 0.3f, 0.0f});
    auto trainer = make_trainer(policy);
    repeated_prompt prompts;
    trainer.step(prompts);
    trainer.step(prompts);
    rlft::best_policy<unigram_policy> best;
    best.offer(policy, 0.5, 2);
    trainer.save_checkpoint(made, {{"epoch", 1}}, &best);
    return made;
  }();
  return directory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& directory = checkpoints();
  rlft_fuzz::write_file(directory.root() / rlft::checkpoint_directory::pointer_name, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const auto latest = directory.latest();
    if (!latest) return;
    unigram_policy policy({0.0f, 0.0f, 0.0f, 0.0f});
    auto trainer = make_trainer(policy);
    repeated_prompt prompts;
    rlft::best_policy<unigram_policy> best;
    (void)trainer.resume(*latest, prompts, &best);
    trainer.step(prompts);
  });
  return 0;
}
