// Explicit SIMD for the per-token formulas. The estimators' and objectives' per-token
// functions are templates on a value type `Real` that is either a scalar (float on a CUDA
// device or the CPU fallback, double for the finite-difference tests) or a pack of floats (the
// CPU hot path), so one source serves every path. Compilers do not vectorise these loops on
// their own: with the default -ftrapping-math, GCC specialises the branches of clamps and
// clips and then refuses to execute floating-point operations under a condition, and the
// loops stay scalar. A pack is a GCC/Clang vector type of one register's width (8 floats with
// AVX, else 4), whose arithmetic is written with the usual operators; the
// helpers below cover what differs between scalars and packs: broadcasting a constant,
// masks (bool for a scalar, a lane-wise all-ones/zero integer pack for a pack), selects,
// loads and stores, and lane reductions in a fixed order.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "rlft/core/host_device.hpp"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define RLFT_HAS_FLOAT_PACKS 1
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#else
#define RLFT_HAS_FLOAT_PACKS 0
#endif

// The per-token functions must be inlined into the token loops: a call per pack passes every
// operand through memory.
// RLFT_INLINE_LAMBDA goes after a lambda's parameter list.
#if defined(__CUDACC__)
#define RLFT_INLINE __forceinline__
#define RLFT_INLINE_LAMBDA
#elif defined(__GNUC__) || defined(__clang__)
#define RLFT_INLINE inline __attribute__((always_inline))
#define RLFT_INLINE_LAMBDA __attribute__((always_inline))
#else
#define RLFT_INLINE inline
#define RLFT_INLINE_LAMBDA
#endif

namespace rlft::detail {

template <class Real>
struct pack_traits {
  using scalar = Real;
  using mask = bool;
  static constexpr std::size_t width = 1;
};

#if RLFT_HAS_FLOAT_PACKS
// One vector register: 8 floats with AVX, 4 (SSE, NEON) otherwise.
#if defined(__AVX__)
inline constexpr std::size_t float_pack_width = 8;
#else
inline constexpr std::size_t float_pack_width = 4;
#endif
using float_pack = float __attribute__((vector_size(4 * float_pack_width)));
using int_pack = std::int32_t __attribute__((vector_size(4 * float_pack_width)));
using byte_pack = std::uint8_t __attribute__((vector_size(float_pack_width)));

template <>
struct pack_traits<float_pack> {
  using scalar = float;
  using mask = int_pack;  // per lane: −1 (true) or 0 (false)
  static constexpr std::size_t width = float_pack_width;
};

#endif

// The value type the hot loops use for arrays of Real: a pack of floats where the compiler has
// vector types, the scalar otherwise (and always for double, the checking path).
template <class Real>
struct hot_loop_value {
  using type = Real;
};
#if RLFT_HAS_FLOAT_PACKS
template <>
struct hot_loop_value<float> {
  using type = float_pack;
};
#endif
template <class Real>
using hot_loop_value_t = typename hot_loop_value<Real>::type;

template <class Real>
using scalar_of = typename pack_traits<Real>::scalar;
template <class Real>
using mask_of = typename pack_traits<Real>::mask;
template <class Real>
inline constexpr std::size_t width_of = pack_traits<Real>::width;
template <class Real>
inline constexpr bool is_pack = width_of<Real> != 1;

// Every lane = value.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE Real splat(scalar_of<Real> value) noexcept {
  if constexpr (is_pack<Real>)
    return Real{} + value;
  else
    return value;
}

template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE mask_of<Real> splat_mask(bool value) noexcept {
  if constexpr (is_pack<Real>)
    return mask_of<Real>{} - static_cast<int>(value);
  else
    return value;
}

template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE mask_of<Real> mask_not(mask_of<Real> mask) noexcept {
  if constexpr (is_pack<Real>)
    return ~mask;
  else
    return !mask;
}

// a ∧ b lane by lane, without branches: bitwise on packs' masks and on a scalar's bools
// (through integers, which is what `&` on bools means and what clang wants spelled out).
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE mask_of<Real> mask_and(mask_of<Real> a, mask_of<Real> b) noexcept {
  if constexpr (is_pack<Real>)
    return a & b;
  else
    return static_cast<bool>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}

