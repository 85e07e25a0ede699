// The peer presets against the peers' own numbers (tests/presets/golden/peers.json, from
// tools/make_golden_peers.py): TRL's GRPOTrainer._compute_loss, verl's advantage estimators and
// policy losses, and OpenRLHF's REINFORCE++ advantages and PolicyLoss on float32 batches. Each case checks the advantages, the loss and
// dL/d(log-prob) of every loss token.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/rollout_batch.hpp"
#include "rlft/presets/openrlhf.hpp"
#include "rlft/presets/trl.hpp"
#include "rlft/presets/verl.hpp"

namespace {

using nlohmann::json;
using matrix = std::vector<std::vector<float>>;

const json& peers() {
  static const json fixture = [] {
    std::ifstream file(std::string(RLFT_PRESETS_GOLDEN_DIR) + "/peers.json");
    REQUIRE(file.good());
    return json::parse(file);
  }();
  return fixture;
}

// A peer's padded batch (rows of the mask, rewards, log-probs) as an rlft batch of its first
// `count` rows: a one-token prompt, then the completion up to its last loss token.
struct golden_batch {
  rlft::rollout_batch batch;
  std::vector<float> logprobs;  // per token of the batch
  std::vector<std::size_t> completion_begin;
  matrix mask;
};

std::size_t last_loss_token(const std::vector<float>& row) {
  std::size_t last = 0;
  for (std::size_t t = 0; t < row.size(); ++t)
    if (row[t] != 0.0f) last = t;
  return last;
}

golden_batch make_golden_batch(const json& padded, std::size_t count) {
  const auto mask = padded["mask"].get<matrix>();
  const auto logprobs = padded["logprobs"].get<matrix>(), old = padded["old_logprobs"].get<matrix>(),
             ref = padded["ref_logprobs"].get<matrix>();
  const auto rewards = padded["rewards"].get<std::vector<float>>();
  const auto values = padded.contains("values") ? padded["values"].get<matrix>() : matrix(mask.size());
  std::vector<std::int64_t> group_offsets{0};
  for (const auto size : padded["group_sizes"].get<std::vector<std::int64_t>>())
    if (group_offsets.back() + size <= static_cast<std::int64_t>(count)) group_offsets.push_back(group_offsets.back() + size);
  REQUIRE(group_offsets.back() == static_cast<std::int64_t>(count));
  rlft::token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (std::size_t i = 0; i < count; ++i) {
    sequences.push_back(std::vector<rlft::token_id>(last_loss_token(mask[i]) + 2, 5));
    prompt_lengths.push_back(1);
  }
  golden_batch golden{rlft::rollout_batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets)),
                      {}, {}, mask};
  auto& batch = golden.batch;
  golden.logprobs.assign(batch.num_tokens(), 0.0f);
  for (std::size_t i = 0; i < count; ++i) {
    batch.rewards().total()[i] = rewards[i];
    const std::size_t begin = batch.sequence_begin(i) + 1;
    golden.completion_begin.push_back(begin);
    for (std::size_t t = 0; begin + t < batch.sequence_end(i); ++t) {
      batch.loss_mask()[begin + t] = mask[i][t] != 0.0f;
      golden.logprobs[begin + t] = logprobs[i][t];
      batch.old_logprobs()[begin + t] = old[i][t];
      batch.ref_logprobs()[begin + t] = ref[i][t];
      if (!values[i].empty()) batch.values()[begin + t] = values[i][t];
    }
    batch.loss_mask()[begin - 1] = 0;
  }
  return golden;
}

// |actual − expected| within float precision of the expected value, with a floor at the scale
// of the case (a sum of float terms loses digits to the largest of them).
void check_close(double actual, double expected, double scale, const std::string& what) {
  const double allowed = 2e-5 * std::abs(expected) + 1e-6 * scale;
  if (!(std::abs(actual - expected) <= allowed))
    FAIL_CHECK(what << ": rlft " << actual << ", peer " << expected << " (tolerance " << allowed << ")");
}

