// Must not compile: each CUDA facade meets a type it has no specialisation for, and says so.
#include <cstdint>
#include <span>

#include <rlft/cuda/advantage.hpp>
#include <rlft/cuda/lm_head.hpp>
#include <rlft/cuda/objective.hpp>
#include <rlft/cuda/sampling.hpp>

struct my_objective {
  rlft::objective_result operator()(const rlft::objective_input&, const rlft::objective_output&) const { return {}; }
};

struct my_estimator {
  rlft::equal_reward_policy equal_rewards = rlft::equal_reward_policy::keep;
  rlft::advantage_summary operator()(const rlft::rollout_batch&, std::span<float>) const { return {}; }
};

struct my_stage {
  void apply(rlft::candidate_logits&, std::span<const rlft::token_id>) const {}
};

void objective(const rlft::cuda::device_objective_input& in, const rlft::cuda::device_objective_output& out) {
  rlft::cuda::evaluate_objective(my_objective{}, in, out, nullptr);
}

void estimator(const rlft::cuda::device_rollout_batch& batch, std::span<float> advantages) {
  rlft::cuda::estimate_advantages(my_estimator{}, batch, advantages, nullptr);
}

void sampler(std::span<const float> logits, std::span<const rlft::sampling_key> keys, std::span<rlft::sampled_token> out) {
  rlft::cuda::sample_rows(rlft::temperature{0.7f} | my_stage{}, logits, 10, {}, keys, 1, out, nullptr);
}

void lm_head() { rlft::cuda::fused_lm_head<float> head(nullptr); }

int main() {}
