// How an example program finds the processes it trains with: alone, or the ranks an MPI
// launcher started (mpirun -np N program ...), when the program is built with rlft::mpi
// (compile definition RLFT_EXAMPLE_HAS_MPI). Construct it first thing in main, before the
// command line is parsed (MPI may take its own arguments out of argv).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <optional>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <rlft/core/error.hpp>
#include <rlft/distributed/any_communicator.hpp>

#if RLFT_EXAMPLE_HAS_MPI
#include <rlft/distributed/mpi_communicator.hpp>
#endif

namespace rlft::examples {

class launched_ranks {
 public:
  // Throws rlft::error when an MPI launcher started a program built without MPI.
  launched_ranks(int& argc, char**& argv) {
    if (!started_by_mpi_launcher()) return;
#if RLFT_EXAMPLE_HAS_MPI
    mpi_.emplace(argc, argv);
    const mpi_communicator world;
    ranks_here_ = world.ranks_on_this_machine();
    comm_ = any_communicator(world);
#else
    (void)argc;
    (void)argv;
    throw error("started by an MPI launcher, but built without MPI (Debian: apt-get install libopenmpi-dev "
                "openmpi-bin, then rebuild)");
#endif
  }

  // The ranks, or nothing after printing why they cannot start (`program: why`).
  static std::optional<launched_ranks> start(int& argc, char**& argv, const char* program) {
    try {
      return std::optional<launched_ranks>(std::in_place, argc, argv);
    } catch (const error& e) {
      std::fprintf(stderr, "%s: %s\n", program, e.what());
      return std::nullopt;
    }
  }

  any_communicator& comm() { return comm_; }
  bool leader() const { return comm_.rank() == 0; }

  // OpenMP threads per rank: `threads` when given, else this machine's cores shared among the
  // ranks on it (all of them for one process).
  void set_threads(std::size_t threads) const {
#if defined(_OPENMP)
    if (threads > 0)
      omp_set_num_threads(static_cast<int>(threads));
    else if (ranks_here_ > 1)
      omp_set_num_threads(std::max(1, omp_get_num_procs() / static_cast<int>(ranks_here_)));
#else
    (void)threads;
    (void)ranks_here_;
#endif
  }

  // Reports an error that ends the run, naming the rank when there are several, and returns the
  // exit status; under MPI it ends every rank first (MPI cannot carry on after an error).
  int fail(const char* program, const char* what) {
    if (comm_.size() > 1) {
      std::fprintf(stderr, "\n%s (rank %zu): %s\n", program, comm_.rank(), what);
      comm_.abort(1);
    }
    std::fprintf(stderr, "\n%s: %s\n", program, what);
    return 1;
  }

 private:
#if RLFT_EXAMPLE_HAS_MPI
  std::optional<mpi_session> mpi_;  // declared first: MPI ends after the communicator's last use
#endif
  any_communicator comm_;
  std::size_t ranks_here_ = 1;
};

}  // namespace rlft::examples
