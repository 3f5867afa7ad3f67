// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The register tile of the assignment kernel (assign.hpp): the x.c products of MR packed
// rows and P vectors of centroids accumulated in MR x P vector registers, one multiply-
// add per row, per vector of centroids and per feature, then folded into each row's
// running per-lane (minimum, runner-up, slot) or stored. TileShape says how large a tile
// each instruction set holds in its registers.

#include <cstddef>

#include "config.hpp"
#include "distance.hpp"

namespace lloyd {
namespace detail {

/// Register-tile shape of the kernel for one scalar type and instruction set.
template <class T, class Arch>
struct TileShape {
  static constexpr std::size_t W = simd<T, Arch>::size;
  // 32 vector registers with AVX-512, 16 otherwise (SSE*, AVX, AVX2, NEON has 32 but
  // the 16-register shape is a safe choice there too).
  static constexpr bool wide_file = sizeof(simd<T, Arch>) == 64;
  static constexpr std::size_t MR2 = wide_file ? 14 : 6;   // rows per tile with P = 2
  static constexpr std::size_t MR1 = wide_file ? 24 : 12;  // rows per tile when k <= W
  static constexpr std::size_t JB = 4;                     // features per packed step
};

/// Dot products of MR packed rows with P vectors of centroids. Emit = false: folded into
/// the rows' running per-lane minimum, runner-up and vector slot of |c|^2 - 2 x.c.
/// Emit = true: the scores are stored to out (row r at out + r * ld).
template <class T, class Arch, std::size_t MR, std::size_t P, bool Emit>
LLOYD_ALWAYS_INLINE void score_tile(const T* LLOYD_RESTRICT rows, const T* LLOYD_RESTRICT panel,
                                    const T* LLOYD_RESTRICT norms, std::size_t feature_steps, T first_slot,
                                    T* LLOYD_RESTRICT best_score, T* LLOYD_RESTRICT second_score,
                                    T* LLOYD_RESTRICT best_slot, T* LLOYD_RESTRICT out, std::size_t ld) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t JB = TileShape<T, Arch>::JB;
  V acc[MR][P];
  LLOYD_UNROLL
  for (std::size_t r = 0; r < MR; ++r) {
    LLOYD_UNROLL
    for (std::size_t p = 0; p < P; ++p) acc[r][p] = V(T(0));
  }
  for (std::size_t s = 0; s < feature_steps; ++s) {
    const T* a = rows + s * MR * JB;
    const T* b = panel + s * JB * P * W;
    LLOYD_UNROLL
    for (std::size_t jj = 0; jj < JB; ++jj) {
      V bv[P];
      LLOYD_UNROLL
      for (std::size_t p = 0; p < P; ++p) bv[p] = V::load_aligned(b + (jj * P + p) * W);
      LLOYD_UNROLL
      for (std::size_t r = 0; r < MR; ++r) {
        const V av(a[r * JB + jj]);
        LLOYD_UNROLL
        for (std::size_t p = 0; p < P; ++p) acc[r][p] = xsimd::fma(av, bv[p], acc[r][p]);
      }
    }
  }
  const V minus_two(T(-2));
  if constexpr (Emit) {
    LLOYD_UNROLL
    for (std::size_t r = 0; r < MR; ++r) {
      LLOYD_UNROLL
      for (std::size_t p = 0; p < P; ++p)
        xsimd::fma(acc[r][p], minus_two, V::load_aligned(norms + p * W)).store_unaligned(out + r * ld + p * W);
    }
  } else {
    (void)out;
    (void)ld;
    LLOYD_UNROLL
    for (std::size_t r = 0; r < MR; ++r) {
      V bs = V::load_aligned(best_score + r * W);
      V b2 = V::load_aligned(second_score + r * W);
      V bi = V::load_aligned(best_slot + r * W);
      LLOYD_UNROLL
      for (std::size_t p = 0; p < P; ++p) {
        const V score = xsimd::fma(acc[r][p], minus_two, V::load_aligned(norms + p * W));
        const auto better = score < bs;  // strict: the earlier (lower) index keeps ties
        // (select, not xsimd::min: GCC 12's _mm512_min_ps warns falsely in -Wall builds)
        b2 = xsimd::select(better, bs, xsimd::select(score < b2, score, b2));
        bs = xsimd::select(better, score, bs);
        bi = xsimd::select(better, V(first_slot + T(p)), bi);
      }
      bs.store_aligned(best_score + r * W);
      b2.store_aligned(second_score + r * W);
      bi.store_aligned(best_slot + r * W);
    }
  }
}

}  // namespace detail
}  // namespace lloyd
