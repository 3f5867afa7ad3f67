// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Row-against-row squared Euclidean distances, SIMD along the feature axis.
//
// These compute sum((a - b)^2) directly, never through |a|^2 - 2 a.b + |b|^2, so they
// carry no cancellation error: they give the exact-as-possible distances behind
// inertia, k-means++ potentials and transform(). The assignment kernel (assign.hpp)
// is the place for the faster, tiled formulation.

#include <cstddef>

#include "config.hpp"

namespace lloyd {
namespace detail {

/// sum_j (a[j] - b[j])^2 over j < d; unaligned pointers are fine.
template <class Arch = default_arch, class T>
inline T squared_distance(const T* LLOYD_RESTRICT a, const T* LLOYD_RESTRICT b, std::size_t d) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t j = 0;
  V acc0(T(0)), acc1(T(0)), acc2(T(0)), acc3(T(0));
  for (; j + 4 * W <= d; j += 4 * W) {
    const V d0 = V::load_unaligned(a + j) - V::load_unaligned(b + j);
    const V d1 = V::load_unaligned(a + j + W) - V::load_unaligned(b + j + W);
    const V d2 = V::load_unaligned(a + j + 2 * W) - V::load_unaligned(b + j + 2 * W);
    const V d3 = V::load_unaligned(a + j + 3 * W) - V::load_unaligned(b + j + 3 * W);
    acc0 = xsimd::fma(d0, d0, acc0);
    acc1 = xsimd::fma(d1, d1, acc1);
    acc2 = xsimd::fma(d2, d2, acc2);
    acc3 = xsimd::fma(d3, d3, acc3);
  }
  for (; j + W <= d; j += W) {
    const V d0 = V::load_unaligned(a + j) - V::load_unaligned(b + j);
    acc0 = xsimd::fma(d0, d0, acc0);
  }
  T sum = reduce_add((acc0 + acc1) + (acc2 + acc3));
  for (; j < d; ++j) {
    const T diff = a[j] - b[j];
    sum += diff * diff;
  }
  return sum;
}

/// Squared distances from x to G rows at once (x is loaded once per SIMD step).
template <std::size_t G, class Arch = default_arch, class T>
inline void squared_distances_to(const T* LLOYD_RESTRICT x, const T* const* rows, std::size_t d, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[G];
  for (std::size_t g = 0; g < G; ++g) acc[g] = V(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W) {
    const V xv = V::load_unaligned(x + j);
    for (std::size_t g = 0; g < G; ++g) {
      const V diff = xv - V::load_unaligned(rows[g] + j);
      acc[g] = xsimd::fma(diff, diff, acc[g]);
    }
  }
  for (std::size_t g = 0; g < G; ++g) {
    T sum = reduce_add(acc[g]);
    for (std::size_t jj = j; jj < d; ++jj) {
      const T diff = x[jj] - rows[g][jj];
      sum += diff * diff;
    }
    out[g] = sum;
  }
}

/// Squared distances from R rows to G rows: out[r * G + g] = |x_r - y_g|^2. Each loaded
/// vector of a y_g serves R rows, each of an x_r serves G rows.
template <std::size_t R, std::size_t G, class Arch = default_arch, class T>
inline void squared_distances_block(const T* const* xs, const T* const* ys, std::size_t d, T* out) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  V acc[R][G];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t g = 0; g < G; ++g) acc[r][g] = V(T(0));
  std::size_t j = 0;
  for (; j + W <= d; j += W) {
    V xv[R];
    for (std::size_t r = 0; r < R; ++r) xv[r] = V::load_unaligned(xs[r] + j);
    for (std::size_t g = 0; g < G; ++g) {
      const V yv = V::load_unaligned(ys[g] + j);
      for (std::size_t r = 0; r < R; ++r) {
        const V diff = xv[r] - yv;
        acc[r][g] = xsimd::fma(diff, diff, acc[r][g]);
      }
    }
  }
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t g = 0; g < G; ++g) {
      T sum = reduce_add(acc[r][g]);
      for (std::size_t jj = j; jj < d; ++jj) {
        const T diff = xs[r][jj] - ys[g][jj];
        sum += diff * diff;
      }
      out[r * G + g] = sum;
    }
}

/// sum_j a[j]^2 over j < d.
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
  T sum = reduce_add(acc0 + acc1);
  for (; j < d; ++j) sum += a[j] * a[j];
  return sum;
}

}  // namespace detail
}  // namespace lloyd
