// Training on the reference transformer under `mpirun -np N`. GRPO: 10 steps with N ranks against the
// same run in one process (which every rank also runs), both with 4 gradient shards: the whole
// step's rollouts and the final parameters bit for bit, the losses within 1e-6 relative (the
// ranks' shares are added in rank order); and a second N-rank run equal to the first bit for
// bit. Two configurations: on-policy with the KL term and several
// micro-batches; and μ = 2 with two mini-batches, dynamic sampling and batch-std scaling
// (batch statistics every rank must see alike); a run resumed from rank 0's checkpoint. SFT:
// two epochs of packed updates, the same way. Evaluation and rejection sampling split by
// problems against one process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/distributed/any_communicator.hpp"
#include "rlft/distributed/mpi_communicator.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/evaluation.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "rlft/train/rejection_sampler.hpp"
#include "rlft/train/sft_trainer.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;

namespace {

rlft::mpi_communicator& world() {
  static rlft::mpi_communicator comm;
  return comm;
}

transformer make_model() {
  return transformer({.model_type = "qwen2", .vocab_size = 12, .hidden_size = 32, .intermediate_size = 48,
                      .num_layers = 1, .num_heads = 4, .num_kv_heads = 2, .head_dim = 8,
                      .tie_word_embeddings = true, .max_position_embeddings = 64},
                     5);
}

// Prompts of 1 to 3 tokens; the reference is the token the completion should hold.
struct prompt_cycle {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      std::vector<rlft::token_id> prompt;
      for (std::uint64_t k = 0; k <= drawn % 3; ++k) prompt.push_back(static_cast<rlft::token_id>(3 + (drawn + k) % 8));
      batch.prompts.push_back(prompt);
      batch.references.push_back(std::string(1, static_cast<char>('a' + drawn % 4)));
    }
    return batch;
  }
};

struct letters {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const rlft::token_id t : tokens) text += static_cast<char>('a' + t % 4);
    return text;
  }
};

// The share of the completion's letters that are the reference letter.
struct share_of_reference {
  float operator()(const rlft::reward_input& in) const {
    if (in.completion.empty()) return 0.0f;
    return static_cast<float>(std::ranges::count(in.completion, in.reference[0])) / static_cast<float>(in.completion.size());
  }
};

struct configuration {
  rlft::grpo_options options;
  rlft::reward_scaling scaling;
  rlft::equal_reward_policy equal_rewards;
};

template <class Communicator>
auto make_trainer(transformer& model, const configuration& c, Communicator comm) {
  return rlft::grpo_trainer(model, rlft::temperature{1.0f}, share_of_reference{}, letters{},
                            rlft::grpo_advantage{.scaling = c.scaling, .equal_rewards = c.equal_rewards},
                            rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.05}}, c.options,
                            rlft::policy_update_options{.schedule = {.peak_learning_rate = 5e-3f,
                                                                     .final_learning_rate = 5e-3f}},
                            comm);
}

struct run_record {
  std::vector<std::vector<rlft::token_id>> tokens;  // each step's whole batch
  std::vector<std::vector<float>> rewards;
  std::vector<double> losses;
  std::vector<std::vector<float>> parameters;
};

template <class Communicator>
run_record run(const configuration& c, Communicator comm) {
  transformer model = make_model();
  auto trainer = make_trainer(model, c, comm);
  prompt_cycle prompts;
  run_record record;
  for (int step = 0; step < 10; ++step) {
    const auto metrics = trainer.step(prompts);
    REQUIRE_MESSAGE(metrics.applied, metrics.skipped_because);
    const auto& batch = *trainer.last_rollouts();
    record.tokens.emplace_back(batch.tokens().begin(), batch.tokens().end());
    record.rewards.emplace_back(batch.rewards().total().begin(), batch.rewards().total().end());
    record.losses.push_back(metrics.loss);
  }
  for (const auto p : model.parameters()) record.parameters.emplace_back(p.values.begin(), p.values.end());
  return record;
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b)) + 1e-9; }

