// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The data of one fit (this process's rows of it), validated once, with the
// per-feature statistics of all the rows that the iterations need: the mean (the
// kernel's centring shift) and the mean variance (scikit-learn's scale for tol).

#include <cmath>
#include <limits>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "checks.hpp"
#include "config.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "unit_rows.hpp"

namespace lloyd {
namespace detail {

template <class T>
struct Problem {
  MatrixView<const T> X;        ///< this process's rows
  const T* weights = nullptr;  ///< one per row, or null for unit weights
  std::size_t n = 0;
  std::size_t d = 0;
  std::size_t total_rows = 0;   ///< rows of all processes (n for a single process)
  std::uint64_t first_row = 0;  ///< global index of X's first row (0 for a single process)
  std::vector<T> mean;          ///< per-feature mean of X (unweighted)
  double mean_variance = 0;     ///< mean over features of the (unweighted, population) variance
  double total_weight = 0;      ///< of all rows
  /// An upper bound of max |X(i, j)| over all rows (from the column sums; +inf when
  /// they overflowed), and max |x0(j)| of the row the sums were taken from.
  double abs_bound = 0;
  double origin_abs = 0;
  /// Dot: nearest = largest x.c; Cosine: the rows are unit rows (see unit) and
  /// centroids are re-normalised.
  Metric metric = Metric::SquaredEuclidean;
  /// Metric::Cosine: the working rows are X's rows scaled to unit length where they are
  /// read (values(), rows()), never stored, by one UnitScale per row. Otherwise they are X's.
  bool unit_rows = false;
  std::vector<UnitScale> unit;

  T weight(std::size_t i) const noexcept { return weights ? weights[i] : T(1); }

  /// Values [j0, j0 + len) of working row i: X's memory, or the unit row's values
  /// written to buf (len values).
  const T* values(std::size_t i, std::size_t j0, std::size_t len, T* buf) const noexcept {
    const T* x = X.row(i) + j0;
    if (!unit_rows) return x;
    unit_values(x, len, unit[i], buf);
    return buf;
  }
  /// Working row i (d values; buf: room for d values, used for unit rows).
  const T* row(std::size_t i, T* buf) const noexcept { return values(i, 0, d, buf); }
  /// Working rows [b, e) as a matrix: a view of X, or the unit rows written to buf
  /// (which is resized to fit).
  MatrixView<const T> rows(std::size_t b, std::size_t e, Matrix<T>& buf) const {
    if (!unit_rows) return X.rows_range(b, e - b);
    if (buf.rows() < e - b || buf.cols() != d) buf = Matrix<T>(std::max(e - b, buf.rows()), d);
    for (std::size_t i = b; i < e; ++i) unit_values(X.row(i), d, unit[i], buf.row(i - b));
    return MatrixView<const T>(buf.data(), e - b, d, buf.stride());
  }
  /// The working rows rows[0..count) as a matrix (row r = working row rows[r]), in buf
  /// (resized to fit); for unit rows only (X's rows are read in place).
  MatrixView<const T> listed_rows(const std::size_t* rows, std::size_t count, Matrix<T>& buf) const {
    if (buf.rows() < count || buf.cols() != d) buf = Matrix<T>(std::max(count, buf.rows()), d);
    for (std::size_t r = 0; r < count; ++r) unit_values(X.row(rows[r]), d, unit[rows[r]], buf.row(r));
    return MatrixView<const T>(buf.data(), count, d, buf.stride());
  }
  /// Scratch for one row's values: d values when rows are computed, else none.
  std::vector<T> row_buffer() const { return std::vector<T>(unit_rows ? d : 0); }
};

/// Column means of a small matrix (centroids), summed in double in row order: the
/// centring shift of a model made from given centroids.
template <class T>
std::vector<T> column_means(MatrixView<const T> M) {
  std::vector<T> mean(M.cols(), T(0));
  for (std::size_t j = 0; j < M.cols(); ++j) {
    double s = 0;
    for (std::size_t c = 0; c < M.rows(); ++c) s += static_cast<double>(M(c, j));
    mean[j] = static_cast<T>(s / double(M.rows()));
  }
  return mean;
}

/// Sums of x - origin and of its squares per column (2 d values: S1 then S2) over all
/// processes' rows.
template <class T>
std::vector<double> column_moments(const Problem<T>& P, const std::vector<double>& origin, ThreadPool& pool,
                                   Exchange<T>& ex) {
  const std::size_t d = origin.size();
  const Chunking chunks = partition::column_statistics(P.n);
  std::vector<double> partial(chunks.count() * 2 * d, 0.0);
  pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
    double* LLOYD_RESTRICT s1 = partial.data() + c * 2 * d;
    double* LLOYD_RESTRICT s2 = s1 + d;
    const double* LLOYD_RESTRICT o = origin.data();
    std::vector<T> buf = P.row_buffer();
    for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i) {
      const T* LLOYD_RESTRICT x = P.row(i, buf.data());
      for (std::size_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[j]) - o[j];
        s1[j] += v;
        s2[j] += v * v;
      }
    }
  });
  std::vector<double> moments(2 * d, 0.0);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t c = 0; c < chunks.count(); ++c) {
      moments[j] += partial[c * 2 * d + j];
      moments[d + j] += partial[c * 2 * d + d + j];
    }
  ex.sum_in_place(moments.data(), moments.size());
  return moments;
}

