// rlft::communicator on MPI (target rlft::mpi; Debian: libopenmpi-dev openmpi-bin), for
// data-parallel training across processes and machines: `mpirun -np N program`.
//   - Sums are a ring all-reduce (reduce-scatter, then all-gather; Patarasuk and Yuan, JPDC
//     2009) written with point-to-point messages, not MPI_Allreduce: every element is summed in
//     a fixed rank order (chunk c: rank c, c + 1, …, c − 1), so the bits do not depend on the MPI
//     library's choice of algorithm or on timing. Each rank sends and receives
//     2·(N − 1)/N of the buffer.
//   - Every operation waits at most `timeout` for its peers (non-blocking MPI calls, polled):
//     a rank that hangs or died makes the others throw rlft::error naming the operation and
//     the rank they waited for, instead of hanging. After an error call abort(), which ends
//     every process of the run (MPI cannot carry on after a lost rank).
// mpi_session initialises MPI (thread level "funneled": only the thread that made it calls MPI)
// and finalises it.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/distributed/communicator.hpp"

namespace rlft {

namespace detail {

inline void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw error(make_message("MPI: ", what, " failed: ", std::string(text, static_cast<std::size_t>(length))));
}

template <class T>
MPI_Datatype mpi_type();
template <>
inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <>
inline MPI_Datatype mpi_type<std::int64_t>() { return MPI_INT64_T; }

inline int mpi_count(std::size_t count, const char* what) {
  if (count > static_cast<std::size_t>(INT_MAX))
    throw error(make_message("MPI: ", what, " of ", count, " elements exceeds one message's limit of ", INT_MAX));
  return static_cast<int>(count);
}

}  // namespace detail

class mpi_session {
 public:
  mpi_session(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) throw error("MPI: already initialised; make one mpi_session per process");
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;
  ~mpi_session() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Finalize();
  }
};

