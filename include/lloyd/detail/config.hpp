// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Everything whose machine code depends on the SIMD instruction set takes an `Arch`
// template parameter defaulting to the set the compiler targets (xsimd's convention).
// Translation units built with different -m flags thus instantiate differently named
// kernels and KMeans<T, Arch> classes instead of silently sharing one definition (an
// ODR violation the linker would resolve by picking either).

#include <cstddef>

#include <xsimd/xsimd.hpp>

#if defined(__GNUC__) || defined(__clang__)
#define LLOYD_ALWAYS_INLINE inline __attribute__((always_inline))
#define LLOYD_RESTRICT __restrict__
#else
#define LLOYD_ALWAYS_INLINE inline
#define LLOYD_RESTRICT
#endif

namespace lloyd {
namespace detail {

/// The instruction set the compiler targets (xsimd's best for the flags in use).
using default_arch = xsimd::default_arch;

/// SIMD vector of T for instruction set Arch.
template <class T, class Arch>
using simd = xsimd::batch<T, Arch>;

/// Sum of the lanes of v. (Not xsimd::hadd: with GCC 12's AVX-512 headers it warns
/// "'__Y' is used uninitialized" in every user's -Wall build, a false positive of the
/// compiler's extract intrinsics; a store and a scalar tree have no such problem and
/// cost a few cycles, paid once per row, never per element.)
template <class T, class Arch>
inline T reduce_add(const xsimd::batch<T, Arch>& v) noexcept {
  constexpr std::size_t W = xsimd::batch<T, Arch>::size;
  alignas(64) T lanes[W];
  v.store_aligned(lanes);
  for (std::size_t half = W / 2; half > 0; half /= 2)
    for (std::size_t i = 0; i < half; ++i) lanes[i] += lanes[i + half];
  return lanes[0];
}

}  // namespace detail
}  // namespace lloyd