void check_equivalence(const configuration& c) {
  const run_record alone = run(c, rlft::single_process_communicator{});
  const run_record ranks = run(c, world());
  CHECK(ranks.tokens == alone.tokens);
  CHECK(ranks.rewards == alone.rewards);
  for (std::size_t step = 0; step < alone.losses.size(); ++step)
    CHECK_MESSAGE(close(ranks.losses[step], alone.losses[step]), "step ", step + 1, ": ", ranks.losses[step], " vs ",
                  alone.losses[step]);
  REQUIRE(ranks.parameters.size() == alone.parameters.size());
  double worst = 0.0;
  for (std::size_t p = 0; p < alone.parameters.size(); ++p)
    for (std::size_t i = 0; i < alone.parameters[p].size(); ++i) {
      const double a = ranks.parameters[p][i], b = alone.parameters[p][i];
      worst = std::max(worst, std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-3}));
    }
  CHECK_MESSAGE(worst == 0.0, "largest relative parameter difference ", worst);
  CHECK(ranks.parameters == alone.parameters);
  const run_record again = run(c, world());
  CHECK(again.tokens == ranks.tokens);
  CHECK(again.losses == ranks.losses);
  CHECK(again.parameters == ranks.parameters);
}

}  // namespace

TEST_CASE("mpi: on-policy GRPO with the KL term and several micro-batches equals one process") {
  check_equivalence({.options = {.prompts_per_step = 6, .group_size = 4, .max_new_tokens = 6, .micro_batch_tokens = 24,
                                 .seed = 7, .gradient_shards = 4},
                     .scaling = rlft::reward_scaling::group_std,
                     .equal_rewards = rlft::equal_reward_policy::keep});
}

TEST_CASE("mpi: two mini-batches, two inner iterations, dynamic sampling and batch-std scaling equal one process") {
  check_equivalence({.options = {.prompts_per_step = 5, .group_size = 3, .max_new_tokens = 5, .inner_iterations = 2,
                                 .mini_batches = 2, .micro_batch_tokens = 20, .max_sampling_rounds = 3, .seed = 9,
                                 .gradient_shards = 4, .parameter_check_steps = 3},
                     .scaling = rlft::reward_scaling::batch_std,
                     .equal_rewards = rlft::equal_reward_policy::drop});
}

TEST_CASE("mpi: a run resumed from rank 0's checkpoint on every rank equals the uninterrupted run") {
  const configuration c{.options = {.prompts_per_step = 6, .group_size = 4, .max_new_tokens = 6,
                                    .micro_batch_tokens = 24, .seed = 7, .gradient_shards = 4},
                        .scaling = rlft::reward_scaling::group_std,
                        .equal_rewards = rlft::equal_reward_policy::keep};
  const run_record uninterrupted = run(c, world());
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("rlft-mpi-resume-" + std::to_string(::getppid()));
  {
    transformer model = make_model();
    auto trainer = make_trainer(model, c, world());
    prompt_cycle prompts;
    rlft::checkpoint_directory checkpoints(directory);
    for (int step = 0; step < 4; ++step) REQUIRE(trainer.step(prompts).applied);
    trainer.save_checkpoint(checkpoints);  // rank 0 writes
    world().barrier();
    for (int step = 4; step < 7; ++step) REQUIRE(trainer.step(prompts).applied);  // lost with the "crash"
  }
  transformer model = make_model();
  auto trainer = make_trainer(model, c, world());
  prompt_cycle prompts;
  rlft::checkpoint_directory checkpoints(directory);
  const auto latest = checkpoints.latest();
  REQUIRE(latest);
  trainer.resume(*latest, prompts);
  CHECK(trainer.steps() == 4);
  std::vector<double> losses;
  while (trainer.steps() < 10) losses.push_back(trainer.step(prompts).loss);
  CHECK(losses == std::vector<double>(uninterrupted.losses.begin() + 4, uninterrupted.losses.end()));
  std::vector<std::vector<float>> parameters;
  for (const auto p : model.parameters()) parameters.emplace_back(p.values.begin(), p.values.end());
  CHECK(parameters == uninterrupted.parameters);
  world().barrier();
  if (world().rank() == 0) std::filesystem::remove_all(directory);
}