double largest_magnitude(const matrix& rows) {
  double largest = 0.0;
  for (const auto& row : rows)
    for (const float value : row) largest = std::max(largest, static_cast<double>(std::abs(value)));
  return largest;
}

// Runs the objective on the batch with the peer's advantages (per sequence, or per token) and
// compares the loss and every loss token's gradient.
template <class Objective>
void check_loss(const Objective& objective, golden_batch& golden, const json& advantages, const json& golden_case) {
  auto& batch = golden.batch;
  for (std::size_t i = 0; i < batch.num_sequences(); ++i)
    for (std::size_t t = golden.completion_begin[i]; t < batch.sequence_end(i); ++t)
      batch.advantages()[t] = advantages[i].is_array() ? advantages[i][t - golden.completion_begin[i]].get<float>()
                                                       : advantages[i].get<float>();
  std::vector<float> gradients(batch.num_tokens());
  const auto result = objective({.batch = batch, .sequence_count = batch.num_sequences(), .logprobs = golden.logprobs},
                                {.logprob_gradients = gradients});
  const auto expected = golden_case["gradient"].get<matrix>();
  const double scale = largest_magnitude(expected);
  check_close(result.loss, golden_case["loss"].get<double>(), std::abs(golden_case["loss"].get<double>()), "loss");
  for (std::size_t i = 0; i < batch.num_sequences(); ++i)
    for (std::size_t t = golden.completion_begin[i]; t < batch.sequence_end(i); ++t)
      if (batch.loss_mask()[t])
        check_close(gradients[t], expected[i][t - golden.completion_begin[i]], scale,
                    "dL/dlogprob of sequence " + std::to_string(i) + " token " + std::to_string(t - golden.completion_begin[i]));
}

template <class Estimator>
void check_advantages(const Estimator& estimator, golden_batch& golden, const json& expected) {
  auto& batch = golden.batch;
  std::vector<float> advantages(batch.num_tokens());
  estimator(batch, advantages);
  for (std::size_t i = 0; i < batch.num_sequences(); ++i)
    for (std::size_t t = golden.completion_begin[i]; t < batch.sequence_end(i); ++t)
      if (batch.loss_mask()[t]) {
        const float peer = expected[i].is_array() ? expected[i][t - golden.completion_begin[i]].get<float>()
                                                  : expected[i].get<float>();
        check_close(advantages[t], peer, 1.0, "advantage of sequence " + std::to_string(i));
      }
}

// ---- TRL ----

rlft::presets::trl_grpo_config trl_config(const json& options) {
  const auto scale = options["scale_rewards"].get<std::string>();
  rlft::presets::trl_grpo_config config{
      .beta = options["beta"].get<double>(),
      .epsilon = options["epsilon"].get<double>(),
      .scale_rewards = scale == "group"   ? rlft::presets::trl_scale_rewards::group
                       : scale == "batch" ? rlft::presets::trl_scale_rewards::batch
                                          : rlft::presets::trl_scale_rewards::none,
      .use_bias_correction_kl = options["use_bias_correction_kl"].get<bool>(),
      .sapo_temperature_pos = options["sapo_temperature_pos"].get<double>(),
      .sapo_temperature_neg = options["sapo_temperature_neg"].get<double>(),
      .max_completion_length = options["max_completion_length"].get<std::size_t>()};
  if (!options["epsilon_high"].is_null()) config.epsilon_high = options["epsilon_high"].get<double>();
  if (!options["delta"].is_null()) config.delta = options["delta"].get<double>();
  return config;
}

template <class Preset>
void check_trl_case(const Preset& preset, const json& golden_case) {
  auto golden = make_golden_batch(peers()["trl"]["batch"], golden_case["advantages"].size());
  check_advantages(preset.estimator, golden, golden_case["advantages"]);
  check_loss(preset.objective, golden, golden_case["advantages"], golden_case);
}

}  // namespace