/// Column statistics of all rows in one pass, chunked (partition::column_statistics)
/// so the sums are the same for any thread count, then summed over the processes. Sums
/// are taken of x - x0 (x0 = the first of all rows, which lies among the data), so
/// mean = x0 + S1 / n and variance = (S2 - S1^2 / n) / n lose no digits to data that sit
/// far from the origin. Throws naming the first NaN/Inf of X.
template <class T>
Problem<T> make_problem(MatrixView<const T> X, const T* weights, ThreadPool& pool, Exchange<T>& ex,
                        const InputShape& shape, bool unit_rows = false) {
  Problem<T> P;
  P.X = X;
  P.unit_rows = unit_rows;
  // (X was checked finite first; a zero row throws here, naming the rows.)
  if (unit_rows) ex.checked([&] { P.unit = unit_scales(X, pool, ex.rows_name()); });
  P.weights = weights;
  P.n = X.rows();
  P.d = shape.cols;
  P.total_rows = shape.total_rows;
  P.first_row = shape.first_row;
  const std::size_t n = P.n, d = P.d;
  std::vector<double> origin(d);
  {
    std::vector<T> mine, buf = P.row_buffer();
    if (n > 0) mine.assign(P.row(0, buf.data()), P.row(0, buf.data()) + d);
    const std::vector<T> firsts = gather(ex, mine);
    for (std::size_t j = 0; j < d; ++j) origin[j] = static_cast<double>(firsts[j]);
  }
  const std::vector<double> moments = column_moments(P, origin, pool, ex);
  std::vector<double> mean(d);
  double var_sum = 0;
  bool finite = true;
  const double nd = static_cast<double>(P.total_rows);
  for (std::size_t j = 0; j < d; ++j) {
    const double s1 = moments[j], s2 = moments[d + j];
    mean[j] = origin[j] + s1 / nd;
    var_sum += std::max(0.0, (s2 - s1 * (s1 / nd)) / nd);
    // Every |x - x0| is at most sqrt(sum of (x - x0)^2).
    P.abs_bound = std::max(P.abs_bound, std::abs(origin[j]) + std::sqrt(s2));
    P.origin_abs = std::max(P.origin_abs, std::abs(origin[j]));
    finite = finite && std::isfinite(mean[j]) && std::isfinite(s2);
  }
  // A NaN or Inf anywhere makes its column's sums non-finite; only then look for it.
  // (Finite values beyond ~1e154 overflow the squares too: then nothing is found.)
  if (!finite) {
    ex.checked([&] { check_finite(X, ex.rows_name()); });
    for (auto& m : mean)
      if (!std::isfinite(m)) m = 0;
  }
  P.mean_variance = var_sum / static_cast<double>(d);
  P.mean.resize(d);
  for (std::size_t j = 0; j < d; ++j) P.mean[j] = static_cast<T>(mean[j]);
  double tw = static_cast<double>(n);
  if (weights) {
    tw = 0;
    for (std::size_t i = 0; i < n; ++i) tw += static_cast<double>(weights[i]);
  }
  P.total_weight = ex.sum(tw);
  return P;
}

