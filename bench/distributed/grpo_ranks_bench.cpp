// A GRPO step of the R1 demo's model (Qwen2-shaped, hidden 128, 2 layers, 8/4 heads,
// intermediate 384, 124 tokens, random weights) on 16 prompts × 8 completions × exactly 160 new
// tokens, k3 KL 0.001 in the loss, one update: as one process, or as the ranks of an MPI run
// (`mpirun -np N`). Prints one JSON line per rank: the median step over the measured steps,
// its split and the time the rank spent in the communicator's calls.
// bench/run_distributed_bench runs both forms on the same machine, alternating.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/distributed/mpi_communicator.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "transformer/transformer.hpp"

namespace {

using rlft::examples::transformer;
constexpr std::size_t vocabulary = 124;

struct random_prompts {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      rlft::philox_stream draw(99, drawn);
      std::vector<rlft::token_id> prompt(8);
      for (auto& t : prompt) t = static_cast<rlft::token_id>(7 + draw() % (vocabulary - 7));
      batch.prompts.push_back(prompt);
      batch.references.push_back("x");
    }
    return batch;
  }
};

struct letters {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const rlft::token_id t : tokens) text += static_cast<char>('a' + t % 26);
    return text;
  }
};

struct share_of_x {
  float operator()(const rlft::reward_input& in) const {
    return static_cast<float>(std::ranges::count(in.completion, 'x')) / static_cast<float>(in.completion.size() + 1);
  }
};

template <class Communicator>
void run(Communicator ranks, std::size_t shards, int steps) {
  transformer model({.model_type = "qwen2", .vocab_size = vocabulary, .hidden_size = 128, .intermediate_size = 384,
                     .num_layers = 2, .num_heads = 8, .num_kv_heads = 4, .head_dim = 16,
                     .tie_word_embeddings = true, .max_position_embeddings = 1024},
                    1);
  rlft::grpo_trainer trainer(model, rlft::temperature{1.0f}, share_of_x{}, letters{}, rlft::grpo_advantage{},
                             rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.001}},
                             rlft::grpo_options{.prompts_per_step = 16, .group_size = 8, .max_new_tokens = 160,
                                                .seed = 3, .gradient_shards = shards},
                             rlft::policy_update_options{.schedule = {.peak_learning_rate = 1e-4f,
                                                                      .final_learning_rate = 1e-4f}},
                             ranks);
  random_prompts prompts;
  std::vector<rlft::grpo_step_metrics> measured;
  for (int step = 0; step <= steps; ++step) {
    auto metrics = trainer.step(prompts);
    if (step > 0) measured.push_back(metrics);  // the first step warms up
  }
  std::ranges::sort(measured, {}, &rlft::grpo_step_metrics::seconds_total);
  const auto& median = measured[measured.size() / 2];
  std::size_t parameters = 0;
  for (const auto p : model.parameters()) parameters += p.values.size();
  std::printf("{\"rank\": %zu, \"ranks\": %zu, \"gradient_shards\": %zu, \"steps\": %zu, \"seconds_step\": %.4f, "
              "\"seconds_generate\": %.4f, \"seconds_score\": %.4f, \"seconds_reference\": %.4f, "
              "\"seconds_train\": %.4f, \"seconds_communicate\": %.4f, \"parameters\": %zu}\n",
              ranks.rank(), ranks.size(), shards, measured.size(), median.seconds_total, median.seconds_generate,
              median.seconds_score, median.seconds_reference, median.seconds_train, median.seconds_communicate,
              parameters);
}

}  // namespace

// grpo_ranks_bench single|mpi [steps] [gradient shards]
int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "single";
  const int steps = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::size_t shards = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 1;
  if (mode == "mpi") {
    rlft::mpi_session session(argc, argv);
    run(rlft::mpi_communicator(), shards, steps);
  } else {
    run(rlft::single_process_communicator(), shards, steps);
  }
}
