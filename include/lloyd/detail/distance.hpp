// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Row-against-row squared Euclidean distances, SIMD along the feature axis.
//
// These compute sum((a - b)^2) directly, never through |a|^2 - 2 a.b + |b|^2, so they
// carry no cancellation error. They are also *canonical*: every routine here computes a
// pair's distance with the same arithmetic (one vector accumulator per pair, fed
// features in order, W at a time, the last vector zero-padded, then the lanes added in
// a fixed tree), so a pair gets bit-for-bit the same value whichever routine computes
// it, one pair at a time or R x G at once. Labels are defined as the arg-min of these
// values (lowest index on equality); the assignment kernel and the bounded algorithms
// all honour that definition, which is what makes their results identical.

#include <cstddef>
#include <limits>
#include <type_traits>

#include "config.hpp"

namespace lloyd {
namespace detail {

/// The n < W values at p as a vector, zero-padded; never reads past p + n (masked loads
/// where the instruction set has them: masked-off lanes do not fault).
template <class Arch, class T>
LLOYD_ALWAYS_INLINE simd<T, Arch> load_tail(const T* p, std::size_t n) noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, float>::value)
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  else if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value && std::is_same<T, double>::value)
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1), p);
  else
#endif
#if XSIMD_WITH_AVX2
      if constexpr (std::is_base_of<xsimd::avx2, Arch>::value && std::is_same<T, float>::value)
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  else if constexpr (std::is_base_of<xsimd::avx2, Arch>::value && std::is_same<T, double>::value)
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(n)),
                                                    _mm256_setr_epi64x(0, 1, 2, 3)));
  else
#endif
  {
    constexpr std::size_t W = simd<T, Arch>::size;
    alignas(64) T buf[W] = {};
    for (std::size_t j = 0; j < n; ++j) buf[j] = p[j];
    return simd<T, Arch>::load_aligned(buf);
  }
}

// The canonical arithmetic of a sum over j < d of term(a[j], b[j]): W lanes, lane q
// accumulating j = q, q + W, ... with fused multiply-adds, the zero-padded tail last, then
// reduce_add. squared_distance and dot_product are its two instances.
template <class Arch, class T, class Step>
inline T canonical_sum(const T* LLOYD_RESTRICT a, const T* LLOYD_RESTRICT b, std::size_t d, Step step) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W) acc = step(V::load_unaligned(a + j), V::load_unaligned(b + j), acc);
  if (j < d) acc = step(load_tail<Arch>(a + j, d - j), load_tail<Arch>(b + j, d - j), acc);
  return reduce_add(acc);
}

/// Canonical sum_j (a[j] - b[j])^2 over j < d; unaligned pointers are fine.
template <class Arch = default_arch, class T>
inline T squared_distance(const T* LLOYD_RESTRICT a, const T* LLOYD_RESTRICT b, std::size_t d) noexcept {
  return canonical_sum<Arch>(a, b, d, [](auto x, auto y, auto acc) {
    const auto diff = x - y;
    return xsimd::fma(diff, diff, acc);
  });
}

/// sum_j (a[j] - b[j])^2 in four running sums: not the canonical arithmetic (other
/// roundings, within the same bound canonical_relative_error gives: fewer additions in a
/// row), but four times the speed at large d, where a lone sum waits on its own latency.
/// For bounds only: never a reported distance, never a comparison between centroids.
template <class Arch = default_arch, class T>
inline T squared_distance_for_bound(const T* LLOYD_RESTRICT a, const T* LLOYD_RESTRICT b, std::size_t d) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
  std::size_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W)
    LLOYD_UNROLL for (std::size_t q = 0; q < 4; ++q) {
      const V diff = V::load_unaligned(a + j + q * W) - V::load_unaligned(b + j + q * W);
      acc[q] = xsimd::fma(diff, diff, acc[q]);
    }
  for (; j + W <= d; j += W) {
    const V diff = V::load_unaligned(a + j) - V::load_unaligned(b + j);
    acc[0] = xsimd::fma(diff, diff, acc[0]);
  }
  if (j < d) {
    const V diff = load_tail<Arch>(a + j, d - j) - load_tail<Arch>(b + j, d - j);
    acc[1] = xsimd::fma(diff, diff, acc[1]);
  }
  return reduce_add((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

/// A relative bound g of the canonical squared distances' rounding error: a canonical
/// value is within a factor (1 +- g) of the exact squared distance of the rows' values.
/// Each lane adds at most d / W + 1 nonnegative rounded terms and the lanes add in
/// log2(W) steps, so (d + W + 4) epsilons cover it; the factor 4 is room to spare.
template <class T, class Arch = default_arch>
inline double canonical_relative_error(std::size_t d) noexcept {
  constexpr std::size_t W = simd<T, Arch>::size;
  return 4.0 * static_cast<double>(d + W + 4) * static_cast<double>(std::numeric_limits<T>::epsilon());
}

/// Canonical squared distances from x to G rows at once (x is loaded once per step).
template <std::size_t G, class Arch = default_arch, class T>
inline void squared_distances_to(const T* LLOYD_RESTRICT x, const T* const* rows, std::size_t d, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[G];
  LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) acc[g] = V(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W) {
    const V xv = V::load_unaligned(x + j);
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V diff = xv - V::load_unaligned(rows[g] + j);
      acc[g] = xsimd::fma(diff, diff, acc[g]);
    }
  }
  if (j < d) {
    const V xv = load_tail<Arch>(x + j, d - j);
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V diff = xv - load_tail<Arch>(rows[g] + j, d - j);
      acc[g] = xsimd::fma(diff, diff, acc[g]);
    }
  }
  LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) out[g] = reduce_add(acc[g]);
}

