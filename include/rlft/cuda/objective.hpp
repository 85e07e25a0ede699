// Policy objectives on the device: the same call as the CPU objectives (rlft/objective/) on a
// rlft::cuda::device_rollout_batch, with the log-probs (and entropies) and the gradient spans in
// device memory. The objective's own options choose the formulas, exactly as on the CPU:
//   rlft::cuda::evaluate_objective(rlft::clipped_surrogate_objective{...}, input, output, stream)
// evaluates loss, metrics and dL/d(log-prob) in two passes, one per sequence, one over the tokens
// (kernels/rlft/objective.cuh). Supported: clipped_surrogate_objective, gspo_objective,
// gspo_token_objective, gmpo_objective, cispo_objective, sapo_objective and
// reinforce_objective, with every clip, KL and aggregation option; another objective type is a
// compile-time error.
//
// Results against the CPU (float inputs): gradients agree per token to a few ulps (the
// device's expf against rlft's vectorised exp, and fused multiply-adds); the loss and metrics,
// which are sums in double in another order, agree to a relative 1e-5.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include <cuda_runtime_api.h>

#include "rlft/concepts/policy_objective.hpp"
#include "rlft/cuda/check.hpp"
#include "rlft/cuda/detail/objective_dispatch.hpp"
#include "rlft/cuda/device_buffer.hpp"
#include "rlft/cuda/device_rollout_batch.hpp"
#include "rlft/objective.cuh"

