// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The working units of a fit: Metric::Cosine clusters unit rows (computed where a row is
// read: unit_rows.hpp; only the starting centroids are copied), and data whose squares
// would overflow (or sink into subnormals) are scaled by a power of 2 (problem.hpp,
// safe_scale_exponent). Both the fit and predict() bring rows into these units.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "../matrix.hpp"
#include "checks.hpp"
#include "unit_rows.hpp"

namespace lloyd {
namespace detail {

/// A x 2^e (exact for powers of 2, barring over/underflow, which e is chosen to avoid).
template <class T>
Matrix<T> scaled_copy(MatrixView<const T> A, int e) {
  Matrix<T> out(A.rows(), A.cols());
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j) out(i, j) = std::ldexp(A(i, j), e);
  return out;
}

/// The rows of a fit and its starting centroids (optional) in the working units: the
/// caller's memory until a transformation needs a copy.
template <class T>
class WorkingRows {
 public:
  WorkingRows(MatrixView<const T> X, const MatrixView<const T>* initial) : X_(X), has_initial_(initial != nullptr) {
    if (initial) initial_ = *initial;
  }
  MatrixView<const T> rows() const noexcept { return X_; }
  const MatrixView<const T>* initial() const noexcept { return has_initial_ ? &initial_ : nullptr; }

  /// Unit starting centroids (Metric::Cosine, whose rows stay as they are: see
  /// Problem::unit_rows).
  void normalize_initial() {
    if (!has_initial_) return;
    start_ = normalized_rows<T>(initial_, "initial_centroids");
    initial_ = start_;
  }
  /// Everything times 2^e.
  void scale(int e) {
    Matrix<T> rows = scaled_copy<T>(X_, e);
    set(std::move(rows), has_initial_ ? scaled_copy<T>(initial_, e) : Matrix<T>());
  }

 private:
  void set(Matrix<T> rows, Matrix<T> start) {
    // An empty block of rows (a process without rows) keeps its column count.
    if (rows.rows() > 0) {
      rows_ = std::move(rows);
      X_ = rows_;
    }
    if (has_initial_) {
      start_ = std::move(start);
      initial_ = start_;
    }
  }

  MatrixView<const T> X_;
  MatrixView<const T> initial_;
  bool has_initial_;
  Matrix<T> rows_, start_;
};

}  // namespace detail
}  // namespace lloyd
