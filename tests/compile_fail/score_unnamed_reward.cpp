// score_rollouts needs a reward expression (named components to log): a bare reward function
// is rejected with the requirement it misses; wrapping it in rlft::component(name, r) fixes it.
#include <rlft/rewards/score_rollouts.hpp>

#include <string>
#include <vector>

int main() {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>{1, 2});
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {1}, 1);
  const auto bare = [](const rlft::reward_input&) { return 1.0f; };
  const auto decode = [](std::span<const rlft::token_id>) { return std::string(); };
  rlft::score_rollouts(batch, bare, decode, std::vector<std::string>{"x"});
}