TEST_CASE("mpi: SFT with N ranks equals one process: parameters bit for bit, losses within 1e-6") {
  std::vector<rlft::sft_example> examples;
  for (std::uint64_t i = 0; i < 23; ++i) {
    rlft::philox_stream draw(4, i);
    rlft::sft_example e{.tokens = {}, .prompt_length = 2 + draw() % 2};
    const std::size_t length = e.prompt_length + 3 + draw() % 4;
    for (std::size_t t = 0; t < length; ++t) e.tokens.push_back(static_cast<rlft::token_id>(draw() % 12));
    examples.push_back(std::move(e));
  }
  const auto train = [&](auto ranks) {
    transformer model = make_model();
    rlft::sft_trainer trainer(model, rlft::sft_options{.tokens_per_batch = 40, .epochs = 2, .seed = 8, .gradient_shards = 4},
                              rlft::policy_update_options{.schedule = {.peak_learning_rate = 1e-2f,
                                                                       .final_learning_rate = 1e-2f}},
                              ranks);
    run_record record;
    trainer.train(examples, [&](const rlft::sft_step_metrics& m) { record.losses.push_back(m.loss); });
    for (const auto p : model.parameters()) record.parameters.emplace_back(p.values.begin(), p.values.end());
    return record;
  };
  const run_record alone = train(rlft::single_process_communicator{});
  const run_record ranks = train(world());
  REQUIRE(ranks.losses.size() == alone.losses.size());
  CHECK(alone.losses.size() > 4);
  for (std::size_t step = 0; step < alone.losses.size(); ++step)
    CHECK_MESSAGE(close(ranks.losses[step], alone.losses[step]), "update ", step + 1);
  CHECK(ranks.parameters == alone.parameters);
}

TEST_CASE("mpi: evaluation and rejection sampling split by problems equal one process, through any_communicator") {
  transformer model = make_model();
  const rlft::prompt_batch problems = prompt_cycle{}(7);
  const rlft::completion_sampling_options options{
      .samples_per_prompt = 3, .max_new_tokens = 5, .prompts_per_round = 2, .seed = 4, .first_stream = 11};
  const auto judge = [](const rlft::reward_input& in) {
    const std::string answer(in.completion.substr(0, 1));
    return rlft::sample_outcome{.answer = answer,
                                .correct = answer == in.reference,
                                .well_formatted = in.completion.size() > 2,
                                .length = in.completion_tokens.size()};
  };
  rlft::any_communicator ranks(world());
  std::vector<std::size_t> problems_seen;
  const auto alone = rlft::evaluate_policy(model, problems, rlft::temperature{1.0f}, letters{}, judge, options);
  const auto split = rlft::evaluate_policy(ranks, model, problems, rlft::temperature{1.0f}, letters{}, judge, options,
                                           [&](const rlft::reward_input&, const rlft::sample_outcome&, std::size_t p) {
                                             if (problems_seen.empty() || problems_seen.back() != p) problems_seen.push_back(p);
                                           });
  CHECK(split.problems == alone.problems);
  CHECK(split.pass_at_1 == alone.pass_at_1);
  CHECK(split.consensus_at_k == alone.consensus_at_k);
  CHECK(split.format_rate == alone.format_rate);
  CHECK(split.mean_length == alone.mean_length);
  CHECK(alone.pass_at_1 > 0.0);
  std::vector<std::size_t> own;  // this rank's problems, by their indices among all
  for (std::size_t p = rlft::share_begin(7, ranks.rank(), ranks.size()); p < rlft::share_begin(7, ranks.rank() + 1, ranks.size()); ++p)
    own.push_back(p);
  CHECK(problems_seen == own);

  const auto accept = [&](const rlft::reward_input& in) { return judge(in).correct; };
  const auto [kept_alone, report_alone] =
      rlft::rejection_sample(model, problems, rlft::temperature{1.0f}, letters{}, accept, options);
  const auto [kept_split, report_split] =
      rlft::rejection_sample(ranks, model, problems, rlft::temperature{1.0f}, letters{}, accept, options);
  CHECK(!kept_alone.empty());
  CHECK(kept_split == kept_alone);
  CHECK(report_split.prompts == report_alone.prompts);
  CHECK(report_split.samples == report_alone.samples);
  CHECK(report_split.accepted == report_alone.accepted);
  CHECK(report_split.kept == report_alone.kept);
  CHECK(report_split.prompts_with_a_kept_sample == report_alone.prompts_with_a_kept_sample);
}

int main(int argc, char** argv) {
  rlft::mpi_session session(argc, argv);
  doctest::Context context(argc, argv);
  if (world().rank() != 0) context.setOption("out", "/dev/null");
  const int failed = context.run();
  if (failed) std::fprintf(stderr, "rank %zu: tests failed\n", world().rank());
  return failed;
}
