# Defines rlft::mpi, the MPI communicator of include/rlft/distributed/mpi_communicator.hpp,
# when an MPI implementation is found (Debian: libopenmpi-dev, and openmpi-bin for mpirun).
# Sets RLFT_HAS_MPI for the rest of the build.

set(RLFT_HAS_MPI OFF)
find_package(MPI QUIET COMPONENTS CXX)
if(NOT MPI_CXX_FOUND)
  message(STATUS "rlft: MPI not found (Debian: libopenmpi-dev openmpi-bin); no rlft::mpi")
  return()
endif()

add_library(rlft_mpi INTERFACE)
add_library(rlft::mpi ALIAS rlft_mpi)
set_target_properties(rlft_mpi PROPERTIES EXPORT_NAME mpi)
target_link_libraries(rlft_mpi INTERFACE rlft::rlft MPI::MPI_CXX)
set(RLFT_HAS_MPI ON)
