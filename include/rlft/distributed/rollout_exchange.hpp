// Moving rollouts and per-token arrays between the ranks of a data-parallel run: a rank's
// rollout batch to bytes and back (every array and reward component kept, bit for bit), the
// ranks' batches joined in rank order on every rank, and the slices of a per-token array that
// each rank computed shared with all. Every rank then holds the whole step's batch, as one
// process would, and computes batch statistics (advantages, dynamic sampling) identically.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/distributed/byte_blob.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/train/gather_groups.hpp"

namespace rlft {

namespace detail {

// The batch's per-token float arrays, in the order the bytes carry them.
template <class Batch>
auto float_token_fields(Batch& batch) {
  return std::array{batch.sampling_logprobs(), batch.old_logprobs(), batch.ref_logprobs(),
                    batch.advantages(),        batch.token_rewards(), batch.values()};
}

}  // namespace detail

inline std::vector<std::byte> serialize_rollouts(const rollout_batch& batch) {
  detail::byte_writer out;
  out.values(batch.tokens());
  out.values(batch.sequence_offsets());
  std::vector<std::int64_t> prompt_lengths(batch.num_sequences());
  for (std::size_t s = 0; s < batch.num_sequences(); ++s) prompt_lengths[s] = static_cast<std::int64_t>(batch.prompt_length(s));
  out.values(std::span<const std::int64_t>(prompt_lengths));
  out.values(batch.group_offsets());
  out.values(batch.loss_mask());
  for (const auto field : detail::float_token_fields(batch)) out.values(field);
  out.values(batch.step_ends());
  out.values(batch.greedy_rewards());
  out.values(batch.truncated());
  out.count(batch.rewards().num_components());
  for (std::size_t c = 0; c < batch.rewards().num_components(); ++c) {
    out.text(batch.rewards().component_name(c));
    out.values(std::span<const float>(batch.rewards().component(c)));
  }
  out.values(std::span<const float>(batch.rewards().total()));
  return out.take();
}

// Throws rlft::error when the bytes are not what serialize_rollouts wrote.
inline rollout_batch deserialize_rollouts(std::span<const std::byte> bytes) {
  detail::byte_reader in(bytes);
  const auto tokens = in.values<token_id>();
  const auto offsets = in.values<std::int64_t>();
  token_sequences sequences;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    if (offsets[s] < 0 || offsets[s] > offsets[s + 1] || static_cast<std::size_t>(offsets[s + 1]) > tokens.size())
      throw error("rollout exchange: a rank's sequence offsets are malformed");
    sequences.push_back(std::span(tokens).subspan(static_cast<std::size_t>(offsets[s]),
                                                  static_cast<std::size_t>(offsets[s + 1] - offsets[s])));
  }
  auto prompt_lengths = in.values<std::int64_t>();
  auto group_offsets = in.values<std::int64_t>();
  rollout_batch batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  in.values_into(batch.loss_mask());
  for (const auto field : detail::float_token_fields(batch)) in.values_into(field);
  in.values_into(batch.step_ends());
  in.values_into(batch.greedy_rewards());
  in.values_into(batch.truncated());
  const std::size_t components = in.count();
  for (std::size_t c = 0; c < components; ++c) {
    const std::size_t index = batch.rewards().add_component(in.text());
    in.values_into(batch.rewards().component(index));
  }
  in.values_into(batch.rewards().total());
  if (!in.done()) throw error("rollout exchange: a rank's rollouts carry trailing bytes");
  return batch;
}

// Every rank's batch, joined in rank order, on every rank. One process: the batch itself.
template <communicator Communicator>
rollout_batch all_gather_rollouts(Communicator& comm, rollout_batch local) {
  if (comm.size() == 1) return local;
  const auto blobs = comm.all_gather(serialize_rollouts(local));
  std::vector<rollout_batch> parts;
  parts.reserve(blobs.size());
  for (const auto& blob : blobs) parts.push_back(deserialize_rollouts(blob));
  std::vector<group_reference> groups;
  for (const auto& part : parts)
    for (std::size_t g = 0; g < part.num_groups(); ++g) groups.push_back({&part, g});
  return gather_groups(groups);
}

// values (one per token of `batch`): each rank computed the tokens of its sequences
// [share_begin(rank), share_begin(rank + 1)) of `sequences` sequences starting at `first`;
// afterwards every rank holds them all.
template <communicator Communicator>
void all_gather_token_slices(Communicator& comm, const rollout_batch& batch, std::span<float> values) {
  if (comm.size() == 1) return;
  const std::size_t sequences = batch.num_sequences();
  const auto slice = [&](std::size_t rank) {
    const std::size_t first = share_begin(sequences, rank, comm.size()), last = share_begin(sequences, rank + 1, comm.size());
    const std::size_t begin = first == last ? 0 : batch.sequence_begin(first);
    return values.subspan(begin, first == last ? 0 : batch.sequence_end(last - 1) - begin);
  };
  const auto own = std::as_bytes(slice(comm.rank()));
  const auto blobs = comm.all_gather(own);
  for (std::size_t r = 0; r < comm.size(); ++r) {
    const auto target = std::as_writable_bytes(slice(r));
    if (blobs[r].size() != target.size()) throw error("rollout exchange: a rank sent a slice of the wrong size");
    std::memcpy(target.data(), blobs[r].data(), target.size());
  }
}

}  // namespace rlft
