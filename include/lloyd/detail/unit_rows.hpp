// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Unit rows without a copy (Metric::Cosine). A fit keeps one UnitScale per row, not a
// normalised matrix: the unit row's values are computed where a row is read
// (Problem::values), by the same arithmetic everywhere, so every reader (kernel block,
// cluster sums, seeding, bounds, predict) sees the same bits.
//
// Value j of row x is T(double(x_j) * a * b), multiplied left to right: a is the power
// of 2 that brings max |x_j| into [0.5, 1) (exact: no 1e200 or 1e-200 value overflows
// or vanishes in the squares of the norm), and b = 1 / |x a|. Powers of 2 that a double
// cannot hold as a normal number (T = double beyond about 1e301 or below 1e-301) move
// into b, which is exact since b is scaled by a power of 2 as well.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../matrix.hpp"
#include "checks.hpp"
#include "parallel.hpp"
#include "partitions.hpp"

namespace lloyd {
namespace detail {

/// How one row becomes a unit row (see the top of this file); a zero row has a = 0.
struct UnitScale {
  double a = 0;
  double b = 0;
};

/// The UnitScale of the d values of x (finite).
template <class T>
UnitScale unit_scale(const T* x, std::size_t d) {
  double top = 0;
  for (std::size_t j = 0; j < d; ++j) top = std::max(top, std::abs(static_cast<double>(x[j])));
  if (!(top > 0)) return {};
  int e = 0;
  std::frexp(top, &e);  // top = m 2^e, 0.5 <= m < 1
  const int e1 = std::clamp(e, -1000, 1000);
  const double a = std::ldexp(1.0, -e1), rest = std::ldexp(1.0, e1 - e);
  double norm2 = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double v = static_cast<double>(x[j]) * a * rest;
    norm2 += v * v;
  }
  return {a, rest / std::sqrt(norm2)};
}

/// The unit row of x (scale s) into out; a zero row stays zero.
template <class T>
inline void unit_values(const T* x, std::size_t d, UnitScale s, T* out) noexcept {
  for (std::size_t j = 0; j < d; ++j) out[j] = static_cast<T>(static_cast<double>(x[j]) * s.a * s.b);
}

/// The error for row i of `name`, all zeros.
[[noreturn]] inline void throw_zero_row(const char* name, std::size_t i) {
  throw_invalid(name, " row ", i, " is all zeros: Metric::Cosine needs rows of nonzero length");
}

/// The UnitScale of every row of X, in parallel; a zero row throws, naming `name` and
/// the first such row (with a null name it keeps a = 0: predict gives such a row label 0).
template <class T>
std::vector<UnitScale> unit_scales(MatrixView<const T> X, ThreadPool& pool, const char* name) {
  std::vector<UnitScale> s(X.rows());
  const Chunking chunks = partition::max_abs_scan(X.rows());
  pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
    for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i) s[i] = unit_scale(X.row(i), X.cols());
  });
  if (name)
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s[i].a == 0) throw_zero_row(name, i);
  return s;
}

/// Rows scaled to unit length, as a new matrix (for blocks of rows and starting
/// centroids; a fit's own rows are never copied). A zero row throws naming `name`, or
/// with a null name stays zero.
template <class T>
Matrix<T> normalized_rows(MatrixView<const T> A, const char* name) {
  Matrix<T> out(A.rows(), A.cols());
  for (std::size_t i = 0; i < A.rows(); ++i) {
    const UnitScale s = unit_scale(A.row(i), A.cols());
    if (s.a == 0 && name) throw_zero_row(name, i);
    unit_values(A.row(i), A.cols(), s, out.row(i));
  }
  return out;
}

}  // namespace detail
}  // namespace lloyd
