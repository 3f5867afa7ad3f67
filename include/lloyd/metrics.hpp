// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
//
// Measures of a clustering, to compare fits and choose k: the silhouette score, the
// Calinski-Harabasz and the Davies-Bouldin index, defined as scikit-learn defines them
// (sklearn.metrics.silhouette_score, calinski_harabasz_score, davies_bouldin_score) and
// agreeing with its values to rounding. Euclidean geometry; labels are any non-negative
// integers (clusters are the distinct labels present).
//
//   const auto r = lloyd::KMeans<float>(p).fit(X);
//   double s = lloyd::silhouette_score(X, r.labels);                  // all rows: O(n^2 d)
//   double s2 = lloyd::silhouette_score(X, r.labels, 20000, seed);    // a sample of rows
//   double ch = lloyd::calinski_harabasz(X, r.labels), db = lloyd::davies_bouldin(X, r.labels);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "detail/checks.hpp"
#include "detail/config.hpp"
#include "detail/distance.hpp"
#include "detail/parallel.hpp"
#include "detail/random.hpp"
#include "matrix.hpp"

namespace lloyd {
namespace detail {

// Labels as cluster indices 0..m-1, numbered in the order of the label values (the
// distinct labels present; all non-negative). Returns m.
inline std::size_t compact(const std::vector<std::int32_t>& labels, std::vector<std::size_t>& out) {
  std::int32_t top = 0;
  for (std::int32_t l : labels) top = std::max(top, l);
  std::vector<std::size_t> index(static_cast<std::size_t>(top) + 1, 0);
  for (std::int32_t l : labels) index[static_cast<std::size_t>(l)] = 1;
  std::size_t m = 0;
  for (auto& v : index) v = v ? m++ : 0;
  out.resize(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = index[static_cast<std::size_t>(labels[i])];
  return m;
}

// Checks X and its labels for one of the measures below, then compact(labels, out).
template <class T>
std::size_t compact_labels(MatrixView<const T> X, const std::vector<std::int32_t>& labels, std::vector<std::size_t>& out,
                           const char* who) {
  if (labels.size() != X.rows())
    throw_invalid(who, ": labels has ", labels.size(), " values for ", X.rows(), " rows");
  if (X.rows() == 0 || X.cols() == 0) throw_invalid(who, ": X is ", X.rows(), " x ", X.cols(), ", need data");
  check_finite(X, "X");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0) throw_invalid(who, ": labels[", i, "] = ", labels[i], " is negative");
  return compact(labels, out);
}

// Cluster sizes and means (double) of the compacted labels.
template <class T>
void cluster_means(MatrixView<const T> X, const std::vector<std::size_t>& c, std::size_t m, std::vector<double>& count,
                   std::vector<double>& mean) {
  const std::size_t d = X.cols();
  count.assign(m, 0.0);
  mean.assign(m * d, 0.0);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    count[c[i]] += 1;
    for (std::size_t j = 0; j < d; ++j) mean[c[i] * d + j] += static_cast<double>(X(i, j));
  }
  for (std::size_t q = 0; q < m; ++q)
    for (std::size_t j = 0; j < d; ++j) mean[q * d + j] /= count[q];
}

inline void check_cluster_count(std::size_t m, std::size_t n, const char* who) {
  if (m < 2 || m > n - 1)
    throw_invalid(who, ": ", m, " distinct labels for ", n, " rows; need 2 to n - 1 = ", n - 1, " clusters");
}

// The clusters of checked labels, as calinski_harabasz and davies_bouldin see them: each
// row's cluster (0..m-1), the clusters' sizes and means (double).
template <class T>
struct ClusterStats {
  ClusterStats(MatrixView<const T> X_, const std::vector<std::int32_t>& labels, const char* who) : X(X_) {
    m = compact_labels(X, labels, of, who);
    check_cluster_count(m, X.rows(), who);
    cluster_means(X, of, m, count, mean);
  }
  // Squared distance from row i to its cluster's mean.
  double within(std::size_t i) const {
    const std::size_t d = X.cols();
    const double* c = mean.data() + of[i] * d;
    double s2 = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double t = static_cast<double>(X(i, j)) - c[j];
      s2 += t * t;
    }
    return s2;
  }
  // Squared distance between the means of clusters a and b.
  double between(std::size_t a, std::size_t b) const {
    const std::size_t d = X.cols();
    double s2 = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double t = mean[a * d + j] - mean[b * d + j];
      s2 += t * t;
    }
    return s2;
  }

  MatrixView<const T> X;
  std::vector<std::size_t> of;
  std::size_t m = 0;
  std::vector<double> count, mean;
};