TEST_CASE("TRL presets reproduce GRPOTrainer's advantages, loss and gradient") {
  using rlft::presets::trl_grpo;
  using rlft::presets::trl_loss_type;
  std::size_t cases = 0;
  for (const auto& golden_case : peers()["trl"]["cases"]) {
    CAPTURE(golden_case["name"].get<std::string>());
    const auto config = trl_config(golden_case["options"]);
    const auto loss = golden_case["loss_type"].get<std::string>();
    const bool sequence = golden_case["options"]["importance_sampling_level"] == "sequence";
    if (sequence) {
      REQUIRE(loss == "grpo");
      check_trl_case(trl_grpo<trl_loss_type::grpo, rlft::presets::trl_importance_sampling_level::sequence>(config),
                     golden_case);
    } else if (loss == "grpo") {
      check_trl_case(trl_grpo<trl_loss_type::grpo>(config), golden_case);
    } else if (loss == "bnpo") {
      check_trl_case(trl_grpo<trl_loss_type::bnpo>(config), golden_case);
    } else if (loss == "dr_grpo") {
      check_trl_case(trl_grpo<trl_loss_type::dr_grpo>(config), golden_case);
    } else if (loss == "dapo") {
      check_trl_case(trl_grpo<trl_loss_type::dapo>(config), golden_case);
    } else if (loss == "cispo") {
      check_trl_case(trl_grpo<trl_loss_type::cispo>(config), golden_case);
    } else {
      REQUIRE(loss == "sapo");
      check_trl_case(trl_grpo<trl_loss_type::sapo>(config), golden_case);
    }
    ++cases;
  }
  CHECK(cases == 18);
}

TEST_CASE("TRL presets refuse what rlft does not reproduce") {
  using rlft::presets::trl_loss_type;
  CHECK_THROWS_WITH_AS(rlft::presets::trl_grpo<trl_loss_type::cispo>({.epsilon_high = 0.28}),
                       doctest::Contains("caps the importance weight below 1"), rlft::error);
  CHECK_THROWS_WITH_AS((rlft::presets::trl_grpo<trl_loss_type::grpo, rlft::presets::trl_importance_sampling_level::sequence>(
                           {.beta = 0.04})),
                       doctest::Contains("use_bias_correction_kl"), rlft::error);
}

namespace {

// ---- verl ----

rlft::presets::verl_actor_config verl_actor(const json& actor, std::size_t response_length) {
  using rlft::presets::verl_kl_loss_type;
  using rlft::presets::verl_loss_agg_mode;
  const auto mode = actor["loss_agg_mode"].get<std::string>();
  const auto kl = actor["kl_loss_type"].get<std::string>();
  rlft::presets::verl_actor_config config{
      .clip_ratio_low = actor["clip_ratio_low"].get<double>(),
      .clip_ratio_high = actor["clip_ratio_high"].get<double>(),
      .clip_ratio_c = actor["clip_ratio_c"].get<double>(),
      .loss_agg_mode = mode == "token-mean"            ? verl_loss_agg_mode::token_mean
                       : mode == "token-sum"           ? verl_loss_agg_mode::token_sum
                       : mode == "seq-mean-token-mean" ? verl_loss_agg_mode::seq_mean_token_mean
                       : mode == "seq-mean-token-sum"  ? verl_loss_agg_mode::seq_mean_token_sum
                                                       : verl_loss_agg_mode::seq_mean_token_sum_norm,
      .response_length = response_length,
      .use_kl_loss = actor["use_kl_loss"].get<bool>(),
      .kl_loss_coef = actor["kl_loss_coef"].get<double>(),
      .kl_loss_type = kl == "kl"    ? verl_kl_loss_type::kl
                      : kl == "abs" ? verl_kl_loss_type::abs
                      : kl == "mse" ? verl_kl_loss_type::mse
                      : kl == "k3+" ? verl_kl_loss_type::k3_plus
                                    : verl_kl_loss_type::low_var_kl,
      .tau_pos = actor["tau_pos"].get<double>(),
      .tau_neg = actor["tau_neg"].get<double>()};
  if (!actor["loss_scale_factor"].is_null()) config.loss_scale_factor = actor["loss_scale_factor"].get<double>();
  return config;
}

rlft::presets::verl_algorithm_config verl_algorithm(const json& golden_case, rlft::rollout_batch& batch) {
  rlft::presets::verl_algorithm_config algorithm{
      .gamma = golden_case["algorithm"]["gamma"].get<double>(),
      .lam = golden_case["algorithm"]["lam"].get<double>(),
      .norm_adv_by_std_in_grpo = golden_case["algorithm"]["norm_adv_by_std_in_grpo"].get<bool>()};
  if (golden_case["components"].is_null()) return algorithm;
  const auto weights = golden_case["components"]["weights"].get<std::vector<double>>();
  const auto values = golden_case["components"]["values"].get<matrix>();
  for (std::size_t k = 0; k < values.size(); ++k) {
    const std::string name = "component_" + std::to_string(k);
    batch.rewards().add_component(name);
    for (std::size_t i = 0; i < batch.num_sequences(); ++i) batch.rewards().component(name)[i] = values[k][i];
    algorithm.gdpo_reward_components.push_back({name, weights[k]});
  }
  return algorithm;
}

}  // namespace

