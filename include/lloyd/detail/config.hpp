// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Everything whose machine code depends on the SIMD instruction set takes an `Arch`
// template parameter defaulting to the set the compiler targets (xsimd's convention).
// Translation units built with different -m flags thus instantiate differently named
// kernels and KMeans<T, Arch> classes instead of silently sharing one definition (an
// ODR violation the linker would resolve by picking either).

#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__has_include)
#if __has_include(<unistd.h>)
#include <unistd.h>
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LLOYD_ALWAYS_INLINE inline __attribute__((always_inline))
#define LLOYD_RESTRICT __restrict__
#else
#define LLOYD_ALWAYS_INLINE inline
#define LLOYD_RESTRICT
#endif

// Fully unrolls the loop that follows (loops over a register tile's rows or columns,
// whose arrays must live in registers).
#if defined(__clang__)
#define LLOYD_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define LLOYD_UNROLL _Pragma("GCC unroll 32")
#else
#define LLOYD_UNROLL
#endif

namespace lloyd {
namespace detail {

/// The instruction set the compiler targets (xsimd's best for the flags in use).
using default_arch = xsimd::default_arch;

/// SIMD vector of T for instruction set Arch.
template <class T, class Arch>
using simd = xsimd::batch<T, Arch>;

/// Sum of the lanes of v, in a fixed order for each instruction set. (Not xsimd::hadd on
/// AVX-512: GCC 12 declares many AVX-512 intrinsics with an _mm512_undefined_*()
/// pass-through, which warns "'__Y' is used uninitialized" in every user's -Wall build.
/// The masked forms below, with an all-ones mask and an explicit source, compile to the
/// same instructions without it.)
template <class T, class Arch>
LLOYD_ALWAYS_INLINE T reduce_add(const xsimd::batch<T, Arch>& v) noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, float>::value) {
    __m512 x = v;
    x = _mm512_add_ps(x, _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0x4E));  // 256-bit halves
    x = _mm512_add_ps(x, _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0xB1));  // 128-bit blocks
    x = _mm512_add_ps(x, _mm512_mask_permute_ps(x, 0xFFFF, x, 0x4E));        // 64-bit pairs
    x = _mm512_add_ps(x, _mm512_mask_permute_ps(x, 0xFFFF, x, 0xB1));        // neighbours
    return _mm512_cvtss_f32(x);
  } else if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, double>::value) {
    __m512d x = v;
    x = _mm512_add_pd(x, _mm512_mask_shuffle_f64x2(x, 0xFF, x, x, 0x4E));
    x = _mm512_add_pd(x, _mm512_mask_shuffle_f64x2(x, 0xFF, x, x, 0xB1));
    x = _mm512_add_pd(x, _mm512_mask_permute_pd(x, 0xFF, x, 0x55));
    return _mm512_cvtsd_f64(x);
  } else
#endif
  {
    return xsimd::hadd(v);
  }
}

/// Square roots of the lanes of v (on AVX-512 the masked form, for the reason given at
/// reduce_add).
template <class T, class Arch>
LLOYD_ALWAYS_INLINE xsimd::batch<T, Arch> lanes_sqrt(const xsimd::batch<T, Arch>& v) noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, float>::value) {
    const __m512 x = v;
    return _mm512_mask_sqrt_ps(x, 0xFFFF, x);
  } else if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, double>::value) {
    const __m512d x = v;
    return _mm512_mask_sqrt_pd(x, 0xFF, x);
  } else
#endif
  {
    return xsimd::sqrt(v);
  }
}

/// Smallest lane of v (masked AVX-512 shuffles for the reason given at reduce_add).
template <class T, class Arch>
LLOYD_ALWAYS_INLINE T reduce_min(const xsimd::batch<T, Arch>& v) noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, float>::value) {
    __m512 x = v;
    x = _mm512_mask_min_ps(x, 0xFFFF, x, _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0x4E));
    x = _mm512_mask_min_ps(x, 0xFFFF, x, _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0xB1));
    x = _mm512_mask_min_ps(x, 0xFFFF, x, _mm512_mask_permute_ps(x, 0xFFFF, x, 0x4E));
    x = _mm512_mask_min_ps(x, 0xFFFF, x, _mm512_mask_permute_ps(x, 0xFFFF, x, 0xB1));
    return _mm512_cvtss_f32(x);
  } else if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, double>::value) {
    __m512d x = v;
    x = _mm512_mask_min_pd(x, 0xFF, x, _mm512_mask_shuffle_f64x2(x, 0xFF, x, x, 0x4E));
    x = _mm512_mask_min_pd(x, 0xFF, x, _mm512_mask_shuffle_f64x2(x, 0xFF, x, x, 0xB1));
    x = _mm512_mask_min_pd(x, 0xFF, x, _mm512_mask_permute_pd(x, 0xFF, x, 0x55));
    return _mm512_cvtsd_f64(x);
  } else
#endif
  {
    constexpr std::size_t W = xsimd::batch<T, Arch>::size;
    alignas(64) T lanes[W];
    v.store_aligned(lanes);
    T m = lanes[0];
    for (std::size_t i = 1; i < W; ++i) m = lanes[i] < m ? lanes[i] : m;
    return m;
  }
}

/// Bytes of one core's L2 cache, as the C library reports it (sysconf), else 512 KiB;
/// the kernel's cache blocking is sized from it. Only speed depends on it, never results.
inline std::size_t l2_cache_bytes() noexcept {
  static const std::size_t bytes = [] {
    long v = -1;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return v >= (long(128) << 10) && v <= (long(64) << 20) ? static_cast<std::size_t>(v) : std::size_t(512) << 10;
  }();
  return bytes;
}

/// Asks the caches for the 64-byte lines holding [p, p + bytes): for memory about to be
/// read at addresses the hardware prefetcher cannot guess (listed rows, a row's bounds).
inline void prefetch(const void* p, std::size_t bytes) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const char* c = static_cast<const char*>(p);
  for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
#else
  (void)p;
  (void)bytes;
#endif
}

/// The index of the lowest set bit of bits (not 0).
inline unsigned lowest_bit(unsigned bits) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_ctz(bits));
#else
  unsigned r = 0;
  while (!(bits & 1u)) {
    bits >>= 1;
    ++r;
  }
  return r;
#endif
}

}  // namespace detail
}  // namespace lloyd
