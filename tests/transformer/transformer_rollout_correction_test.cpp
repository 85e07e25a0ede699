// GRPO with a rollout correction on the reference transformer's own rollouts: its sampling
// log-probs are the training forward's bit for bit, so every importance ratio is exactly 1 and
// the corrected steps equal the uncorrected ones bit for bit (losses, gradient norms, weights).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "golden_fixture.hpp"
#include "rlft/advantage/grpo_advantage.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/sampling/temperature.hpp"
#include "rlft/train/grpo_trainer.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;

namespace {

// Two prompts, alternating; reference "1".
struct two_prompts {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      batch.prompts.push_back(drawn % 2 ? std::vector<rlft::token_id>{1, 5, 9} : std::vector<rlft::token_id>{7, 3});
      batch.references.push_back("1");
    }
    return batch;
  }
};

// A token as one character: reward 1 when a completion holds a token below 40.
struct char_decoder {
  std::string operator()(std::span<const rlft::token_id> tokens) const {
    std::string text;
    for (const rlft::token_id t : tokens) text += t < 40 ? '1' : '0';
    return text;
  }
};

auto make_trainer(transformer& model, rlft::rollout_correction correction) {
  const auto holds_one = [](const rlft::reward_input& in) {
    return in.completion.find('1') != std::string_view::npos ? 1.0f : 0.0f;
  };
  return rlft::grpo_trainer(model, rlft::temperature{1.0f}, holds_one, char_decoder{}, rlft::grpo_advantage{},
                            rlft::clipped_surrogate_objective{.kl = {.coefficient = 0.04}},
                            rlft::grpo_options{.prompts_per_step = 2, .group_size = 4, .max_new_tokens = 6,
                                               .rollout_correction = correction, .seed = 3},
                            rlft::policy_update_options{.schedule = {.peak_learning_rate = 1e-2f,
                                                                     .final_learning_rate = 1e-2f}});
}

}  // namespace

TEST_CASE("a rollout correction leaves GRPO on the transformer's own rollouts unchanged, bit for bit") {
  auto plain_model = transformer::from_pretrained(rlft_test::golden_directory("qwen2"));
  auto corrected_model = plain_model;
  auto plain = make_trainer(plain_model, {});
  auto corrected = make_trainer(corrected_model, {.truncate = {{.level = rlft::ratio_level::token, .cap = 2.0}},
                                                  .mask = {{.level = rlft::ratio_level::geometric, .low = 0.5, .high = 2.0}}});
  two_prompts plain_prompts, corrected_prompts;
  for (int step = 0; step < 3; ++step) {
    CAPTURE(step);
    const auto a = plain.step(plain_prompts), b = corrected.step(corrected_prompts);
    REQUIRE(a.applied);
    REQUIRE(b.applied);
    CHECK(b.loss == a.loss);
    CHECK(b.gradient_norm == a.gradient_norm);
    CHECK(b.rollout_correction.tokens == a.objective.tokens);
    CHECK(b.rollout_correction.ratio_mean == 1.0);
    CHECK(b.rollout_correction.mismatch_kl == 0.0);
    CHECK(b.rollout_correction.masked_share == 0.0);
    CHECK(b.rollout_correction.truncated_share == 0.0);
  }
  const auto a = plain_model.parameters(), b = corrected_model.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t p = 0; p < a.size(); ++p) CHECK(std::ranges::equal(a[p].values, b[p].values));
}
