// The default communicator: one process, every collective a no-op; the run-time choice
// (any_communicator) around it; and how prompts split across ranks.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rlft/distributed/any_communicator.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/train/for_each_completion.hpp"

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

TEST_CASE("any communicator: holds a communicator chosen at run time and forwards to it") {
  rlft::any_communicator comm;  // one process unless given another
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  std::vector<double> doubles{0.25};
  comm.all_reduce_sum(std::span(doubles));
  CHECK(doubles == std::vector<double>{0.25});
  const std::vector<std::byte> blob{std::byte{9}};
  CHECK(comm.all_gather(blob) == std::vector<std::vector<std::byte>>{blob});
  std::vector<std::byte> bytes(2);
  CHECK_THROWS_WITH_AS(comm.broadcast(bytes, 1), doctest::Contains("root 1 of a single process"), rlft::error);
  comm.abort(1);  // returns for a single process
  const rlft::any_communicator copy = comm;
  CHECK(copy.size() == 1);
}

TEST_CASE("prompt shares: whole prompts in rank order, with the Philox streams of one process") {
  rlft::prompt_batch all;
  for (rlft::token_id p = 0; p < 7; ++p) {
    all.prompts.push_back(std::vector<rlft::token_id>(static_cast<std::size_t>(p) + 1, p));
    all.references.push_back(std::to_string(p));
  }
  const rlft::completion_sampling_options options{.samples_per_prompt = 3, .first_stream = 10};
  std::vector<std::string> references;
  std::size_t next_stream = 10;
  for (std::size_t rank = 0; rank < 3; ++rank) {
    const auto share = rlft::share_of_prompts(all, options, rank, 3);
    CHECK(share.first == std::vector<std::size_t>{0, 2, 4}[rank]);
    CHECK(share.options.first_stream == next_stream);
    CHECK(share.options.samples_per_prompt == 3);
    for (std::size_t p = 0; p < share.prompts.prompts.size(); ++p) {
      const auto prompt = share.prompts.prompts.view()[p];
      CHECK(std::vector<rlft::token_id>(prompt.begin(), prompt.end()) ==
            std::vector<rlft::token_id>(share.first + p + 1, static_cast<rlft::token_id>(share.first + p)));
      references.push_back(share.prompts.references[p]);
    }
    next_stream += share.prompts.prompts.size() * 3;
  }
  CHECK(references == all.references);
  CHECK(rlft::share_of_prompts(all, options, 0, 9).prompts.prompts.empty());  // more ranks than prompts
  all.references.pop_back();
  CHECK_THROWS_WITH_AS(rlft::share_of_prompts(all, options, 0, 2), doctest::Contains("7 prompts and 6 references"),
                       rlft::error);
}