TEST_CASE("verl presets reproduce its advantage estimators") {
  using rlft::presets::verl_adv_estimator;
  using rlft::presets::verl_advantage;
  std::size_t cases = 0;
  for (const auto& golden_case : peers()["verl"]["estimators"]) {
    CAPTURE(golden_case["name"].get<std::string>());
    auto golden = make_golden_batch(peers()["verl"]["batch"], golden_case["sequences"].get<std::size_t>());
    const auto algorithm = verl_algorithm(golden_case, golden.batch);
    const auto estimator = golden_case["estimator"].get<std::string>();
    const auto& expected = golden_case["advantages"];
    if (estimator == "grpo")
      check_advantages(verl_advantage<verl_adv_estimator::grpo>(algorithm), golden, expected);
    else if (estimator == "rloo")
      check_advantages(verl_advantage<verl_adv_estimator::rloo>(algorithm), golden, expected);
    else if (estimator == "opo")
      check_advantages(verl_advantage<verl_adv_estimator::opo>(algorithm), golden, expected);
    else if (estimator == "grpo_passk")
      check_advantages(verl_advantage<verl_adv_estimator::grpo_passk>(algorithm), golden, expected);
    else if (estimator == "reinforce_plus_plus")
      check_advantages(verl_advantage<verl_adv_estimator::reinforce_plus_plus>(algorithm), golden, expected);
    else if (estimator == "gae")
      check_advantages(verl_advantage<verl_adv_estimator::gae>(algorithm), golden, expected);
    else {
      REQUIRE(estimator == "gdpo");
      check_advantages(verl_advantage<verl_adv_estimator::gdpo>(algorithm), golden, expected);
    }
    ++cases;
  }
  CHECK(cases == 9);
}

TEST_CASE("verl presets reproduce its policy losses with the KL loss") {
  using rlft::presets::verl_loss_mode;
  using rlft::presets::verl_objective;
  const auto& verl = peers()["verl"];
  const auto& advantages = verl["loss_advantages"];
  const std::size_t width = verl["batch"]["mask"][0].size();
  std::size_t cases = 0;
  for (const auto& golden_case : verl["losses"]) {
    CAPTURE(golden_case["name"].get<std::string>());
    auto golden = make_golden_batch(verl["batch"], advantages.size());
    const auto actor = verl_actor(golden_case["actor"], width);
    const auto mode = golden_case["actor"]["loss_mode"].get<std::string>();
    if (mode == "vanilla")
      check_loss(verl_objective<verl_loss_mode::vanilla>(actor), golden, advantages, golden_case);
    else if (mode == "gspo")
      check_loss(verl_objective<verl_loss_mode::gspo>(actor), golden, advantages, golden_case);
    else if (mode == "sapo")
      check_loss(verl_objective<verl_loss_mode::sapo>(actor), golden, advantages, golden_case);
    else if (mode == "geo_mean")
      check_loss(verl_objective<verl_loss_mode::geo_mean>(actor), golden, advantages, golden_case);
    else {
      REQUIRE(mode == "cispo");
      check_loss(verl_objective<verl_loss_mode::cispo>(actor), golden, advantages, golden_case);
    }
    ++cases;
  }
  CHECK(cases == 21);
}

