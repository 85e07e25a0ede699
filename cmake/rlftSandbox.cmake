# Defines rlft::sandbox, the isolated runs of untrusted programs of include/rlft/sandbox/, when
# libseccomp is found (Debian libseccomp-dev); the runs themselves need bubblewrap (Debian
# bubblewrap) at run time. Sets RLFT_HAS_SANDBOX for the rest of the build.

set(RLFT_HAS_SANDBOX OFF)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(RLFT_SECCOMP QUIET IMPORTED_TARGET libseccomp)
endif()
if(NOT RLFT_SECCOMP_FOUND)
  message(STATUS "rlft: libseccomp not found (Debian: libseccomp-dev); no rlft::sandbox")
  return()
endif()

add_library(rlft_sandbox INTERFACE)
add_library(rlft::sandbox ALIAS rlft_sandbox)
set_target_properties(rlft_sandbox PROPERTIES EXPORT_NAME sandbox)
target_link_libraries(rlft_sandbox INTERFACE rlft::rlft PkgConfig::RLFT_SECCOMP)
set(RLFT_HAS_SANDBOX ON)