/// Canonical squared distances from x to rows[0..count): out[g] = |x - rows[g]|^2, four
/// rows at a time (x is read once per four).
template <class Arch = default_arch, class T>
inline void squared_distances_to_each(const T* LLOYD_RESTRICT x, const T* const* rows, std::size_t count, std::size_t d,
                                      T* out) noexcept {
  std::size_t g = 0;
  for (; g + 4 <= count; g += 4) squared_distances_to<4, Arch>(x, rows + g, d, out + g);
  switch (count - g) {
    case 3: squared_distances_to<3, Arch>(x, rows + g, d, out + g); break;
    case 2: squared_distances_to<2, Arch>(x, rows + g, d, out + g); break;
    case 1: squared_distances_to<1, Arch>(x, rows + g, d, out + g); break;
    default: break;
  }
}

/// Canonical squared distances from x to m listed rows, four at a time: use(q, |x - row(q)|^2)
/// for q = 0, 1, ..., m - 1, in that order (row(q) gives the q-th row's d values).
template <class Arch = default_arch, class T, class Row, class Use>
inline void squared_distances_listed(const T* x, std::size_t d, std::size_t m, Row row, Use use) {
  T out[4];
  std::size_t q = 0;
  for (; q + 4 <= m; q += 4) {
    const T* rows[4] = {row(q), row(q + 1), row(q + 2), row(q + 3)};
    squared_distances_to<4, Arch>(x, rows, d, out);
    for (std::size_t r = 0; r < 4; ++r) use(q + r, out[r]);
  }
  for (; q < m; ++q) use(q, squared_distance<Arch>(x, row(q), d));
}

/// Canonical squared distances of G pairs at once: out[g] = |xs[g] - ys[g]|^2, G
/// independent sums (a lone one waits on its own latency at large d).
template <std::size_t G, class Arch = default_arch, class T>
inline void squared_distances_paired(const T* const* xs, const T* const* ys, std::size_t d, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[G];
  LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) acc[g] = V(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W)
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V diff = V::load_unaligned(xs[g] + j) - V::load_unaligned(ys[g] + j);
      acc[g] = xsimd::fma(diff, diff, acc[g]);
    }
  if (j < d)
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V diff = load_tail<Arch>(xs[g] + j, d - j) - load_tail<Arch>(ys[g] + j, d - j);
      acc[g] = xsimd::fma(diff, diff, acc[g]);
    }
  LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) out[g] = reduce_add(acc[g]);
}

/// Canonical squared distances from R rows to G rows: out[r * G + g] = |x_r - y_g|^2.
/// Each loaded vector of a y_g serves R rows, each of an x_r serves G rows.
template <std::size_t R, std::size_t G, class Arch = default_arch, class T>
inline void squared_distances_block(const T* const* xs, const T* const* ys, std::size_t d, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[R][G];
  LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r)
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) acc[r][g] = V(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W) {
    V xv[R];
    LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r) xv[r] = V::load_unaligned(xs[r] + j);
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V yv = V::load_unaligned(ys[g] + j);
      LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r) {
        const V diff = xv[r] - yv;
        acc[r][g] = xsimd::fma(diff, diff, acc[r][g]);
      }
    }
  }
  if (j < d) {
    V xv[R];
    LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r) xv[r] = load_tail<Arch>(xs[r] + j, d - j);
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const V yv = load_tail<Arch>(ys[g] + j, d - j);
      LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r) {
        const V diff = xv[r] - yv;
        acc[r][g] = xsimd::fma(diff, diff, acc[r][g]);
      }
    }
  }
  LLOYD_UNROLL for (std::size_t r = 0; r < R; ++r)
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) out[r * G + g] = reduce_add(acc[r][g]);
}

/// Canonical sum_j a[j] * b[j] (same arithmetic scheme as squared_distance).
template <class Arch = default_arch, class T>
inline T dot_product(const T* LLOYD_RESTRICT a, const T* LLOYD_RESTRICT b, std::size_t d) noexcept {
  return canonical_sum<Arch>(a, b, d, [](auto x, auto y, auto acc) { return xsimd::fma(x, y, acc); });
}

/// sum_j a[j]^2 over j < d (not canonical: two accumulators).
template <class Arch = default_arch, class T>
inline T squared_norm(const T* a, std::size_t d) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t j = 0;
  V acc0(T(0)), acc1(T(0));
  for (; j + 2 * W <= d; j += 2 * W) {
    const V v0 = V::load_unaligned(a + j);
    const V v1 = V::load_unaligned(a + j + W);
    acc0 = xsimd::fma(v0, v0, acc0);
    acc1 = xsimd::fma(v1, v1, acc1);
  }
  for (; j + W <= d; j += W) {
    const V v0 = V::load_unaligned(a + j);
    acc0 = xsimd::fma(v0, v0, acc0);
  }
  if (j < d) {
    const V v0 = load_tail<Arch>(a + j, d - j);
    acc0 = xsimd::fma(v0, v0, acc0);
  }
  return reduce_add(acc0 + acc1);
}

}  // namespace detail
}  // namespace lloyd
