// What a user's program does first: include rlft, check its own reward against the concept,
// and use the core types. Built by both consumer projects (find_package and add_subdirectory).
#include <rlft/rlft.hpp>

#include <cstdio>
#include <vector>

struct answer_is_four {
  float operator()(const rlft::reward_input& input) const {
    return input.completion == "4" ? 1.0f : 0.0f;
  }
};
static_assert(rlft::reward_function<answer_is_four>);

int main() {
  rlft::token_sequences sequences;
  sequences.push_back(std::vector<rlft::token_id>{1, 2, 3});
  sequences.push_back(std::vector<rlft::token_id>{1, 2, 4, 5});
  auto batch = rlft::rollout_batch::with_group_size(std::move(sequences), {2, 2}, 2);
  batch.rewards().total()[0] = answer_is_four{}({.completion = "4"});
  if (batch.num_completion_tokens() != 3 || batch.rewards().total()[0] != 1.0f) return 1;
  std::printf("rlft %d.%d.%d consumer: ok\n", RLFT_VERSION_MAJOR, RLFT_VERSION_MINOR,
              RLFT_VERSION_PATCH);
  return 0;
}
