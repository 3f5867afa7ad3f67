// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Seeding: greedy k-means++, k-means|| and random rows, on the rows of a matrix (the
// algorithms themselves: detail/seeding.hpp).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "detail/checks.hpp"
#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "detail/problem.hpp"
#include "detail/random.hpp"
#include "detail/seeding.hpp"
#include "matrix.hpp"

namespace lloyd {

namespace detail {

/// What the public seedings share: checks of the arguments, then `seeding(P, rng, pool)`
/// on the (optionally weighted) problem of X with a pool of `n_threads` workers (0: all).
template <class T, class F>
Seeding<T> seed_from_rows(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed,
                          const std::vector<T>* sample_weight, int n_threads, F&& seeding) {
  if (n_clusters == 0) throw_invalid("n_clusters=0: need at least one cluster");
  check_data_shape(X, n_clusters);
  const T* w = nullptr;
  if (sample_weight) {
    check_weights(sample_weight->data(), sample_weight->size(), X.rows());
    w = sample_weight->data();
  }
  ThreadPool pool(resolve_thread_count(n_threads));
  const auto P = make_problem(X, w, pool);
  Rng rng(seed);
  return seeding(P, rng, pool);
}

}  // namespace detail

/// k-means|| seeding (see detail::KMeansParallel): k centroids from the rows of X in a
/// few parallel rounds; for large k much faster than greedy k-means++. X: Matrix<T> or
/// MatrixView<const T> (T deduced, or given: kmeans_parallel<float>(X, k)); so below.
template <class T = detail::deduced, class Arch = detail::default_arch, class M,
          std::enable_if_t<detail::is_matrix<M>::value, int> = 0, class S = detail::scalar_for_t<T, M>>
Seeding<S> kmeans_parallel(const M& X, std::size_t n_clusters, std::uint64_t seed = 0,
                           const detail::non_deduced_t<std::vector<S>>* sample_weight = nullptr, int n_threads = 0) {
  return detail::seed_from_rows(MatrixView<const S>(X), n_clusters, seed, sample_weight, n_threads,
                                [&](const detail::Problem<S>& P, detail::Rng& rng, detail::ThreadPool& pool) {
                                  detail::LocalExchange<S> local;
                                  return detail::kmeans_parallel_seeding<S, Arch>(local, P, n_clusters, rng, pool);
                                });
}

/// Greedy k-means++ seeding of k centroids from the rows of X (optionally weighted).
/// Deterministic for a given seed, whatever n_threads is.
template <class T = detail::deduced, class Arch = detail::default_arch, class M,
          std::enable_if_t<detail::is_matrix<M>::value, int> = 0, class S = detail::scalar_for_t<T, M>>
Seeding<S> kmeans_plusplus(const M& X, std::size_t n_clusters, std::uint64_t seed = 0,
                           const detail::non_deduced_t<std::vector<S>>* sample_weight = nullptr, int n_threads = 0) {
  return detail::seed_from_rows(MatrixView<const S>(X), n_clusters, seed, sample_weight, n_threads,
                                [&](const detail::Problem<S>& P, detail::Rng& rng, detail::ThreadPool& pool) {
                                  return detail::kmeans_plusplus_seeding<S, Arch>(P, n_clusters, rng, pool);
                                });
}

/// k distinct rows of X drawn at random (with probability proportional to weight).
template <class T = detail::deduced, class M, std::enable_if_t<detail::is_matrix<M>::value, int> = 0,
          class S = detail::scalar_for_t<T, M>>
Seeding<S> random_rows(const M& X, std::size_t n_clusters, std::uint64_t seed = 0,
                       const detail::non_deduced_t<std::vector<S>>* sample_weight = nullptr) {
  return detail::seed_from_rows(MatrixView<const S>(X), n_clusters, seed, sample_weight, 1,
                                [&](const detail::Problem<S>& P, detail::Rng& rng, detail::ThreadPool&) {
                                  detail::LocalExchange<S> local;
                                  return detail::random_seeding(local, P, n_clusters, rng);
                                });
}

}  // namespace lloyd
