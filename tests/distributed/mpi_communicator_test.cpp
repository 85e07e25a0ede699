// rlft::mpi_communicator under `mpirun -np N` (CTest runs it with 2 and 3 ranks): sums equal to
// the fixed rank order the ring promises, bit for bit, on every rank; broadcasts, gathers of
// blobs of different sizes, the consistency guard. Every rank runs every test; mpirun fails
// when one rank does.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "rlft/core/philox.hpp"
#include "rlft/distributed/mpi_communicator.hpp"

namespace {

rlft::mpi_communicator& world() {
  static rlft::mpi_communicator comm;
  return comm;
}

// What rank r contributes: values of very different magnitudes, so the summation order shows.
template <class T>
std::vector<T> contribution(std::size_t rank, std::size_t count) {
  rlft::philox_stream draw(17, rank);
  std::vector<T> values(count);
  for (auto& v : values) {
    const double magnitude = static_cast<double>(1u << (draw() % 24));
    v = static_cast<T>((static_cast<double>(draw() % 2001) - 1000.0) * magnitude / 1000.0);
  }
  return values;
}

// The ring's sum: element i of chunk c (c = i·N / count, rounded as the ring splits) added
// in the order c, c + 1, ..., c − 1.
template <class T>
std::vector<T> expected_sum(std::size_t ranks, std::size_t count) {
  std::vector<std::vector<T>> all;
  for (std::size_t r = 0; r < ranks; ++r) all.push_back(contribution<T>(r, count));
  std::vector<T> sum(count);
  for (std::size_t c = 0; c < ranks; ++c)
    for (std::size_t i = count * c / ranks; i < count * (c + 1) / ranks; ++i) {
      T acc = all[c][i];
      for (std::size_t k = 1; k < ranks; ++k) acc = acc + all[(c + k) % ranks][i];
      sum[i] = acc;
    }
  return sum;
}

template <class T>
void check_sums() {
  auto& comm = world();
  for (const std::size_t count : {0u, 1u, 2u, 3u, 5u, 1000u, 65543u}) {
    auto values = contribution<T>(comm.rank(), count);
    comm.all_reduce_sum(std::span(values));
    CHECK_MESSAGE(values == expected_sum<T>(comm.size(), count), "count ", count);
    auto again = contribution<T>(comm.rank(), count);
    comm.all_reduce_sum(std::span(again));
    CHECK(again == values);
  }
}

}  // namespace

TEST_CASE("mpi: sums of float, double and integer spans, in the ring's fixed order") {
  check_sums<float>();
  check_sums<double>();
  check_sums<std::int64_t>();
}

TEST_CASE("mpi: broadcast from every root, gather of blobs of different sizes, barrier") {
  auto& comm = world();
  for (std::size_t root = 0; root < comm.size(); ++root) {
    std::vector<std::byte> bytes(5, std::byte{static_cast<unsigned char>(comm.rank())});
    comm.broadcast(bytes, root);
    CHECK(bytes == std::vector<std::byte>(5, std::byte{static_cast<unsigned char>(root)}));
  }
  std::vector<std::byte> mine(comm.rank() * 3, std::byte{static_cast<unsigned char>(comm.rank() + 1)});
  const auto all = comm.all_gather(mine);
  REQUIRE(all.size() == comm.size());
  for (std::size_t r = 0; r < comm.size(); ++r)
    CHECK(all[r] == std::vector<std::byte>(r * 3, std::byte{static_cast<unsigned char>(r + 1)}));
  CHECK_NOTHROW(comm.barrier());
  std::vector<std::byte> bytes(2);
  CHECK_THROWS_WITH_AS(comm.broadcast(bytes, comm.size()), doctest::Contains("root"), rlft::error);
}

TEST_CASE("mpi: the consistency guard names the ranks that differ") {
  auto& comm = world();
  CHECK_NOTHROW(rlft::check_same_on_every_rank(comm, 0x1234, "the parameter hash"));
  CHECK_THROWS_WITH_AS(rlft::check_same_on_every_rank(comm, comm.rank() == 1 ? 1 : 0, "the parameter hash"),
                       doctest::Contains("the parameter hash differs between ranks: rank 0 and rank(s) 1 disagree"),
                       rlft::error);
}

int main(int argc, char** argv) {
  rlft::mpi_session session(argc, argv);
  doctest::Context context(argc, argv);
  if (world().rank() != 0) context.setOption("out", "/dev/null");  // one report, rank 0's
  const int failed = context.run();
  if (failed) std::fprintf(stderr, "rank %zu: tests failed\n", world().rank());
  return failed;
}