template <class T, class Arch>
double silhouette_impl(MatrixView<const T> X, const std::vector<std::int32_t>& labels, std::size_t sample_size = 0,
                        std::uint64_t seed = 0, int n_threads = 0) {
  std::vector<std::size_t> c;
  const std::size_t m_all = compact_labels(X, labels, c, "silhouette_score");
  check_cluster_count(m_all, X.rows(), "silhouette_score");
  // The rows scored: all, or a sample without replacement (sorted).
  std::vector<std::size_t> rows(X.rows());
  std::iota(rows.begin(), rows.end(), std::size_t(0));
  if (sample_size > 0 && sample_size < X.rows()) {
    Rng rng(seed);
    for (std::size_t i = 0; i < sample_size; ++i) std::swap(rows[i], rows[i + rng.below(X.rows() - i)]);
    rows.resize(sample_size);
    std::sort(rows.begin(), rows.end());
  }
  const std::size_t s = rows.size(), d = X.cols();
  std::vector<std::int32_t> sampled(s);  // the sample's clusters, compacted again
  for (std::size_t q = 0; q < s; ++q) sampled[q] = static_cast<std::int32_t>(c[rows[q]]);
  std::vector<std::size_t> local;
  const std::size_t m = compact(sampled, local);
  check_cluster_count(m, s, "silhouette_score (the sample)");
  std::vector<double> size(m, 0.0);
  for (std::size_t q = 0; q < s; ++q) size[local[q]] += 1;

  std::vector<double> score(s);
  ThreadPool pool(work_threads(n_threads, s * s * d / 2));
  const std::size_t chunk = 16, chunks = (s + chunk - 1) / chunk;
  std::vector<std::vector<double>> sums(pool.size(), std::vector<double>(m));
  pool.parallel_for(chunks, [&](std::size_t t, std::size_t worker) {
    std::vector<double>& sum = sums[worker];
    for (std::size_t q = t * chunk; q < std::min(s, (t + 1) * chunk); ++q) {
      std::fill(sum.begin(), sum.end(), 0.0);
      const T* x = X.row(rows[q]);
      for (std::size_t r = 0; r < s; ++r)
        sum[local[r]] += std::sqrt(static_cast<double>(squared_distance<Arch>(x, X.row(rows[r]), d)));
      const std::size_t own = local[q];
      if (size[own] <= 1) {
        score[q] = 0;
        continue;
      }
      const double a = sum[own] / (size[own] - 1);
      double b = std::numeric_limits<double>::infinity();
      for (std::size_t o = 0; o < m; ++o)
        if (o != own) b = std::min(b, sum[o] / size[o]);
      const double top = std::max(a, b);
      score[q] = top > 0 ? (b - a) / top : 0.0;
    }
  });
  double total = 0;
  for (double v : score) total += v;
  return total / double(s);
}

template <class T>
double calinski_harabasz_impl(MatrixView<const T> X, const std::vector<std::int32_t>& labels) {
  const ClusterStats<T> C(X, labels, "calinski_harabasz");
  const std::size_t n = X.rows(), d = X.cols(), m = C.m;
  std::vector<double> all(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) all[j] += static_cast<double>(X(i, j));
  for (double& v : all) v /= double(n);
  double between = 0, within = 0;
  for (std::size_t q = 0; q < m; ++q)
    for (std::size_t j = 0; j < d; ++j) {
      const double t = C.mean[q * d + j] - all[j];
      between += C.count[q] * t * t;
    }
  for (std::size_t i = 0; i < n; ++i) within += C.within(i);
  return within == 0 ? 1.0 : between * double(n - m) / (within * double(m - 1));
}

