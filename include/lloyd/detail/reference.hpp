// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Plain scalar reference implementations: one thread, one point-centroid pair at a
// time, every sum in double. They define what the fast kernels must compute (tests
// compare against them) and they are the naive baseline of the benchmarks.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"

namespace lloyd {
namespace detail {

/// Squared Euclidean distance accumulated in double, one term at a time.
template <class T>
double reference_squared_distance(const T* a, const T* b, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += diff * diff;
  }
  return s;
}

/// Nearest centroid of every row (lowest index on ties); distances[i] = its squared distance.
template <class T>
void reference_assign(MatrixView<const T> X, MatrixView<const T> C, std::int32_t* labels, double* distances) {
  for (std::size_t i = 0; i < X.rows(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    std::int32_t best_j = 0;
    for (std::size_t j = 0; j < C.rows(); ++j) {
      const double dist = reference_squared_distance(X.row(i), C.row(j), X.cols());
      if (dist < best) {
        best = dist;
        best_j = static_cast<std::int32_t>(j);
      }
    }
    labels[i] = best_j;
    if (distances != nullptr) distances[i] = best;
  }
}

/// One naive Lloyd iteration: assign every row, then move each centroid to the
/// (weighted) mean of its rows; a centroid without rows stays where it is.
/// Returns the inertia of the assignment (w.r.t. the centroids before the update).
template <class T>
double reference_lloyd_iteration(MatrixView<const T> X, Matrix<T>& C, std::vector<std::int32_t>& labels,
                                 const T* weights = nullptr) {
  const std::size_t n = X.rows(), d = X.cols(), k = C.rows();
  labels.resize(n);
  std::vector<double> dist(n);
  reference_assign<T>(X, C, labels.data(), dist.data());
  std::vector<double> sums(k * d, 0.0), wsum(k, 0.0);
  double inertia = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double w = weights ? static_cast<double>(weights[i]) : 1.0;
    const std::size_t c = static_cast<std::size_t>(labels[i]);
    inertia += w * dist[i];
    wsum[c] += w;
    for (std::size_t j = 0; j < d; ++j) sums[c * d + j] += w * static_cast<double>(X(i, j));
  }
  for (std::size_t c = 0; c < k; ++c)
    if (wsum[c] > 0)
      for (std::size_t j = 0; j < d; ++j) C(c, j) = static_cast<T>(sums[c * d + j] / wsum[c]);
  return inertia;
}

}  // namespace detail
}  // namespace lloyd