// a ∨ b lane by lane, as mask_and.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE mask_of<Real> mask_or(mask_of<Real> a, mask_of<Real> b) noexcept {
  if constexpr (is_pack<Real>)
    return a | b;
  else
    return static_cast<bool>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}

// mask ? when_true : when_false, lane by lane (bitwise for packs, which every compiler that
// has vector types supports).
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE Real select(mask_of<Real> mask, Real when_true, Real when_false) noexcept {
  if constexpr (is_pack<Real>)
    return reinterpret_cast<Real>((mask & reinterpret_cast<mask_of<Real>>(when_true)) |
                                  (~mask & reinterpret_cast<mask_of<Real>>(when_false)));
  else
    return mask ? when_true : when_false;
}

// 1 where the mask holds, 0 elsewhere.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE Real to_real(mask_of<Real> mask) noexcept {
  if constexpr (is_pack<Real>)
    return reinterpret_cast<Real>(mask & reinterpret_cast<mask_of<Real>>(splat<Real>(1.0f)));
  else
    return static_cast<Real>(mask);
}

// Lane-wise float → int32 (truncating), int32 → float and int32 bits → float, for fast_exp.
#if RLFT_HAS_FLOAT_PACKS
RLFT_INLINE int_pack truncate_to_int(float_pack x) noexcept { return __builtin_convertvector(x, int_pack); }
RLFT_INLINE float_pack int_to_real(int_pack x) noexcept { return __builtin_convertvector(x, float_pack); }
RLFT_INLINE float_pack bits_to_real(int_pack bits) noexcept { return reinterpret_cast<float_pack>(bits); }
#endif
RLFT_HOST_DEVICE RLFT_INLINE int truncate_to_int(float x) noexcept { return static_cast<int>(x); }
RLFT_HOST_DEVICE RLFT_INLINE float int_to_real(int x) noexcept { return static_cast<float>(x); }
RLFT_INLINE float bits_to_real(int bits) noexcept { return std::bit_cast<float>(bits); }

// Loads and stores of width_of<Real> consecutive values.
template <class Real, class Scalar>
RLFT_INLINE Real load(const Scalar* from) noexcept {
  if constexpr (is_pack<Real>) {
    scalar_of<Real> lanes[width_of<Real>];
    for (std::size_t i = 0; i < width_of<Real>; ++i) lanes[i] = static_cast<scalar_of<Real>>(from[i]);
    Real pack;
    std::memcpy(&pack, lanes, sizeof pack);
    return pack;
  } else {
    return static_cast<Real>(*from);
  }
}

template <class Real>
RLFT_INLINE void store(scalar_of<Real>* to, Real value) noexcept {
  if constexpr (is_pack<Real>)
    std::memcpy(to, &value, sizeof value);
  else
    *to = value;
}

// Lanes whose byte is non-zero.
template <class Real>
RLFT_INLINE mask_of<Real> load_mask(const std::uint8_t* from) noexcept {
#if RLFT_HAS_FLOAT_PACKS
  if constexpr (is_pack<Real>) {
    // Compilers expand the generic conversion byte by byte; the intrinsic is one instruction.
#if defined(__AVX2__)
    const __m256i widened = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(from)));
    return reinterpret_cast<mask_of<Real>>(widened) != 0;
#else
    byte_pack bytes;
    std::memcpy(&bytes, from, sizeof bytes);
    return __builtin_convertvector(bytes, mask_of<Real>) != 0;
#endif
  } else
#endif
  {
    return *from != 0;
  }
}

// Σ and max over the lanes, in lane order.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE double lane_sum(Real value) noexcept {
  if constexpr (is_pack<Real>) {
    double sum = 0.0;
    for (std::size_t i = 0; i < width_of<Real>; ++i) sum += static_cast<double>(value[i]);
    return sum;
  } else {
    return static_cast<double>(value);
  }
}

template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE double lane_max(Real value) noexcept {
  if constexpr (is_pack<Real>) {
    double largest = static_cast<double>(value[0]);
    for (std::size_t i = 1; i < width_of<Real>; ++i)
      largest = static_cast<double>(value[i]) > largest ? static_cast<double>(value[i]) : largest;
    return largest;
  } else {
    return static_cast<double>(value);
  }
}

}  // namespace rlft::detail