namespace rlft::cuda {

struct device_objective_input {
  const device_rollout_batch& batch;
  std::size_t first_sequence = 0;  // the slice: sequences [first_sequence,
  std::size_t sequence_count = 0;  //   first_sequence + sequence_count) of batch
  std::span<const float> logprobs = {};  // device memory, indexed like the slice's tokens
  std::span<const float> entropy = {};   // device memory; empty unless an entropy term is used
  // Device memory, as objective_input::policy_weights; not checked on the device (a NaN weight
  // shows as a non-finite loss whose inputs are all finite).
  std::span<const float> policy_weights = {};
  aggregation_scope scope = {};
};

struct device_objective_output {
  std::span<float> logprob_gradients = {};  // device memory, same layout as input.logprobs
  std::span<float> entropy_gradients = {};  // device memory, when input.entropy is given
};

namespace detail {

// The CPU's option and shape checks, on the host (nothing on the device is touched).
template <class Objective>
auto checked_objective_term(const Objective& objective, const batch_shape& shape, std::size_t first_sequence,
                            std::size_t sequence_count, const rlft::detail::objective_span_sizes& sizes) {
  auto term = device_objective<Objective>::term(objective);
  const auto terms = rlft::detail::terms_of(objective);
  rlft::detail::check_objective_terms(terms, Objective::name);
  rlft::detail::check_slice_sizes(shape.sequence_offsets(), first_sequence, sequence_count, sizes,
                                  terms.entropy_coefficient != 0.0, Objective::name);
  return term;
}

inline rlft::detail::objective_span_sizes span_sizes(const device_objective_input& in,
                                                     const device_objective_output& out) {
  return {.logprobs = in.logprobs.size(),
          .logprob_gradients = out.logprob_gradients.size(),
          .entropy = in.entropy.size(),
          .entropy_gradients = out.entropy_gradients.size(),
          .policy_weights = in.policy_weights.size()};
}

// The objective's options as kernel arguments; the data members are left for the caller.
template <class Objective>
kernels::objective_arguments option_arguments(const Objective& objective) {
  const auto terms = rlft::detail::terms_of(objective);
  kernels::objective_arguments args;
  args.kl_coefficient = static_cast<float>(terms.kl.coefficient);
  args.kl_coefficient_exact = terms.kl.coefficient;
  args.estimator = terms.kl.estimator;
  args.kl_bound = static_cast<float>(terms.kl.log_ratio_bound);
  args.kl_value_bound = static_cast<float>(kl_value_bound(terms.kl));
  args.kl_importance_weighted = terms.kl.importance_weighted;
  args.entropy_coefficient = terms.entropy_coefficient;
  args.aggregation = terms.aggregation;
  args.kl_aggregation = terms.kl_mode();
  args.constant_divisor = terms.constant_divisor;
  return args;
}

template <class Objective>
kernels::objective_arguments objective_arguments_of(const Objective& objective, const device_objective_input& in,
                                                    const device_objective_output& out) {
  kernels::objective_arguments args = option_arguments(objective);
  args.batch = in.batch.view();
  args.first_sequence = in.first_sequence;
  args.sequence_count = in.sequence_count;
  args.logprobs = in.logprobs.data();
  args.entropy = in.entropy.empty() ? nullptr : in.entropy.data();
  args.policy_weights = in.policy_weights.empty() ? nullptr : in.policy_weights.data();
  args.logprob_gradients = out.logprob_gradients.data();
  args.entropy_gradients = out.entropy_gradients.empty() ? nullptr : out.entropy_gradients.data();
  args.scope = in.scope;
  return args;
}

}  // namespace detail

// Enqueues the evaluation on `stream` and leaves the slice's sums in `sums` (device memory);
// the gradients are written in the same pass. Throws rlft::error on invalid options or shapes
// (before anything is enqueued) and rlft::cuda_error on a failed launch. Inputs are not checked
// for NaN here: a non-finite loss shows in sums->loss (evaluate_objective reports its cause).
template <class Objective>
void launch_objective(const Objective& objective, const device_objective_input& in,
                      const device_objective_output& out, kernels::objective_sums* sums, cudaStream_t stream) {
  const auto term = detail::checked_objective_term(objective, in.batch.shape(), in.first_sequence,
                                                   in.sequence_count, detail::span_sizes(in, out));
  auto args = detail::objective_arguments_of(objective, in, out);
  const std::size_t tokens = in.logprobs.size();  // the slice's, checked above
  using term_type = std::remove_const_t<decltype(term)>;
  device_buffer<unsigned char> temporary(objective_temporaries_of<term_type>(tokens, in.sequence_count).bytes, stream);
  args.result = sums;
  launch_policy_objective(term, args, tokens, temporary.data(), stream);
}

// The objective's loss and metrics, with dL/d(log-prob) (and dL/d(entropy)) written to `out`;
// waits for `stream`. Throws what the CPU objective throws, with the same messages: invalid
// options or shapes, a scope smaller than the slice, a non-finite input of a loss token (named
// by batch and slice token). Unlike the CPU, the last two are found after the pass, so the
// gradients have been written when they are thrown.
template <class Objective>
objective_result evaluate_objective(const Objective& objective, const device_objective_input& in,
                                    const device_objective_output& out, cudaStream_t stream) {
  device_buffer<kernels::objective_sums> device_sums(1, stream);
  launch_objective(objective, in, out, device_sums.data(), stream);
  const kernels::objective_sums sums = device_sums.download().front();
  const char* name = Objective::name;
  if (!std::isfinite(sums.loss)) {
    device_buffer<unsigned long long> first(1, stream);
    RLFT_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, sizeof(unsigned long long), stream));
    const auto args = detail::objective_arguments_of(objective, in, out);
    launch_first_non_finite_objective_input(args, in.logprobs.size(), first.data(), stream);
    const unsigned long long found = first.download().front();
    if (found == ~0ull)
      throw data_error(rlft::detail::make_message(name, ": the loss is not finite although every input is"));
    const std::size_t slice_token = found / 8;
    const std::size_t token = in.batch.shape().sequence_begin(in.first_sequence) + slice_token;
    const auto bad = static_cast<rlft::detail::objective_input>(found % 8);
    const auto& batch = in.batch;
    const std::span<const float> arrays[] = {in.logprobs.subspan(slice_token), batch.old_logprobs().subspan(token),
                                             batch.advantages().subspan(token), batch.ref_logprobs().subspan(token),
                                             in.entropy.empty() ? in.entropy : in.entropy.subspan(slice_token)};
    const float value = download(arrays[static_cast<std::size_t>(bad)].first(1), stream).front();
    rlft::detail::throw_non_finite_input(name, rlft::detail::input_name(bad), token, slice_token, value);
  }
  rlft::detail::resolve_scope(in.scope,
                              {.sequences = static_cast<std::size_t>(sums.sequences),
                               .loss_tokens = static_cast<std::size_t>(sums.tokens)},
                              name);
  using term_type = decltype(detail::device_objective<Objective>::term(objective));
  return rlft::detail::result_from_sums(sums, term_type::reports_ratio, !in.entropy.empty());
}

}  // namespace rlft::cuda