TEST_CASE("verl presets: the DAPO recipe and the options rlft refuses") {
  const auto dapo = rlft::presets::verl_dapo();
  CHECK(dapo.objective.clip.epsilon_high == 0.28);
  CHECK(dapo.objective.clip.dual_clip == 10.0);
  CHECK(dapo.objective.aggregation == rlft::loss_aggregation::token_mean);
  CHECK(dapo.objective.kl.coefficient == 0.0);
  CHECK(dapo.estimator.equal_rewards == rlft::equal_reward_policy::drop);
  CHECK_THROWS_WITH_AS(rlft::presets::verl_objective<rlft::presets::verl_loss_mode::vanilla>(
                           {.loss_agg_mode = rlft::presets::verl_loss_agg_mode::seq_mean_token_sum_norm}),
                       doctest::Contains("response_length"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::presets::verl_advantage<rlft::presets::verl_adv_estimator::gdpo>(
                           {.norm_adv_by_std_in_grpo = false}),
                       doctest::Contains("norm_adv_by_std_in_grpo"), rlft::error);
}

TEST_CASE("the OpenRLHF preset reproduces its REINFORCE++ advantages and PolicyLoss") {
  using rlft::presets::openrlhf_config;
  const auto& openrlhf = peers()["openrlhf"];
  std::size_t cases = 0;
  for (const auto& golden_case : openrlhf["estimators"]) {
    CAPTURE(golden_case["name"].get<std::string>());
    const auto& options = golden_case["options"];
    const auto kl = options["kl_estimator"].get<std::string>();
    const openrlhf_config config{
        .estimator = options["estimator"] == "reinforce" ? rlft::presets::openrlhf_estimator::reinforce
                                                         : rlft::presets::openrlhf_estimator::reinforce_baseline,
        .gamma = options["gamma"].get<double>(),
        .kl_init_coef = options["init_coef"].get<double>(),
        .kl_estimator = kl == "k1"   ? rlft::presets::openrlhf_kl_estimator::k1
                        : kl == "k2" ? rlft::presets::openrlhf_kl_estimator::k2
                                     : rlft::presets::openrlhf_kl_estimator::k3};
    auto golden = make_golden_batch(openrlhf["batch"], golden_case["advantages"].size());
    check_advantages(rlft::presets::openrlhf_reinforce_pp(config).estimator, golden, golden_case["advantages"]);
    ++cases;
  }
  for (const auto& golden_case : openrlhf["losses"]) {
    CAPTURE(golden_case["name"].get<std::string>());
    const auto& options = golden_case["options"];
    openrlhf_config config{.eps_clip_low_high = std::pair{options["eps_clip_low_high"][0].get<double>(),
                                                          options["eps_clip_low_high"][1].get<double>()},
                           .loss_agg_mode = options["loss_agg_mode"] == "token-mean"
                                                ? rlft::presets::openrlhf_loss_agg_mode::token_mean
                                                : rlft::presets::openrlhf_loss_agg_mode::seq_mean_token_mean};
    if (!options["dual_clip"].is_null()) config.dual_clip = options["dual_clip"].get<double>();
    auto golden = make_golden_batch(openrlhf["batch"], openrlhf["loss_advantages"].size());
    check_loss(rlft::presets::openrlhf_reinforce_pp(config).objective, golden, openrlhf["loss_advantages"], golden_case);
    ++cases;
  }
  CHECK(cases == 6);
}