/// make_problem for the rows of a single process.
template <class T>
Problem<T> make_problem(MatrixView<const T> X, const T* weights, ThreadPool& pool) {
  LocalExchange<T> local;
  return make_problem(X, weights, pool, local, InputShape{X.rows(), X.cols(), 0});
}

/// The safe range of max |x| for d features: about [2^(min_exponent / 2 + 16),
/// 2^(max_exponent / 2 - 8) / sqrt(d)], where squares of sums of d terms neither
/// overflow nor sink into subnormals.
template <class T>
std::pair<double, double> safe_magnitudes(std::size_t d) {
  return {std::ldexp(1.0, std::numeric_limits<T>::min_exponent / 2 + 16),
          std::ldexp(1.0, std::numeric_limits<T>::max_exponent / 2 - 8) / std::sqrt(double(d) + 1)};
}

/// The power of 2 that brings data of largest magnitude max_abs into the safe range
/// (scaled, max |x| lies in [0.5, 1)), or 0 when it is there already (or all zero).
template <class T>
int scale_exponent_for(double max_abs, std::size_t d) {
  const auto [lo, hi] = safe_magnitudes<T>(d);
  if (max_abs == 0 || (max_abs <= hi && max_abs >= lo)) return 0;
  int e = 0;
  std::frexp(max_abs, &e);  // max_abs = m * 2^e, 0.5 <= m < 1
  return -e;
}

/// The power of 2 the data must be scaled by (X * 2^e) for squared distances and
/// products to stay within T's normal range, or 0 when they already do (see
/// safe_magnitudes), from the largest |x| of all processes' rows. Uses P's bound, and an
/// exact pass over X only when that bound leaves the range.
template <class T>
int safe_scale_exponent(const Problem<T>& P, ThreadPool& pool, Exchange<T>& ex) {
  if (P.unit_rows) return 0;  // unit rows: max |x| in [1 / sqrt(d), 1]
  const auto [lo, hi] = safe_magnitudes<T>(P.d);
  // max |x| >= abs_bound / (1 + 2 sqrt(n)), and >= every value of the first row.
  const double rows = static_cast<double>(P.total_rows);
  if (P.abs_bound <= hi && std::max(P.origin_abs, P.abs_bound / (1 + 2 * std::sqrt(rows))) >= lo) return 0;
  const Chunking chunks = partition::max_abs_scan(P.n);
  std::vector<double> part(chunks.count(), 0.0);
  pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
    double m = 0;
    for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i)
      for (std::size_t j = 0; j < P.d; ++j) m = std::max(m, std::abs(static_cast<double>(P.X(i, j))));
    part[c] = m;
  });
  double max_abs = 0;
  for (double v : part) max_abs = std::max(max_abs, v);
  return scale_exponent_for<T>(ex.max(max_abs), P.d);
}

/// Sum of weights[i] x dist[i] over n rows (weights null: all 1), in double, over a
/// partition of the rows that depends on n alone: every assigner reports the same
/// inertia for the same distances, whatever the thread count.
template <class T>
double weighted_sum(std::size_t n, const T* weights, const T* dist, ThreadPool& pool) {
  const Chunking chunks = partition::inertia(n);
  std::vector<double> part(chunks.count());
  pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
    double s = 0;
    if (weights) {
      for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i)
        s += static_cast<double>(weights[i]) * static_cast<double>(dist[i]);
    } else {
      for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i) s += static_cast<double>(dist[i]);
    }
    part[c] = s;
  });
  double total = 0;
  for (double v : part) total += v;
  return total;
}

/// weighted_sum over the rows of a problem (its weights).
template <class T>
double weighted_sum(const Problem<T>& P, const T* dist, ThreadPool& pool) {
  return weighted_sum(P.n, P.weights, dist, pool);
}

}  // namespace detail
}  // namespace lloyd
