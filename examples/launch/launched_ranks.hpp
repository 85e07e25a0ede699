// How an example program finds the processes it trains with: alone, or the ranks an MPI
// launcher started (mpirun -np N program ...), when the program is built with rlft::mpi
// (compile definition RLFT_EXAMPLE_HAS_MPI). Construct it first thing in main, before the
// command line is parsed (MPI may take its own arguments out of argv). Also the examples'
// --gradient-shards flag, which makes runs on different numbers of ranks agree.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

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

// --gradient-shards: each gradient summed over that many shards in a fixed tree (rlft's
// gradient_shards), so that runs with the same shards give the same numbers on any number of
// ranks; 0, the default, takes the fewest.
inline void add_gradient_shards_flag(CLI::App& app, std::size_t& shards) {
  app.add_option("--gradient-shards", shards,
                 "shards of each gradient, summed in a fixed tree (a power of two, at least the MPI ranks); runs "
                 "with the same shards give the same numbers on any number of ranks (0: the fewest)")
      ->check([](const std::string& text) {
        const auto value = std::stoull(text);
        return value == 0 || std::has_single_bit(value) ? std::string{} : "must be 0 or a power of two";
      });
}

// The shards a trainer gets: as asked, or the fewest, a power of two covering the ranks.
inline std::size_t gradient_shards(std::size_t asked, std::size_t ranks) {
  return asked != 0 ? asked : std::bit_ceil(ranks);
}

}  // namespace rlft::examples
