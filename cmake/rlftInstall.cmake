# Install rules: headers, exported targets, rlftConfig.cmake and its version file, so that
# find_package(rlft CONFIG REQUIRED) works, with COMPONENTS transformer always and text and cuda
# where the tokenizers, the sandbox, MPI and the CUDA back-end were configured. Nothing here needs a build:
# configuring is enough before `cmake --install`.

include(CMakePackageConfigHelpers)

set(RLFT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rlft" CACHE STRING
    "Where rlftConfig.cmake is installed, relative to the install prefix")

install(DIRECTORY include/ DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS rlft EXPORT rlftTargets)
install(EXPORT rlftTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")

install(DIRECTORY examples/transformer examples/tasks
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/rlft/examples")
install(TARGETS rlft_transformer EXPORT rlftTransformerTargets)
install(EXPORT rlftTransformerTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")

if(RLFT_HAS_TEXT)
  install(TARGETS rlft_text EXPORT rlftTextTargets)
  install(EXPORT rlftTextTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
endif()

if(RLFT_HAS_SANDBOX)
  install(TARGETS rlft_sandbox EXPORT rlftSandboxTargets)
  install(EXPORT rlftSandboxTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
endif()

if(RLFT_HAS_MPI)
  install(TARGETS rlft_mpi EXPORT rlftMpiTargets)
  install(EXPORT rlftMpiTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
endif()

if(RLFT_HAS_CUDA)
  install(DIRECTORY kernels/ DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(TARGETS rlft_cuda EXPORT rlftCudaTargets)
  install(EXPORT rlftCudaTargets NAMESPACE rlft:: DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
endif()

configure_package_config_file(cmake/rlftConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/rlftConfig.cmake"
  INSTALL_DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
# Header-only: the package fits any architecture.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/rlftConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/rlftConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/rlftConfigVersion.cmake"
  DESTINATION "${RLFT_INSTALL_CMAKEDIR}")
install(FILES LICENSE DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/rlft")
