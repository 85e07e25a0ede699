// What data-parallel training needs from the processes it runs on: each process's rank among
// `size` processes, sums of float, double and integer spans over all of them (gradients, batch
// statistics, token counts), broadcast from one rank, a gather of variable-size byte blobs to
// every rank (metrics, hashes) and a barrier. rlft::mpi_communicator (rlft/distributed/
// mpi_communicator.hpp, target rlft::mpi) fills it with MPI; single_process_communicator, the
// default, is one process alone, for which every call is a no-op.
// A communicator's sums must not depend on timing or on the library's choice of algorithm:
// the same inputs on the same number of ranks give the same bits on every run.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rlft/core/error.hpp"

namespace rlft {

template <class C>
concept communicator = requires(C& c, const C& const_c, std::span<float> floats, std::span<double> doubles,
                                std::span<std::int64_t> integers, std::span<std::byte> bytes,
                                std::span<const std::byte> blob, std::size_t root) {
  { const_c.rank() } -> std::convertible_to<std::size_t>;
  { const_c.size() } -> std::convertible_to<std::size_t>;
  c.all_reduce_sum(floats);
  c.all_reduce_sum(doubles);
  c.all_reduce_sum(integers);
  c.broadcast(bytes, root);  // every rank's span must have the same size
  { c.all_gather(blob) } -> std::same_as<std::vector<std::vector<std::byte>>>;  // blob of rank r at [r]
  c.barrier();
};

// One process: rank 0 of 1.
struct single_process_communicator {
  std::size_t rank() const noexcept { return 0; }
  std::size_t size() const noexcept { return 1; }
  void all_reduce_sum(std::span<float>) const noexcept {}
  void all_reduce_sum(std::span<double>) const noexcept {}
  void all_reduce_sum(std::span<std::int64_t>) const noexcept {}
  void broadcast(std::span<std::byte>, std::size_t root) const {
    if (root != 0) throw error(detail::make_message("broadcast: root ", root, " of a single process"));
  }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> blob) const {
    return {std::vector<std::byte>(blob.begin(), blob.end())};
  }
  void barrier() const noexcept {}
};

static_assert(communicator<single_process_communicator>);

// The first of rank r's items when `count` items are split as evenly as possible in rank
// order: rank r takes [share_begin(count, r, ranks), share_begin(count, r + 1, ranks)).
inline std::size_t share_begin(std::size_t count, std::size_t rank, std::size_t ranks) noexcept {
  return count * rank / ranks;
}

// Throws rlft::error naming `what` and the ranks whose `value` differs from rank 0's: the
// consistency guard of a data-parallel run (a hash of the parameters every K steps, say).
template <communicator Communicator>
void check_same_on_every_rank(Communicator& comm, std::uint64_t value, std::string_view what) {
  std::byte bytes[sizeof value];
  for (std::size_t i = 0; i < sizeof value; ++i) bytes[i] = static_cast<std::byte>(value >> (8 * i));
  const auto all = comm.all_gather(bytes);
  std::string differing;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  if (!differing.empty())
    throw error(detail::make_message(what, " differs between ranks: rank 0 and rank(s) ", differing,
                                     " disagree; the processes no longer train the same model"));
}

}  // namespace rlft
