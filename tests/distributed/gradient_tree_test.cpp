// The gradient tree in one process: shard gradients added pairwise over shard indices.
#include <doctest/doctest.h>

#include <vector>

#include "rlft/distributed/communicator.hpp"
#include "rlft/distributed/gradient_tree.hpp"

TEST_CASE("gradient tree: shards added pairwise, ((g0 + g1) + (g2 + g3)), in one process") {
  // Values whose sum depends on the order in float: 1e8 + 1 - 1e8 ...
  const std::vector<std::vector<float>> shards{{1e8f, 1.0f}, {1.0f, 2.0f}, {-1e8f, 3.0f}, {1.0f, 4.0f}};
  rlft::gradient_tree tree(4);
  for (std::size_t k = 0; k < shards.size(); ++k) tree.add(k, shards[k]);
  rlft::single_process_communicator comm;
  const auto sum = tree.total(comm);
  REQUIRE(sum.size() == 2);
  CHECK(sum[0] == (1e8f + 1.0f) + (-1e8f + 1.0f));  // 0 in float; the sequential sum gives 1
  CHECK(sum[1] == (1.0f + 2.0f) + (3.0f + 4.0f));
  CHECK(((1e8f + 1.0f) + -1e8f) + 1.0f != sum[0]);
}

TEST_CASE("gradient tree: a power of two of shards, in order, covering the mini-batch") {
  CHECK_THROWS_WITH_AS(rlft::gradient_tree(3), doctest::Contains("power of two, not 3"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::gradient_tree(0), doctest::Contains("power of two"), rlft::error);
  rlft::gradient_tree tree(4);
  tree.add(0, {1.0f});
  CHECK_THROWS_WITH_AS(tree.add(2, {1.0f}), doctest::Contains("shard 2 out of order"), rlft::error);
  tree.add(1, {1.0f});
  rlft::single_process_communicator comm;
  CHECK_THROWS_WITH_AS(tree.total(comm), doctest::Contains("do not cover the mini-batch"), rlft::error);
}
