// rlft::advantage_estimator: an estimator that satisfies it, and types that miss each part.
#include <doctest/doctest.h>

#include <vector>

#include "rlft/concepts/advantage_estimator.hpp"

namespace {

// Leave-nothing-out baseline: A_i = R_i − mean(R_group) on every completion token of i.
struct group_mean_baseline {
  rlft::advantage_summary operator()(const rlft::rollout_batch& batch,
                                     std::span<float> advantages) const {
    rlft::advantage_summary summary{.groups = batch.num_groups()};
    const auto rewards = batch.rewards().total();
    for (std::size_t g = 0; g < batch.num_groups(); ++g) {
      float mean = 0.0f;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) mean += rewards[s];
      mean /= static_cast<float>(batch.group_size(g));
      bool all_equal = true;
      for (auto s = batch.group_begin(g); s < batch.group_end(g); ++s) {
        all_equal = all_equal && rewards[s] == mean;
        for (auto t = batch.sequence_begin(s); t < batch.sequence_end(s); ++t)
          advantages[t] = batch.loss_mask()[t] ? rewards[s] - mean : 0.0f;
      }
      summary.groups_with_equal_rewards += all_equal;
    }
    return summary;
  }
};

struct estimator_returning_nothing {
  void operator()(const rlft::rollout_batch&, std::span<float>) const {}
};

struct wants_a_reward_vector {
  rlft::advantage_summary operator()(const std::vector<float>&, std::span<float>) const;
};

struct keeps_running_statistics {
  double running_mean = 0.0;
  rlft::advantage_summary operator()(const rlft::rollout_batch&, std::span<float>);
};

}  // namespace

static_assert(rlft::advantage_estimator<group_mean_baseline>);
static_assert(!rlft::advantage_estimator<estimator_returning_nothing>);
static_assert(!rlft::advantage_estimator<wants_a_reward_vector>);
static_assert(!rlft::fills_token_advantages<keeps_running_statistics>);
static_assert(!rlft::advantage_estimator<int>);

TEST_CASE("an advantage estimator fills per-token advantages and summarises the groups") {
  rlft::token_sequences sequences;
  for (int s = 0; s < 4; ++s) sequences.push_back(std::vector<rlft::token_id>{1, 2, 3});
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {1, 1, 1, 1}, 2);
  const std::vector<float> rewards{1.0f, 0.0f, 0.5f, 0.5f};
  std::copy(rewards.begin(), rewards.end(), batch.rewards().total().begin());

  const rlft::advantage_estimator auto estimator = group_mean_baseline{};
  const auto summary = estimator(batch, batch.advantages());
  CHECK(summary.groups == 2);
  CHECK(summary.groups_with_equal_rewards == 1);
  const std::vector<float> expected{0.0f, 0.5f, 0.5f, 0.0f, -0.5f, -0.5f, 0.0f, 0.0f, 0.0f,
                                    0.0f, 0.0f, 0.0f};
  CHECK(std::vector<float>(batch.advantages().begin(), batch.advantages().end()) == expected);
}
