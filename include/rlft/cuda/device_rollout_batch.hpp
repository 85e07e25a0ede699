// A rollout batch on the device: the same padding-free layout as rlft::rollout_batch (CSR
// sequences, contiguous groups, per-token arrays sharing the sequences' token offsets), for the
// CUDA estimators and objectives. The shape — sequence, prompt and group offsets — is fixed at
// upload and kept on the host as well, so every argument check of a CUDA call runs on the host
// before anything is launched. The per-token and per-sequence arrays live only on the device
// and may be rewritten there (old log-probs from a device forward pass, advantages from a
// device estimator, a loss mask cleared on the device).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cuda_runtime_api.h>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/cuda/device_buffer.hpp"

namespace rlft::cuda {

// Raw device pointers of a batch, passed to kernels by value.
struct device_batch_view {
  const std::int64_t* sequence_offsets = nullptr;  // num_sequences + 1
  const std::int64_t* prompt_lengths = nullptr;    // num_sequences
  const std::int64_t* group_offsets = nullptr;     // num_groups + 1, over sequences
  const std::uint8_t* loss_mask = nullptr;         // num_tokens
  const float* old_logprobs = nullptr;
  const float* ref_logprobs = nullptr;
  const float* advantages = nullptr;
  const float* token_rewards = nullptr;
  const float* values = nullptr;
  const std::uint8_t* step_ends = nullptr;
  const float* rewards = nullptr;  // num_sequences: the total reward of each completion
  std::size_t num_sequences = 0;
  std::size_t num_groups = 0;
  std::size_t num_tokens = 0;
};

// The host-side shape of a batch: what the argument checks of the CUDA calls read.
class batch_shape {
 public:
  batch_shape() = default;
  explicit batch_shape(const rollout_batch& batch)
      : sequence_offsets_(batch.sequence_offsets().begin(), batch.sequence_offsets().end()),
        group_offsets_(batch.group_offsets().begin(), batch.group_offsets().end()) {
    prompt_lengths_.reserve(batch.num_sequences());
    for (std::size_t s = 0; s < batch.num_sequences(); ++s)
      prompt_lengths_.push_back(static_cast<std::int64_t>(batch.prompt_length(s)));
    const auto names = batch.rewards().component_names();
    component_names_.assign(names.begin(), names.end());
  }

  std::size_t num_sequences() const noexcept { return prompt_lengths_.size(); }
  std::size_t num_groups() const noexcept { return group_offsets_.empty() ? 0 : group_offsets_.size() - 1; }
  std::size_t num_tokens() const noexcept {
    return sequence_offsets_.empty() ? 0 : static_cast<std::size_t>(sequence_offsets_.back());
  }
  std::size_t sequence_begin(std::size_t s) const {
    RLFT_ASSERT(s < num_sequences());
    return static_cast<std::size_t>(sequence_offsets_[s]);
  }
  std::size_t sequence_end(std::size_t s) const {
    RLFT_ASSERT(s < num_sequences());
    return static_cast<std::size_t>(sequence_offsets_[s + 1]);
  }
  std::size_t prompt_length(std::size_t s) const {
    RLFT_ASSERT(s < num_sequences());
    return static_cast<std::size_t>(prompt_lengths_[s]);
  }
  std::span<const std::int64_t> sequence_offsets() const noexcept { return sequence_offsets_; }
  std::span<const std::int64_t> prompt_lengths() const noexcept { return prompt_lengths_; }
  std::span<const std::int64_t> group_offsets() const noexcept { return group_offsets_; }
  // The reward table's component names, in its order (rlft::reward_table).
  std::span<const std::string> component_names() const noexcept { return component_names_; }

