// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Input validation: every message names the parameter and the offending value.

#include <cmath>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"

namespace lloyd {
namespace detail {

/// lloyd's std::invalid_argument: what() is "lloyd: " + reason(); the reason alone is
/// kept for front-ends that prefix their own context (mpi::fit names the rank).
class InvalidArgument : public std::invalid_argument {
 public:
  explicit InvalidArgument(const std::string& reason)
      : std::invalid_argument("lloyd: " + reason), reason_(reason) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

template <class... Args>
[[noreturn]] inline void throw_invalid(const Args&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw InvalidArgument(os.str());
}

/// Checks the Params fields that do not depend on the data.
/// Checks that m is a Metric value (`name`: the field that holds it).
inline void check_metric(Metric m, const char* name) {
  if (m != Metric::SquaredEuclidean && m != Metric::Cosine && m != Metric::Dot)
    throw_invalid(name, "=", static_cast<int>(m), " is not a known lloyd::Metric value");
}

inline void check_params(const Params& p) {
  if (p.n_clusters == 0) throw_invalid("n_clusters=0: need at least one cluster");
  if (p.max_iter < 1) throw_invalid("max_iter=", p.max_iter, " must be >= 1");
  if (!(p.tol >= 0) || !std::isfinite(p.tol)) throw_invalid("tol=", p.tol, " must be finite and >= 0");
  if (!(p.inertia_tol >= 0) || !std::isfinite(p.inertia_tol))
    throw_invalid("inertia_tol=", p.inertia_tol, " must be finite and >= 0");
  if (p.n_init < 1) throw_invalid("n_init=", p.n_init, " must be >= 1");
  if (p.n_threads < 0) throw_invalid("n_threads=", p.n_threads, " must be >= 0 (0 = all hardware threads)");
  if (p.init != Init::KMeansPlusPlus && p.init != Init::Random && p.init != Init::KMeansParallel &&
      p.init != Init::Auto)
    throw_invalid("init=", static_cast<int>(p.init), " is not a known lloyd::Init value");
  check_metric(p.metric, "metric");
  if (static_cast<int>(p.algorithm) < static_cast<int>(Algorithm::Auto) ||
      static_cast<int>(p.algorithm) > static_cast<int>(Algorithm::Exponion))
    throw_invalid("algorithm=", static_cast<int>(p.algorithm), " is not a known lloyd::Algorithm value");
}

/// Checks that k clusters can be made of n_rows rows (`name`: what holds them).
template <class T>
void check_cluster_count(std::size_t n_clusters, std::size_t n_rows, const char* name) {
  if (n_clusters > n_rows)
    throw_invalid("n_clusters=", n_clusters, " is larger than the number of rows of ", name, " (", n_rows, ")");
  if (n_clusters > (std::size_t(1) << 31) - 1) throw_invalid("n_clusters=", n_clusters, " exceeds 2^31 - 1");
  // The float32 kernel keeps centroid indices in float lanes, exact up to 2^24.
  if (sizeof(T) == 4 && n_clusters > (std::size_t(1) << 24))
    throw_invalid("n_clusters=", n_clusters, " exceeds 2^24 = 16777216, the most a float32 fit supports");
}

/// Checks that X has rows and columns, and enough rows for k clusters.
template <class T>
void check_data_shape(MatrixView<const T> X, std::size_t n_clusters, const char* name = "X") {
  if (X.rows() == 0) throw_invalid(name, " has 0 rows: cannot cluster empty data");
  if (X.cols() == 0) throw_invalid(name, " has 0 columns (", X.rows(), " rows): need at least one feature");
  check_cluster_count<T>(n_clusters, X.rows(), name);
}

/// Throws naming the first (row, column) that is NaN or infinite.
template <class T>
void check_finite(MatrixView<const T> X, const char* name) {
  for (std::size_t i = 0; i < X.rows(); ++i) {
    const T* r = X.row(i);
    for (std::size_t j = 0; j < X.cols(); ++j)
      if (!std::isfinite(r[j])) {
        if (std::isnan(r[j])) throw_invalid(name, "(", i, ", ", j, ") is NaN: values must be finite");
        throw_invalid(name, "(", i, ", ", j, ") = ", r[j], ": values must be finite");
      }
  }
}

/// Checks a saved model's centroids (k x d, k and d >= 1, finite) and the kernel's
/// centring shift (d finite values) before a model is restored from them.
template <class T>
void check_saved_centroids(MatrixView<const T> centroids, const std::vector<T>& shift) {
  const std::size_t k = centroids.rows(), d = centroids.cols();
  if (k == 0 || d == 0) throw_invalid("state.centroids is ", k, " x ", d, ": need at least one centroid and one feature");
  if (shift.size() != d) throw_invalid("state.shift has ", shift.size(), " values for ", d, " features");
  check_finite(centroids, "state.centroids");
  for (std::size_t j = 0; j < d; ++j)
    if (!std::isfinite(shift[j])) throw_invalid("state.shift[", j, "] is not finite");
}

/// Checks the shape and values of user-given starting centroids.
template <class T>
void check_initial_centroids(MatrixView<const T> C, std::size_t n_clusters, std::size_t n_features) {
  if (C.rows() != n_clusters || C.cols() != n_features)
    throw_invalid("initial_centroids is ", C.rows(), " x ", C.cols(), ", expected n_clusters x n_features = ", n_clusters,
                  " x ", n_features);
  check_finite(C, "initial_centroids");
}

/// Checks sample weights: one per row, finite, >= 0, and (unless `some_positive` is
/// false: a distributed fit checks that across processes) not all zero. Returns
/// whether any weight is positive.
template <class T>
bool check_weights(const T* w, std::size_t size, std::size_t n_rows, bool some_positive = true) {
  if (size != n_rows) throw_invalid("sample_weight has ", size, " values, expected one per row (", n_rows, ")");
  bool any_positive = false;
  for (std::size_t i = 0; i < size; ++i) {
    if (!std::isfinite(w[i])) throw_invalid("sample_weight[", i, "] = ", w[i], ": weights must be finite");
    if (w[i] < 0) throw_invalid("sample_weight[", i, "] = ", w[i], ": weights must be >= 0");
    any_positive = any_positive || w[i] > 0;
  }
  if (some_positive && !any_positive)
    throw_invalid("sample_weight: all ", size, " weights are 0; at least one must be positive");
  return any_positive;
}

}  // namespace detail
}  // namespace lloyd
