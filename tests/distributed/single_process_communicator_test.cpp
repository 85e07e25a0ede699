// The default communicator: one process, every collective a no-op.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rlft/distributed/communicator.hpp"

TEST_CASE("single process communicator: rank 0 of 1, sums and gathers leave the values alone") {
  rlft::single_process_communicator comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  std::vector<float> floats{1.5f, -2.0f};
  std::vector<std::int64_t> integers{7};
  comm.all_reduce_sum(std::span(floats));
  comm.all_reduce_sum(std::span(integers));
  CHECK(floats == std::vector<float>{1.5f, -2.0f});
  CHECK(integers == std::vector<std::int64_t>{7});
  const std::vector<std::byte> blob{std::byte{1}, std::byte{2}};
  CHECK(comm.all_gather(blob) == std::vector<std::vector<std::byte>>{blob});
  std::vector<std::byte> bytes(3);
  CHECK_NOTHROW(comm.broadcast(bytes, 0));
  CHECK_THROWS_WITH_AS(comm.broadcast(bytes, 1), doctest::Contains("root 1 of a single process"), rlft::error);
  CHECK_NOTHROW(rlft::check_same_on_every_rank(comm, 42, "the parameter hash"));
}
