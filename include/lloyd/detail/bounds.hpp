// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Arithmetic shared by the bounded algorithms (Hamerly, Exponion, Elkan, Yinyang).
//
// They keep, per row, an upper bound u on the Euclidean distance to its centroid and
// lower bounds on the distances to other centroids, and skip a row whose bounds prove
// its label cannot change. lloyd's labels are the arg-min of the canonical squared
// distances (distance.hpp), which may differ from the exact real-number distances by a
// relative error g (AssignKernel::relative_error()). Bounds here are on the exact
// distances, rounded outward, and a row is skipped only when u (1 + g) < l (1 - g):
// then the canonical distance to its centroid is strictly below the canonical distance
// to any other, so the skip gives exactly the label Lloyd's full pass would give.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <vector>

#include "../matrix.hpp"
#include "assigner.hpp"
#include "parallel.hpp"

namespace lloyd {
namespace detail {

/// Outward-rounded bound arithmetic for one relative canonical error g.
class BoundMath {
 public:
  explicit BoundMath(double g = 0) : g_(g) {}

  /// Upper bound of the exact distance from a canonical squared distance.
  double upper(double canonical_sq) const noexcept { return std::sqrt(std::max(0.0, canonical_sq)) * (1 + g_) * up_; }
  /// Lower bound of the exact distance from a canonical squared distance.
  double lower(double canonical_sq) const noexcept { return std::sqrt(std::max(0.0, canonical_sq)) * (1 - g_) * down_; }
  /// Lower bound of the exact distance from a lower bound of the squared distance.
  static double lower_from_sq(double lower_sq) noexcept { return std::sqrt(std::max(0.0, lower_sq)) * down_; }

  /// u + p, rounded up; l - p, rounded down and kept >= 0.
  static double add_up(double u, double p) noexcept { return (u + p) * up_; }
  static double sub_down(double l, double p) noexcept { return std::max(0.0, (l - p) * down_); }

  /// True when a row with upper bound u and lower bound l keeps its label for certain.
  bool keeps(double u, double l) const noexcept { return u * (1 + g_) < l * (1 - g_); }

  double relative_error() const noexcept { return g_; }
  /// The factor a result is scaled by to round it down (a few ulps).
  static constexpr double round_down_factor() noexcept { return down_; }

