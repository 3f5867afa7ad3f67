// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "matrix.hpp"
#include "params.hpp"

namespace lloyd {

/// What fit() found.
template <class T>
struct Result {
  Matrix<T> centroids;               ///< k x d cluster centres
  std::vector<std::int32_t> labels;  ///< nearest centroid of each row, in [0, k)
  double inertia = 0;                ///< sum of weight x squared distance to the assigned centroid (double)
  int n_iter = 0;                    ///< Lloyd iterations run (of the kept run when n_init > 1)
  bool converged = false;            ///< a stopping rule held before max_iter (see Params)
  /// Point-centroid distances computed by the iterations and the final relabelling
  /// (Lloyd: n * k per pass; the bounded algorithms skip most of them).
  std::size_t distance_evaluations = 0;
  /// The assignment algorithm that ran (what Algorithm::Auto resolved to; Lloyd for k = n,
  /// and for a bounded algorithm with too few centroids for bounds to pay).
  Algorithm algorithm = Algorithm::Lloyd;
};

/// Thrown by the methods that need a fitted model (predict, transform, score,
/// centroids) when fit() has not succeeded yet.
class NotFittedError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace lloyd
