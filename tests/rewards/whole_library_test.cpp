// Rewards composed in a translation unit that includes the whole library, objectives first:
// helpers of different areas must not collide (qualified calls inside a template see every
// overload declared before the template, so the order of includes matters; reward sums once
// met the objectives' detail::terms_of this way).
#include <doctest/doctest.h>

#include <rlft/objective/clipped_surrogate_objective.hpp>
#include <rlft/rlft.hpp>

TEST_CASE("reward expressions sum with every rlft header in scope") {
  const auto reward = rlft::component("format", rlft::format_reward{}) +
                      0.5f * rlft::component("length", [](const rlft::reward_input& in) { return in.completion.size(); });
  float scores[2] = {};
  const float total = reward.score({.completion = "<think>a</think><answer>1</answer>"}, scores);
  CHECK(scores[0] == 1.0f);
  CHECK(scores[1] == 34.0f);
  CHECK(total == doctest::Approx(18.0f));
}
