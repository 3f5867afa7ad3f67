// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The assignment kernel: nearest centroid of each row. This header is the one seam
// where the assignment step's speed is decided; the rest of the library only uses
// AssignKernel's interface:
//
//   AssignKernel<T> kernel(n_features);
//   kernel.set_centroids(C);                  // once per iteration (packs C)
//   auto ws = kernel.make_workspace();        // one per worker thread
//   kernel.assign(X, begin, end, labels, ws); // rows [begin, end), any thread
//
// Ties go to the lowest centroid index. This version computes each distance
// directly with SIMD along the features, four centroids per pass over a row.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "aligned.hpp"
#include "config.hpp"
#include "distance.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class AssignKernel {
 public:
  /// Per-thread scratch space (empty for this kernel).
  struct Workspace {};

  explicit AssignKernel(std::size_t n_features) : d_(n_features) {}

  /// Takes the centroids for the following assign() calls (copied; C may change afterwards).
  void set_centroids(MatrixView<const T> C) {
    k_ = C.rows();
    centroids_ = Matrix<T>(C);
  }

  Workspace make_workspace() const { return {}; }
  std::size_t n_clusters() const noexcept { return k_; }
  std::size_t n_features() const noexcept { return d_; }

  /// labels[i - begin] = nearest centroid of X row i, for i in [begin, end).
  void assign(MatrixView<const T> X, std::size_t begin, std::size_t end, std::int32_t* labels, Workspace&) const {
    const std::size_t k4 = k_ / 4 * 4;
    for (std::size_t i = begin; i < end; ++i) {
      const T* x = X.row(i);
      T best = std::numeric_limits<T>::infinity();
      std::size_t best_j = 0;
      T dist[4];
      std::size_t j = 0;
      for (; j < k4; j += 4) {
        const T* rows[4] = {centroids_.row(j), centroids_.row(j + 1), centroids_.row(j + 2), centroids_.row(j + 3)};
        squared_distances_to<4, Arch>(x, rows, d_, dist);
        for (std::size_t g = 0; g < 4; ++g)
          if (dist[g] < best) {
            best = dist[g];
            best_j = j + g;
          }
      }
      for (; j < k_; ++j) {
        const T dj = squared_distance<Arch>(x, centroids_.row(j), d_);
        if (dj < best) {
          best = dj;
          best_j = j;
        }
      }
      labels[i - begin] = static_cast<std::int32_t>(best_j);
    }
  }

 private:
  std::size_t d_ = 0;
  std::size_t k_ = 0;
  Matrix<T> centroids_;
};

}  // namespace detail
}  // namespace lloyd
