// Advantage estimators on the device: the CPU estimators' options and formulas
// (rlft/advantage/) on a rlft::cuda::device_rollout_batch, writing the advantages into device
// memory (kernels/rlft/advantage.cuh):
//   auto pending = rlft::cuda::launch_advantages(rlft::grpo_advantage{}, batch, advantages, stream);
//   ...                                   // more work on the stream
//   advantage_summary summary = pending.wait();
// or rlft::cuda::estimate_advantages(...) for both at once. Supported: grpo_advantage,
// dr_grpo_advantage, rloo_advantage, opo_advantage, grpo_passk_advantage, gdpo_advantage
// (the batch's reward components are uploaded with it), reinforce_plus_plus_advantage,
// gae_advantage (with or without returns) and process_supervision_advantage; another estimator
// type is a compile-time error.
//
// Options and span lengths are checked on the host before anything is launched, with the CPU's
// messages. Inputs that live on the device (rewards, step marks, per-token values) are checked
// by the kernels, and wait() throws the CPU's error for the first bad one; unlike the CPU, the
// advantages have been written by then. Against the CPU, advantages agree within 2 ulp (double
// statistics summed in another order), zeros of groups with equal rewards exactly.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "rlft/concepts/advantage_estimator.hpp"
#include "rlft/cuda/detail/advantage_dispatch.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"

namespace rlft::cuda {

// An estimator call in flight on its stream.
class pending_advantages {
 public:
  explicit pending_advantages(detail::advantage_launch launch) : launch_(std::move(launch)) {}

  // Waits for the stream (once: the report comes back in one copy). Throws the CPU
  // estimator's error for the first bad input (a non-finite reward, a misplaced step mark, a
  // non-finite token input of a scan, whitening with a single loss token) and returns the
  // summary of the groups otherwise.
  advantage_summary wait() {
    using report = detail::advantage_report;
    const std::vector<std::byte> bytes = launch_.report.download();
    const auto* flag_bytes = reinterpret_cast<const std::uint8_t*>(bytes.data() + report::flags_at);
    const std::vector<std::uint8_t> flags(flag_bytes, flag_bytes + (bytes.size() - report::flags_at));
    kernels::advantage_errors errors = {~0ull, ~0ull};
    if (launch_.marks_errors) std::memcpy(&errors, bytes.data() + report::errors_at, sizeof errors);
    const auto& batch = *launch_.batch;
    const cudaStream_t stream = launch_.stream;
    const auto& shape = batch.shape();
    const bool bad_reward_group =
        std::ranges::any_of(flags, [](std::uint8_t flag) { return (flag & kernels::group_bad_reward) != 0; });
    if (bad_reward_group) {
      for (const auto& [name, scores] : launch_.read_components) {
        const auto host = download(scores, stream);
        for (std::size_t s = 0; s < host.size(); ++s)
          if (!std::isfinite(host[s])) rlft::detail::throw_non_finite_component(name, s, host[s]);
      }
      rlft::detail::check_finite_rewards(download(batch.rewards(), stream), launch_.estimator);
      throw data_error(rlft::detail::make_message(launch_.estimator, ": a reward is not finite"));
    }
    const auto slice = [&](auto values, std::size_t s) {
      return download(values.subspan(shape.sequence_begin(s), shape.sequence_end(s) - shape.sequence_begin(s)),
                      stream);
    };
    if (errors.first_bad_steps != ~0ull) {
      const auto s = static_cast<std::size_t>(errors.first_bad_steps);
      rlft::detail::check_sequence_steps(slice(batch.step_ends(), s), slice(batch.token_rewards(), s),
                                         shape.sequence_begin(s), s, shape.sequence_begin(s),
                                         shape.sequence_begin(s) + shape.prompt_length(s), shape.sequence_end(s),
                                         launch_.estimator);
      throw error(rlft::detail::make_message(launch_.estimator, ": the steps of sequence ", s, " are malformed"));
    }
    if (errors.first_bad_scan != ~0ull) {
      const auto s = static_cast<std::size_t>(errors.first_bad_scan);
      const auto token_rewards = slice(batch.token_rewards(), s), values = slice(batch.values(), s);
      const auto old_logprobs = slice(batch.old_logprobs(), s), ref_logprobs = slice(batch.ref_logprobs(), s);
      const auto mask = slice(batch.loss_mask(), s);
      rlft::detail::throw_non_finite_scan({.first = shape.sequence_begin(s),
                                           .token_rewards = token_rewards,
                                           .values = values,
                                           .old_logprobs = old_logprobs,
                                           .ref_logprobs = ref_logprobs,
                                           .loss_mask = mask},
                                          s, shape.sequence_begin(s) + shape.prompt_length(s),
                                          shape.sequence_end(s), launch_.discounting, launch_.estimator);
    }
    if (launch_.discounting.whiten || launch_.whitens_sequence_sums) {
      kernels::value_moments whitened;
      std::memcpy(&whitened, bytes.data() + report::batch_at, sizeof whitened);
      if (launch_.whitens_sequence_sums) rlft::detail::check_gdpo_whitened_tokens(whitened.count);
      else rlft::detail::check_whitened_tokens(whitened.count, launch_.estimator);
    }
    return rlft::detail::summarize_groups(flags, launch_.equal_rewards);  // no bad-reward bit left
  }

 private:
  detail::advantage_launch launch_;
};

// Enqueues the estimator on `stream`. advantages: device memory for batch.num_tokens() floats.
// Throws rlft::error for invalid options or span lengths before launching anything, and
// rlft::cuda_error when a launch fails. The batch must outlive the returned object.
template <class Estimator>
pending_advantages launch_advantages(const Estimator& estimator, const device_rollout_batch& batch,
                                     std::span<float> advantages, cudaStream_t stream) {
  using dispatch = detail::device_estimator<Estimator>;
  dispatch::check(estimator, batch.num_tokens(), advantages.size());
  detail::advantage_launch launch(batch, stream, Estimator::name, estimator.equal_rewards);
  dispatch::launch(estimator, launch, advantages, {});
  return pending_advantages(std::move(launch));
}

// GAE with the critic's targets (A + V on loss tokens, 0 elsewhere) in `returns`.
inline pending_advantages launch_advantages(const gae_advantage& estimator, const device_rollout_batch& batch,
                                            std::span<float> advantages, std::span<float> returns,
                                            cudaStream_t stream) {
  using dispatch = detail::device_estimator<gae_advantage>;
  rlft::detail::check_token_span(batch.num_tokens(), returns.size(), gae_advantage::name, "returns");
  dispatch::check(estimator, batch.num_tokens(), advantages.size());
  detail::advantage_launch launch(batch, stream, gae_advantage::name, estimator.equal_rewards);
  dispatch::launch(estimator, launch, advantages, returns);
  return pending_advantages(std::move(launch));
}

// launch_advantages(...).wait().
template <class Estimator>
advantage_summary estimate_advantages(const Estimator& estimator, const device_rollout_batch& batch,
                                      std::span<float> advantages, cudaStream_t stream) {
  return launch_advantages(estimator, batch, advantages, stream).wait();
}

inline advantage_summary estimate_advantages(const gae_advantage& estimator, const device_rollout_batch& batch,
                                             std::span<float> advantages, std::span<float> returns,
                                             cudaStream_t stream) {
  return launch_advantages(estimator, batch, advantages, returns, stream).wait();
}

}  // namespace rlft::cuda
