// The fused CUDA AdamW against rlft::adamw: several tensors (one of more than one chunk, an
// empty one), three steps with a changing learning rate (the third with its gradients in other
// buffers, so the kept tensor table must be replaced), the bf16 copies, and the errors.
//
// Tolerance: weights within 8 ulp of the CPU's after three steps, an ulp taken at the larger of
// the weight and 1e-2. The float operations are the same, but fused multiply-adds round
// differently on either side, so each step may differ by a few ulps of its step size
// lr / (1 − β1^t), up to 1e-2 here: many ulps of a weight near zero (measured on an H200: 5).
// The bf16 copies are the device weights rounded to nearest even, bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/cuda/adamw.hpp"
#include "rlft/io/half_precision.hpp"

namespace {

using rlft::testing::error_message;

// |a − b| in units in the last place of max(|b|, floor).
double ulps(float a, float b, float floor) {
  if (a == b) return 0.0;
  const float scale = std::max(std::abs(b), floor);
  return std::abs(double{a} - double{b}) / (std::nextafter(scale, INFINITY) - scale);
}

}  // namespace

TEST_CASE("cuda adamw: option checks are the CPU's") {
  CHECK(error_message([] { rlft::cuda::fused_adamw({.beta1 = 1.0f}); }) ==
        error_message([] { rlft::adamw({.beta1 = 1.0f}); }));
  CHECK(error_message([] { rlft::cuda::fused_adamw({.epsilon = 0.0f}); }) ==
        error_message([] { rlft::adamw({.epsilon = 0.0f}); }));
  // Learning rate, sizes and the bf16 copy are checked before anything touches the device.
  rlft::cuda::fused_adamw optimizer;
  std::vector<float> values(4), gradients(3);
  const rlft::cuda::device_parameter bad_sizes{.name = "w", .values = values, .gradients = gradients};
  CHECK(error_message([&] { optimizer.step({&bad_sizes, 1}, 1e-3f, nullptr); }) ==
        "adamw: parameter 'w' has 4 values and 3 gradients; its moments hold 4");
  CHECK(error_message([&] { optimizer.step({}, -1.0f, nullptr); }).find("learning rate") != std::string::npos);
  std::vector<__nv_bfloat16> copy(3);
  const rlft::cuda::device_parameter bad_copy{.name = "w", .values = values, .gradients = values, .bf16_copy = copy};
  CHECK(error_message([&] { optimizer.step({&bad_copy, 1}, 1e-3f, nullptr); }) ==
        "adamw: parameter 'w' has 4 values but a bf16 copy of 3");
  CHECK(optimizer.steps() == 0);
}

TEST_SUITE("gpu") {
  TEST_CASE("cuda adamw equals rlft::adamw over several tensors and steps, with bf16 copies") {
    const std::size_t sizes[] = {5, 40000, 0, 1023};
    rlft::philox_stream random(3, 0);
    std::vector<std::vector<float>> values, gradients;
    for (const std::size_t size : sizes) {
      values.emplace_back(size);
      gradients.emplace_back(size);
      for (auto& v : values.back()) v = random.uniform() - 0.5f;
    }
    const rlft::adamw_options options{.beta1 = 0.9f, .beta2 = 0.95f, .epsilon = 1e-8f, .weight_decay = 0.1f};
    rlft::adamw cpu(options);
    rlft::cuda::fused_adamw device(options);
    using rlft::cuda::device_buffer;
    std::vector<device_buffer<float>> d_values, d_gradients, d_other_gradients;
    std::vector<device_buffer<__nv_bfloat16>> d_copies;
    for (std::size_t i = 0; i < values.size(); ++i) {
      d_values.emplace_back(values[i], nullptr);
      d_gradients.emplace_back(values[i].size(), nullptr);
      d_other_gradients.emplace_back(values[i].size(), nullptr);
      d_copies.emplace_back(i == 1 ? 0 : values[i].size(), nullptr);
    }
    for (const float learning_rate : {1e-3f, 5e-4f, 2e-3f}) {
      auto& step_gradients = learning_rate == 2e-3f ? d_other_gradients : d_gradients;
      std::vector<rlft::parameter_ref> cpu_parameters;
      std::vector<rlft::cuda::device_parameter> device_parameters;
      for (std::size_t i = 0; i < values.size(); ++i) {
        for (auto& g : gradients[i]) g = 0.1f * (random.uniform() - 0.5f);
        step_gradients[i].upload(gradients[i]);
        cpu_parameters.push_back({.name = "p", .values = values[i], .gradients = gradients[i]});
        device_parameters.push_back({.name = "p", .values = d_values[i].span(), .gradients = step_gradients[i].span(),
                                     .bf16_copy = d_copies[i].span()});
      }
      cpu.step(cpu_parameters, learning_rate);
      device.step(device_parameters, learning_rate, nullptr);
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto weights = d_values[i].download();
      double worst = 0.0;
      for (std::size_t j = 0; j < weights.size(); ++j) worst = std::max(worst, ulps(weights[j], values[i][j], 1e-2f));
      CHECK(worst <= 8.0);
      if (i == 1) continue;
      const auto copies = d_copies[i].download();
      std::size_t wrong = 0;
      for (std::size_t j = 0; j < copies.size(); ++j) {
        const __nv_bfloat16_raw raw = copies[j];
        wrong += raw.x != rlft::io::float_to_bfloat16(weights[j]);
      }
      CHECK(wrong == 0);
    }
    CHECK(device.steps() == 3);
  }

  TEST_CASE("cuda adamw rejects changed parameter lists as rlft::adamw does") {
    rlft::cuda::device_buffer<float> a(8, nullptr), b(8, nullptr);
    a.clear();
    b.clear();
    rlft::cuda::fused_adamw optimizer;
    const rlft::cuda::device_parameter one{.name = "a", .values = a.span(), .gradients = b.span()};
    const rlft::cuda::device_parameter two{.name = "b", .values = b.span(), .gradients = a.span()};
    const rlft::cuda::device_parameter both[] = {one, two};
    optimizer.step({&one, 1}, 1e-3f, nullptr);
    CHECK(error_message([&] { optimizer.step(both, 1e-3f, nullptr); }) == "adamw: parameter 'b' appeared after the first step");
    CHECK(error_message([&] { optimizer.step({}, 1e-3f, nullptr); }) ==
          "adamw: 0 parameters given, but the optimizer tracks 1");
  }
}
