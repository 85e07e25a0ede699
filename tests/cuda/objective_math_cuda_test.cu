// The per-token formulas of the objectives are RLFT_HOST_DEVICE templates: a kernel calls the
// same clipped surrogate, importance ratio and KL estimators as the CPU loop, and its results
// agree with the CPU's scalar float evaluation (up to the device expf's last bits).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include "rlft/core/philox.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/objective/clipped_surrogate_objective.hpp"
#include "rlft/objective/kl_estimator.hpp"

namespace {

struct token_inputs {
  float logprob, old_logprob, ref_logprob, advantage;
};

// loss and d loss / d log-prob of one token: dual-clipped surrogate + 0.1·k3.
RLFT_HOST_DEVICE inline void token_loss(const rlft::detail::token_clipped_surrogate<float>& policy,
                                        const token_inputs& in, float* loss, float* derivative) {
  const auto term = policy.token({}, in.logprob, in.old_logprob, in.advantage);
  const auto kl = rlft::estimate_kl<rlft::kl_estimator::k3>(in.logprob, in.ref_logprob, 20.0f, INFINITY);
  *loss = term.loss + 0.1f * kl.value;
  *derivative = term.derivative + 0.1f * kl.derivative;
}

__global__ void token_loss_kernel(rlft::detail::token_clipped_surrogate<float> policy, const token_inputs* in,
                                  float* loss, float* derivative, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) token_loss(policy, in[i], loss + i, derivative + i);
}

rlft::detail::token_clipped_surrogate<float> dual_clipped() {
  return {rlft::ratio_bounds<float>({.epsilon_low = 0.2, .epsilon_high = 0.28, .dual_clip = 3.0}), 20.0f};
}

std::vector<token_inputs> random_tokens(int n) {
  rlft::philox_stream random(7, 0);
  std::vector<token_inputs> tokens(static_cast<std::size_t>(n));
  for (auto& t : tokens) {
    t.old_logprob = -3.0f * random.uniform();
    t.logprob = t.old_logprob + 3.0f * (random.uniform() - 0.5f);
    t.ref_logprob = t.logprob + (random.uniform() - 0.5f);
    t.advantage = 4.0f * (random.uniform() - 0.5f);
  }
  return tokens;
}

}  // namespace

TEST_CASE("the per-token objective math evaluates on the host through the device-callable functions") {
  const auto tokens = random_tokens(64);
  for (const auto& t : tokens) {
    float loss = 0.0f, derivative = 0.0f;
    token_loss(dual_clipped(), t, &loss, &derivative);
    CHECK(std::isfinite(loss));
    CHECK(std::isfinite(derivative));
  }
}

TEST_SUITE("gpu") {
  TEST_CASE("the device's per-token loss and gradient equal the CPU's") {
    const int n = 4096;
    const auto tokens = random_tokens(n);
    const thrust::device_vector<token_inputs> device_tokens(tokens.begin(), tokens.end());
    thrust::device_vector<float> loss(n), derivative(n);
    token_loss_kernel<<<(n + 255) / 256, 256>>>(dual_clipped(), thrust::raw_pointer_cast(device_tokens.data()),
                                                 thrust::raw_pointer_cast(loss.data()),
                                                 thrust::raw_pointer_cast(derivative.data()), n);
    RLFT_CUDA_CHECK(cudaGetLastError());
    RLFT_CUDA_CHECK(cudaDeviceSynchronize());
    const thrust::host_vector<float> device_loss = loss, device_derivative = derivative;
    for (int i = 0; i < n; ++i) {
      float host_loss = 0.0f, host_derivative = 0.0f;
      token_loss(dual_clipped(), tokens[static_cast<std::size_t>(i)], &host_loss, &host_derivative);
      CHECK(device_loss[static_cast<std::size_t>(i)] == doctest::Approx(host_loss).epsilon(1e-5));
      CHECK(device_derivative[static_cast<std::size_t>(i)] == doctest::Approx(host_derivative).epsilon(1e-5));
    }
  }
}