class mpi_communicator {
 public:
  explicit mpi_communicator(MPI_Comm comm = MPI_COMM_WORLD,
                            std::chrono::milliseconds timeout = std::chrono::minutes(5))
      : comm_(comm), timeout_(timeout) {
    int rank = 0, size = 0;
    detail::check_mpi(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
    if (timeout_.count() <= 0) throw error("mpi_communicator: the timeout must be positive");
  }

  std::size_t rank() const noexcept { return rank_; }
  std::size_t size() const noexcept { return size_; }

  void all_reduce_sum(std::span<float> values) { ring_all_reduce(values); }
  void all_reduce_sum(std::span<double> values) { ring_all_reduce(values); }
  void all_reduce_sum(std::span<std::int64_t> values) { ring_all_reduce(values); }

  void broadcast(std::span<std::byte> bytes, std::size_t root) {
    check_root(root);
    MPI_Request request;
    detail::check_mpi(MPI_Ibcast(bytes.data(), detail::mpi_count(bytes.size(), "broadcast"), MPI_BYTE,
                                 static_cast<int>(root), comm_, &request),
                      "MPI_Ibcast");
    wait({&request, 1}, "broadcast", root == rank_ ? "every rank" : "rank " + std::to_string(root));
  }

  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> blob) {
    std::vector<std::int64_t> sizes(size_);
    const auto own = static_cast<std::int64_t>(blob.size());
    MPI_Request request;
    detail::check_mpi(MPI_Iallgather(&own, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm_, &request),
                      "MPI_Iallgather");
    wait({&request, 1}, "gather (sizes)", "every rank");
    std::vector<int> counts(size_), offsets(size_);
    std::size_t total = 0;
    for (std::size_t r = 0; r < size_; ++r) {
      counts[r] = detail::mpi_count(static_cast<std::size_t>(sizes[r]), "gather");
      offsets[r] = detail::mpi_count(total, "gather");
      total += static_cast<std::size_t>(sizes[r]);
    }
    std::vector<std::byte> all(total);
    detail::check_mpi(MPI_Iallgatherv(blob.data(), counts[rank_], MPI_BYTE, all.data(), counts.data(), offsets.data(),
                                      MPI_BYTE, comm_, &request),
                      "MPI_Iallgatherv");
    wait({&request, 1}, "gather", "every rank");
    std::vector<std::vector<std::byte>> blobs(size_);
    for (std::size_t r = 0; r < size_; ++r)
      blobs[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
    return blobs;
  }

  void barrier() {
    MPI_Request request;
    detail::check_mpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    wait({&request, 1}, "barrier", "every rank");
  }

  // The ranks that share this machine (MPI_COMM_TYPE_SHARED), this one included: what sizes
  // each rank's share of the cores. Every rank must call it.
  std::size_t ranks_on_this_machine() const {
    MPI_Comm local;
    detail::check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local),
                      "MPI_Comm_split_type");
    int ranks = 0;
    MPI_Comm_size(local, &ranks);
    MPI_Comm_free(&local);
    return static_cast<std::size_t>(ranks);
  }

  // Ends every process of the run with `code` (after an error; MPI cannot continue).
  [[noreturn]] void abort(int code) const {
    MPI_Abort(comm_, code);
    std::abort();
  }

 private:
  void check_root(std::size_t root) const {
    if (root >= size_) throw error(detail::make_message("broadcast: root ", root, " of ", size_, " ranks"));
  }

  std::size_t chunk_begin(std::size_t count, std::size_t chunk) const { return count * chunk / size_; }
  template <class T>
  std::span<T> chunk(std::span<T> values, std::size_t index) const {
    const std::size_t begin = chunk_begin(values.size(), index);
    return values.subspan(begin, chunk_begin(values.size(), index + 1) - begin);
  }

  // Reduce-scatter: after step s, rank r holds chunk (r − s − 1) summed over ranks r − s − 1 … r;
  // after N − 1 steps rank r holds chunk r + 1 complete. All-gather passes the complete chunks on.
  template <class T>
  void ring_all_reduce(std::span<T> values) {
    if (size_ == 1) return;
    const std::size_t right = (rank_ + 1) % size_, left = (rank_ + size_ - 1) % size_;
    const auto chunk_of = [&](std::size_t step_back) { return (rank_ + 2 * size_ - step_back) % size_; };
    std::vector<T> received;
    for (std::size_t step = 0; step + 1 < size_; ++step) {
      const std::span<T> partial = chunk(values, chunk_of(step + 1));
      received.resize(partial.size());
      exchange<T>(chunk(values, chunk_of(step)), right, received, left, "sum (reduce-scatter)");
      for (std::size_t i = 0; i < partial.size(); ++i) partial[i] = received[i] + partial[i];
    }
    for (std::size_t step = 0; step + 1 < size_; ++step) {
      exchange<T>(chunk(values, chunk_of(step + size_ - 1)), right, chunk(values, chunk_of(step + size_)), left,
                  "sum (all-gather)");
    }
  }

  template <class T>
  void exchange(std::span<const T> send, std::size_t to, std::span<T> receive, std::size_t from, const char* what) {
    MPI_Request requests[2];
    detail::check_mpi(MPI_Irecv(receive.data(), detail::mpi_count(receive.size(), what), detail::mpi_type<T>(),
                                static_cast<int>(from), ring_tag, comm_, &requests[0]),
                      "MPI_Irecv");
    detail::check_mpi(MPI_Isend(send.data(), detail::mpi_count(send.size(), what), detail::mpi_type<T>(),
                                static_cast<int>(to), ring_tag, comm_, &requests[1]),
                      "MPI_Isend");
    wait(requests, what, "rank " + std::to_string(from) + (from == to ? "" : " or rank " + std::to_string(to)));
  }

  // Polls until every request completes; past the timeout, throws naming whom it waited for.
  void wait(std::span<MPI_Request> requests, const char* what, const std::string& peers) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (auto pause = std::chrono::microseconds(1);; pause = std::min(pause * 2, std::chrono::microseconds(1000))) {
      int done = 0;
      detail::check_mpi(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE),
                        "MPI_Testall");
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline)
        throw error(detail::make_message("rank ", rank_, ": ", what, ": no answer from ", peers, " within ",
                                         timeout_.count() / 1000.0, " s (a rank died or hangs)"));
      std::this_thread::sleep_for(pause);
    }
  }

  static constexpr int ring_tag = 0x5253;  // "RS"
  MPI_Comm comm_;
  std::chrono::milliseconds timeout_;
  std::size_t rank_ = 0, size_ = 1;
};

static_assert(communicator<mpi_communicator>);

}  // namespace rlft