 private:
  // One step of double rounding either way, with room to spare.
  static constexpr double up_ = 1 + 0x1p-50;
  static constexpr double down_ = 1 - 0x1p-50;
  double g_;
};

/// A lower bound stored as float (Elkan's and Yinyang's bounds): rounded down.
inline float lower_as_float(double v) noexcept {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, 0.0f);
  return f;
}

/// A shift as float, rounded up (to be subtracted from float lower bounds).
inline float shift_as_float(double v) noexcept {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

/// l[j] = max(0, l[j] - p[j]) rounded down, over float arrays (SIMD): the float
/// subtraction may round up by half an ulp, the factor 1 - 2^-22 takes back more.
/// Returns the smallest new l[j].
template <class Arch = default_arch>
inline float decay_lower_bounds(float* LLOYD_RESTRICT l, const float* LLOYD_RESTRICT p, std::size_t n) noexcept {
  using V = simd<float, Arch>;
  constexpr std::size_t W = V::size;
  const V down(1.0f - 0x1p-22f), zero(0.0f);
  V m(std::numeric_limits<float>::infinity());
  std::size_t j = 0;
  for (; j + W <= n; j += W) {
    V v = (V::load_unaligned(l + j) - V::load_unaligned(p + j)) * down;
    v = xsimd::select(v > zero, v, zero);
    v.store_unaligned(l + j);
    m = xsimd::select(v < m, v, m);
  }
  float mm = reduce_min(m);
  for (; j < n; ++j) {
    float v = (l[j] - p[j]) * (1.0f - 0x1p-22f);
    v = v > 0.0f ? v : 0.0f;
    l[j] = v;
    mm = v < mm ? v : mm;
  }
  return mm;
}

/// The smallest of l[0, n) (+inf if n = 0), in SIMD: four running minima (one would
/// wait on its own latency at every step; Elkan's rows take this over all k bounds).
template <class Arch = default_arch>
inline float min_of(const float* l, std::size_t n) noexcept {
  using V = simd<float, Arch>;
  constexpr std::size_t W = V::size;
  const V inf(std::numeric_limits<float>::infinity());
  V m[4] = {inf, inf, inf, inf};
  std::size_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W)
    LLOYD_UNROLL for (std::size_t q = 0; q < 4; ++q) {
      const V v = V::load_unaligned(l + j + q * W);
      m[q] = xsimd::select(v < m[q], v, m[q]);
    }
  for (; j + W <= n; j += W) {
    const V v = V::load_unaligned(l + j);
    m[0] = xsimd::select(v < m[0], v, m[0]);
  }
  m[0] = xsimd::select(m[1] < m[0], m[1], m[0]);
  m[2] = xsimd::select(m[3] < m[2], m[3], m[2]);
  float mm = reduce_min(xsimd::select(m[2] < m[0], m[2], m[0]));
  for (; j < n; ++j) mm = l[j] < mm ? l[j] : mm;
  return mm;
}

/// The first j < n with l[j] == v, or n if none, in SIMD.
template <class Arch = default_arch>
inline std::size_t index_of(const float* l, std::size_t n, float v) noexcept {
  using V = simd<float, Arch>;
  constexpr std::size_t W = V::size;
  const V vv(v);
  std::size_t j = 0;
  for (; j + W <= n; j += W)
    if (xsimd::any(V::load_unaligned(l + j) == vv)) break;
  for (; j < n; ++j)
    if (l[j] == v) return j;
  return n;
}

/// How far each centroid moved: an upper bound of |new_j - old_j| (computed in double).
template <class T>
std::vector<double> centroid_shifts(MatrixView<const T> C_old, MatrixView<const T> C_new) {
  std::vector<double> p(C_old.rows());
  for (std::size_t c = 0; c < C_old.rows(); ++c) {
    double s = 0;
    for (std::size_t j = 0; j < C_old.cols(); ++j) {
      const double diff = static_cast<double>(C_new(c, j)) - static_cast<double>(C_old(c, j));
      s += diff * diff;
    }
    p[c] = std::sqrt(s) * (1 + 0x1p-40);
  }
  return p;
}

/// Lower bounds of half the distances between centroids, from the kernel's scores of the
/// centroids themselves (set_centroids(C) must have run): half[a * k + b] for a != b,
/// and sep[a] = min over b != a (Hamerly's and Elkan's s(a)). half may be null.
template <class T, class Kernel>
void centroid_separation(const Kernel& kernel, MatrixView<const T> C, ThreadPool& pool, std::vector<float>* half,
                         std::vector<double>& sep) {
  const std::size_t k = C.rows();
  sep.assign(k, std::numeric_limits<double>::infinity());
  if (half) half->resize(k * k);  // every entry is written below
  if (k < 2) {
    if (half && k == 1) (*half)[0] = 0.0f;
    return;
  }
  // Tasks of about 2^20 multiply-adds, whose scores (per_task x ld) stay within 256 KiB:
  // a buffer the allocator hands back without zeroing or faulting in fresh pages; but
  // at least one register tile of rows (the kernel pads a task to whole tiles).
  const std::size_t ld = kernel.padded_clusters();
  const std::size_t per_task = std::max<std::size_t>(
      Kernel::group_rows(k), std::min({std::size_t(256), (std::size_t(1) << 20) / (k * C.cols() + 1),
                                       (std::size_t(256) << 10) / (ld * sizeof(T))}));
  const std::size_t n_tasks = (k + per_task - 1) / per_task;
  pool.parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
    const std::size_t a0 = t * per_task, a1 = std::min(k, a0 + per_task);
    std::vector<std::size_t> rows(a1 - a0);
    for (std::size_t a = a0; a < a1; ++a) rows[a - a0] = a;
    const std::unique_ptr<T[]> scores(new T[rows.size() * ld]);  // written by the kernel before read
    T* out = scores.get();
    std::vector<double> norm2(rows.size()), err(rows.size());
    auto ws = kernel.make_workspace();
    kernel.scores(C, rows.data(), rows.size(), out, ld, norm2.data(), err.data(), ws);
    std::vector<double> h(half ? k : 0);
    for (std::size_t a = a0; a < a1; ++a) {
      const std::size_t r = a - a0;
      // The bound of row a's smallest score (monotone in it) is sep[a]; all of them only
      // when the k x k halves are wanted.
      if (!half) {
        double m = std::numeric_limits<double>::infinity();
        for (std::size_t b = 0; b < k; ++b)
          if (b != a) m = std::min(m, static_cast<double>(out[r * ld + b]));
        sep[a] = 0.5 * BoundMath::lower_from_sq(norm2[r] + m - err[r]);
        continue;
      }
      for (std::size_t b = 0; b < k; ++b)  // a loop the compiler vectorises
        h[b] = 0.5 * BoundMath::lower_from_sq(norm2[r] + static_cast<double>(out[r * ld + b]) - err[r]);
      double m = std::numeric_limits<double>::infinity();
      float* row = half->data() + a * k;
      for (std::size_t b = 0; b < k; ++b) {
        row[b] = lower_as_float(h[b]);
        if (b != a) m = std::min(m, h[b]);
      }
      row[a] = 0.0f;
      sep[a] = m;
    }
  });
}

}  // namespace detail
}  // namespace lloyd
