// A communicator chosen at run time behind one type: a program that runs alone or under
// mpirun, depending on how it was started, instantiates its trainers once with
// any_communicator and hands it single_process_communicator or mpi_communicator at start.
// Copies share the communicator they hold. abort() ends every process of an MPI run after an
// error (MPI cannot carry on after one) and returns for a single process.
// started_by_mpi_launcher() tells which to choose.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "rlft/distributed/communicator.hpp"

namespace rlft {

class any_communicator {
 public:
  any_communicator() : any_communicator(single_process_communicator{}) {}
  template <communicator Communicator>
    requires(!std::same_as<Communicator, any_communicator>)
  explicit any_communicator(Communicator comm) : held_(std::make_shared<holder<Communicator>>(std::move(comm))) {}

  std::size_t rank() const { return held_->rank(); }
  std::size_t size() const { return held_->size(); }
  void all_reduce_sum(std::span<float> values) { held_->all_reduce_sum(values); }
  void all_reduce_sum(std::span<double> values) { held_->all_reduce_sum(values); }
  void all_reduce_sum(std::span<std::int64_t> values) { held_->all_reduce_sum(values); }
  void broadcast(std::span<std::byte> bytes, std::size_t root) { held_->broadcast(bytes, root); }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> blob) { return held_->all_gather(blob); }
  void barrier() { held_->barrier(); }
  void abort(int code) { held_->abort(code); }

 private:
  struct interface {
    virtual ~interface() = default;
    virtual std::size_t rank() const = 0;
    virtual std::size_t size() const = 0;
    virtual void all_reduce_sum(std::span<float>) = 0;
    virtual void all_reduce_sum(std::span<double>) = 0;
    virtual void all_reduce_sum(std::span<std::int64_t>) = 0;
    virtual void broadcast(std::span<std::byte>, std::size_t) = 0;
    virtual std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte>) = 0;
    virtual void barrier() = 0;
    virtual void abort(int code) = 0;
  };

  template <class Communicator>
  struct holder final : interface {
    explicit holder(Communicator c) : comm(std::move(c)) {}
    std::size_t rank() const override { return comm.rank(); }
    std::size_t size() const override { return comm.size(); }
    void all_reduce_sum(std::span<float> values) override { comm.all_reduce_sum(values); }
    void all_reduce_sum(std::span<double> values) override { comm.all_reduce_sum(values); }
    void all_reduce_sum(std::span<std::int64_t> values) override { comm.all_reduce_sum(values); }
    void broadcast(std::span<std::byte> bytes, std::size_t root) override { comm.broadcast(bytes, root); }
    std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> blob) override {
      return comm.all_gather(blob);
    }
    void barrier() override { comm.barrier(); }
    void abort(int code) override {
      if constexpr (requires { comm.abort(code); }) comm.abort(code);
    }
    Communicator comm;
  };

  std::shared_ptr<interface> held_;
};

static_assert(communicator<any_communicator>);

// Whether an MPI launcher started this process (mpirun or mpiexec of Open MPI, MPICH, or one
// built on PMIx): the variables it sets for its processes.
inline bool started_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

}  // namespace rlft
