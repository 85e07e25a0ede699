# Defines rlft::cuda when a CUDA compiler is available (RLFT_ENABLE_CUDA = AUTO or ON).
# Sets RLFT_HAS_CUDA for the rest of the build.

set(RLFT_HAS_CUDA OFF)
if(NOT RLFT_ENABLE_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "RLFT_ENABLE_CUDA must be AUTO, ON or OFF, not '${RLFT_ENABLE_CUDA}'")
endif()
if(RLFT_ENABLE_CUDA STREQUAL "OFF")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(RLFT_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "RLFT_ENABLE_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
  endif()
  message(STATUS "rlft: no CUDA compiler found, building the CPU path only")
  return()
endif()

enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
# CUDA 12.x/13.x ship CCCL (Thrust, CUB, libcu++) with a CMake package inside the toolkit.
find_package(CCCL CONFIG REQUIRED HINTS "${CUDAToolkit_LIBRARY_DIR}/cmake" "${CUDAToolkit_LIBRARY_ROOT}/lib/cmake")

add_library(rlft_cuda INTERFACE)
add_library(rlft::cuda ALIAS rlft_cuda)
set_target_properties(rlft_cuda PROPERTIES EXPORT_NAME cuda)
target_include_directories(rlft_cuda INTERFACE
  $<BUILD_INTERFACE:${CMAKE_CURRENT_LIST_DIR}/../kernels>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(rlft_cuda INTERFACE rlft::rlft CCCL::CCCL CUDA::cudart CUDA::cublas CUDA::cublasLt)
# CMake < 3.26 does not know that nvcc 12+ accepts C++20, so cuda_std_20 may be unknown:
# fall back to passing the flag for CUDA sources ourselves.
if("cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES)
  target_compile_features(rlft_cuda INTERFACE cuda_std_20)
else()
  target_compile_options(rlft_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
endif()
# Lambdas in device code (Thrust/CUB functors) and constexpr std:: helpers on the device.
target_compile_options(rlft_cuda INTERFACE
  $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda --expt-relaxed-constexpr>)

set(RLFT_HAS_CUDA ON)
message(STATUS "rlft: CUDA back-end enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION})")

# Applies the configured architectures to one of rlft's own CUDA programs (C++20 comes with
# rlft::cuda).
function(rlft_configure_cuda_target target)
  set_target_properties(${target} PROPERTIES CUDA_ARCHITECTURES "${RLFT_CUDA_ARCHITECTURES}")
endfunction()