template <class T>
double davies_bouldin_impl(MatrixView<const T> X, const std::vector<std::int32_t>& labels) {
  const ClusterStats<T> C(X, labels, "davies_bouldin");
  const std::size_t n = X.rows(), m = C.m;
  std::vector<double> spread(m, 0.0);
  for (std::size_t i = 0; i < n; ++i) spread[C.of[i]] += std::sqrt(C.within(i));
  for (std::size_t q = 0; q < m; ++q) spread[q] /= C.count[q];
  std::vector<double> between(m * m, 0.0);
  for (std::size_t a = 0; a < m; ++a)
    for (std::size_t b = 0; b < m; ++b) between[a * m + b] = std::sqrt(C.between(a, b));
  // As scikit-learn: 0 when all spreads or all centre distances are (nearly) zero;
  // coincident centres do not count.
  auto near_zero = [](double v) { return std::abs(v) <= 1e-8; };
  if (std::all_of(spread.begin(), spread.end(), near_zero) || std::all_of(between.begin(), between.end(), near_zero))
    return 0.0;
  double total = 0;
  for (std::size_t a = 0; a < m; ++a) {
    double worst = 0;
    for (std::size_t b = 0; b < m; ++b)
      if (b != a && between[a * m + b] > 0) worst = std::max(worst, (spread[a] + spread[b]) / between[a * m + b]);
    total += worst;
  }
  return total / double(m);
}

}  // namespace detail

/// Mean silhouette coefficient of the rows: for row i with mean distance a to the other
/// rows of its cluster and b to the rows of the nearest other cluster, (b - a) / max(a, b)
/// (0 for a row alone in its cluster). Exact over all rows when sample_size is 0 or at
/// least n (n^2 distances), else over a random sample of sample_size rows (scikit-learn's
/// sample_size: distances among the sample only), drawn with `seed`. Threads: n_threads
/// (0 = all). Throws std::invalid_argument unless there are 2 to n - 1 clusters.
template <class T = detail::deduced, class Arch = detail::default_arch, class M,
          std::enable_if_t<detail::is_matrix<M>::value, int> = 0, class S = detail::scalar_for_t<T, M>>
double silhouette_score(const M& X, const std::vector<std::int32_t>& labels, std::size_t sample_size = 0,
                        std::uint64_t seed = 0, int n_threads = 0) {
  return detail::silhouette_impl<S, Arch>(MatrixView<const S>(X), labels, sample_size, seed, n_threads);
}

/// Calinski-Harabasz index (variance ratio): between-cluster dispersion / (k - 1) over
/// within-cluster dispersion / (n - k); higher is better; 1 when every row sits on its
/// cluster's mean. Throws std::invalid_argument unless there are 2 to n - 1 clusters.
template <class T = detail::deduced, class M, std::enable_if_t<detail::is_matrix<M>::value, int> = 0,
          class S = detail::scalar_for_t<T, M>>
double calinski_harabasz(const M& X, const std::vector<std::int32_t>& labels) {
  return detail::calinski_harabasz_impl<S>(MatrixView<const S>(X), labels);
}

/// Davies-Bouldin index: the mean over clusters of the largest (s_i + s_j) / |c_i - c_j|,
/// s being a cluster's mean distance from its mean c; lower is better, 0 at best.
/// Throws std::invalid_argument unless there are 2 to n - 1 clusters.
template <class T = detail::deduced, class M, std::enable_if_t<detail::is_matrix<M>::value, int> = 0,
          class S = detail::scalar_for_t<T, M>>
double davies_bouldin(const M& X, const std::vector<std::int32_t>& labels) {
  return detail::davies_bouldin_impl<S>(MatrixView<const S>(X), labels);
}

}  // namespace lloyd
