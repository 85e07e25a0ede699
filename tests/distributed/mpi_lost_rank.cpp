// A run in which rank 1 stops answering: `hang` (it sleeps past the others' timeout) or `die`
// (it kills itself). Rank 0 must not hang: it stops with an error naming rank 1, then ends the
// run (CTest checks the message and that the run fails).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>
#include <thread>
#include <vector>

#include "rlft/distributed/mpi_communicator.hpp"

int main(int argc, char** argv) {
  rlft::mpi_session session(argc, argv);
  rlft::mpi_communicator comm(MPI_COMM_WORLD, std::chrono::seconds(2));
  const std::string_view mode = argc > 1 ? argv[1] : "hang";
  std::vector<float> gradients(1000, 1.0f);
  try {
    comm.all_reduce_sum(std::span(gradients));  // everyone is there
    if (comm.rank() == 1) {
      if (mode == "die") ::kill(::getpid(), SIGKILL);
      std::this_thread::sleep_for(std::chrono::seconds(30));
    }
    comm.all_reduce_sum(std::span(gradients));
  } catch (const rlft::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    comm.abort(1);
  }
  return 0;
}
