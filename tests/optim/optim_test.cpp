// AdamW, the warm-up + cosine schedule and global-norm clipping: hand-computed values, then
// eight steps of all three together against torch.optim.AdamW,
// transformers.get_cosine_schedule_with_warmup and torch.nn.utils.clip_grad_norm_
// (tests/optim/golden/adamw_torch.json, from tools/make_golden_optim.py).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/optim/adamw.hpp"
#include "rlft/optim/clip_gradient_norm.hpp"
#include "rlft/optim/learning_rate_schedule.hpp"

TEST_CASE("warm-up + cosine schedule: hand-computed values") {
  const rlft::warmup_cosine_schedule schedule{.peak_learning_rate = 1.0f, .final_learning_rate = 0.0f,
                                              .warmup_steps = 2, .total_steps = 6};
  CHECK(schedule(0) == 0.0f);
  CHECK(schedule(1) == 0.5f);
  CHECK(schedule(2) == 1.0f);
  CHECK(schedule(3) == doctest::Approx(0.5 * (1 + std::cos(M_PI / 4))));  // 0.853553
  CHECK(schedule(4) == doctest::Approx(0.5));
  CHECK(schedule(5) == doctest::Approx(0.146447).epsilon(1e-5));
  CHECK(schedule(6) == 0.0f);
  CHECK(schedule(100) == 0.0f);
  const rlft::warmup_cosine_schedule floored{.peak_learning_rate = 1.0f, .final_learning_rate = 0.1f,
                                             .warmup_steps = 0, .total_steps = 2};
  CHECK(floored(0) == 1.0f);
  CHECK(floored(1) == doctest::Approx(0.55));
  CHECK(floored(7) == 0.1f);
  CHECK_THROWS_AS((rlft::warmup_cosine_schedule{.warmup_steps = 5, .total_steps = 4}(0)), rlft::error);
  CHECK_THROWS_AS((rlft::warmup_cosine_schedule{.peak_learning_rate = 0.1f, .final_learning_rate = 0.2f}(0)), rlft::error);
}

TEST_CASE("global-norm clipping: hand-computed values") {
  std::vector<float> a{3.0f}, b{0.0f, 4.0f}, va(1), vb(2);
  std::vector<rlft::parameter_ref> parameters{{"a", va, a}, {"b", vb, b}};
  CHECK(rlft::clip_gradient_norm(parameters, 10.0) == doctest::Approx(5.0));
  CHECK(a[0] == 3.0f);  // under the limit: untouched
  CHECK(rlft::clip_gradient_norm(parameters, 1.0) == doctest::Approx(5.0));
  CHECK(a[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(b[1] == doctest::Approx(0.8).epsilon(1e-6));
  CHECK_THROWS_AS(rlft::clip_gradient_norm(parameters, 0.0), rlft::error);
  b[0] = std::nanf("");
  CHECK_THROWS_WITH_AS(rlft::clip_gradient_norm(parameters, 1.0), doctest::Contains("'b'"), rlft::error);
}

TEST_CASE("AdamW: the first step moves every weight by the learning rate against its gradient's sign") {
  // Step 1: m̂ = g, v̂ = g², so the update is η·g/(|g| + ε) ≈ η·sign(g), after decay θ(1 − ηλ).
  std::vector<float> values{1.0f, -2.0f, 0.5f}, gradients{0.5f, -3.0f, 0.0f};
  std::vector<rlft::parameter_ref> parameters{{"w", values, gradients}};
  rlft::adamw optimizer({.beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-8f, .weight_decay = 0.01f});
  optimizer.step(parameters, 0.1f);
  CHECK(values[0] == doctest::Approx(1.0 * 0.999 - 0.1).epsilon(1e-6));
  CHECK(values[1] == doctest::Approx(-2.0 * 0.999 + 0.1).epsilon(1e-6));
  CHECK(values[2] == doctest::Approx(0.5 * 0.999).epsilon(1e-6));  // zero gradient: decay only
  // Step 2 with the same gradient: m̂ = g and v̂ = g² again, so the same move.
  optimizer.step(parameters, 0.1f);
  CHECK(values[0] == doctest::Approx((1.0 * 0.999 - 0.1) * 0.999 - 0.1).epsilon(1e-6));

  std::vector<float> other(2), other_gradients(2);
  std::vector<rlft::parameter_ref> wrong{{"w", other, other_gradients}};
  CHECK_THROWS_AS(optimizer.step(wrong, 0.1f), rlft::error);
  CHECK_THROWS_AS(optimizer.step(parameters, -1.0f), rlft::error);
  CHECK_THROWS_AS(rlft::adamw({.beta1 = 1.0f}), rlft::error);
}

TEST_CASE("AdamW + schedule + clipping match PyTorch for eight steps") {
  std::ifstream file(std::string(RLFT_OPTIM_GOLDEN_DIR) + "/adamw_torch.json");
  const auto golden = nlohmann::json::parse(file);
  const auto names = golden["names"].get<std::vector<std::string>>();
  std::map<std::string, std::vector<float>> values, gradients;
  for (const auto& name : names) {
    values[name] = golden["initial"][name].get<std::vector<float>>();
    gradients[name].resize(values[name].size());
  }
  std::vector<rlft::parameter_ref> parameters;
  for (const auto& name : names) parameters.push_back({name, values[name], gradients[name]});

  const rlft::warmup_cosine_schedule schedule{.peak_learning_rate = golden["peak_learning_rate"].get<float>(),
                                              .final_learning_rate = 0.0f,
                                              .warmup_steps = golden["warmup_steps"].get<std::size_t>(),
                                              .total_steps = golden["total_steps"].get<std::size_t>()};
  rlft::adamw optimizer({.beta1 = golden["betas"][0].get<float>(), .beta2 = golden["betas"][1].get<float>(),
                         .epsilon = golden["epsilon"].get<float>(), .weight_decay = golden["weight_decay"].get<float>()});
  std::size_t step = 0;
  for (const auto& expected : golden["steps"]) {
    CAPTURE(step);
    for (const auto& name : names) gradients[name] = expected["gradients"][name].get<std::vector<float>>();
    for (auto& parameter : parameters) parameter.gradients = gradients[std::string(parameter.name)];
    const double norm = rlft::clip_gradient_norm(parameters, golden["max_norm"].get<double>());
    CHECK(norm == doctest::Approx(expected["norm"].get<double>()).epsilon(1e-6));
    const float learning_rate = schedule(step);
    CHECK(learning_rate == doctest::Approx(expected["learning_rate"].get<double>()).epsilon(1e-6));
    optimizer.step(parameters, learning_rate);
    for (const auto& name : names) {
      const auto want = expected["values"][name].get<std::vector<float>>();
      for (std::size_t i = 0; i < want.size(); ++i) CHECK(values[name][i] == doctest::Approx(want[i]).epsilon(1e-6));
    }
    ++step;
  }
}