 private:
  std::vector<std::int64_t> sequence_offsets_;
  std::vector<std::int64_t> prompt_lengths_;
  std::vector<std::int64_t> group_offsets_;
  std::vector<std::string> component_names_;
};

class device_rollout_batch {
 public:
  // Copies everything the estimators and objectives read (enqueued on `stream`; `batch` may
  // change once the constructor returns). Throws rlft::cuda_error when allocation or a copy
  // fails.
  device_rollout_batch(const rollout_batch& batch, cudaStream_t stream)
      : shape_(batch),
        sequence_offsets_(shape_.sequence_offsets(), stream),
        prompt_lengths_(shape_.prompt_lengths(), stream),
        group_offsets_(shape_.group_offsets(), stream),
        loss_mask_(batch.loss_mask(), stream),
        old_logprobs_(batch.old_logprobs(), stream),
        ref_logprobs_(batch.ref_logprobs(), stream),
        advantages_(batch.advantages(), stream),
        token_rewards_(batch.token_rewards(), stream),
        values_(batch.values(), stream),
        step_ends_(batch.step_ends(), stream),
        rewards_(batch.rewards().total(), stream) {
    for (std::size_t c = 0; c < batch.rewards().num_components(); ++c)
      reward_components_.emplace_back(batch.rewards().component(c), stream);
  }

  const batch_shape& shape() const noexcept { return shape_; }
  std::size_t num_sequences() const noexcept { return shape_.num_sequences(); }
  std::size_t num_groups() const noexcept { return shape_.num_groups(); }
  std::size_t num_tokens() const noexcept { return shape_.num_tokens(); }
  // The stream the batch was uploaded on (and its buffers are released on).
  cudaStream_t stream() const noexcept { return sequence_offsets_.stream(); }

  // Device arrays, laid out as the rollout_batch members of the same names.
  std::span<std::uint8_t> loss_mask() noexcept { return loss_mask_.span(); }
  std::span<const std::uint8_t> loss_mask() const noexcept { return loss_mask_.span(); }
  std::span<float> old_logprobs() noexcept { return old_logprobs_.span(); }
  std::span<const float> old_logprobs() const noexcept { return old_logprobs_.span(); }
  std::span<float> ref_logprobs() noexcept { return ref_logprobs_.span(); }
  std::span<const float> ref_logprobs() const noexcept { return ref_logprobs_.span(); }
  std::span<float> advantages() noexcept { return advantages_.span(); }
  std::span<const float> advantages() const noexcept { return advantages_.span(); }
  std::span<float> token_rewards() noexcept { return token_rewards_.span(); }
  std::span<const float> token_rewards() const noexcept { return token_rewards_.span(); }
  std::span<float> values() noexcept { return values_.span(); }
  std::span<const float> values() const noexcept { return values_.span(); }
  std::span<std::uint8_t> step_ends() noexcept { return step_ends_.span(); }
  std::span<const std::uint8_t> step_ends() const noexcept { return step_ends_.span(); }
  std::span<float> rewards() noexcept { return rewards_.span(); }
  std::span<const float> rewards() const noexcept { return rewards_.span(); }
  // Component c of the reward table (shape().component_names()[c]), per sequence.
  std::span<const float> reward_component(std::size_t c) const {
    RLFT_ASSERT(c < reward_components_.size());
    return reward_components_[c].span();
  }

  device_batch_view view() const noexcept {
    return {.sequence_offsets = sequence_offsets_.data(),
            .prompt_lengths = prompt_lengths_.data(),
            .group_offsets = group_offsets_.data(),
            .loss_mask = loss_mask_.data(),
            .old_logprobs = old_logprobs_.data(),
            .ref_logprobs = ref_logprobs_.data(),
            .advantages = advantages_.data(),
            .token_rewards = token_rewards_.data(),
            .values = values_.data(),
            .step_ends = step_ends_.data(),
            .rewards = rewards_.data(),
            .num_sequences = shape_.num_sequences(),
            .num_groups = shape_.num_groups(),
            .num_tokens = shape_.num_tokens()};
  }

 private:
  batch_shape shape_;
  device_buffer<std::int64_t> sequence_offsets_;
  device_buffer<std::int64_t> prompt_lengths_;
  device_buffer<std::int64_t> group_offsets_;
  device_buffer<std::uint8_t> loss_mask_;
  device_buffer<float> old_logprobs_;
  device_buffer<float> ref_logprobs_;
  device_buffer<float> advantages_;
  device_buffer<float> token_rewards_;
  device_buffer<float> values_;
  device_buffer<std::uint8_t> step_ends_;
  device_buffer<float> rewards_;
  std::vector<device_buffer<float>> reward_components_;
};

}  // namespace rlft::cuda
