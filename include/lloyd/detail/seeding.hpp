// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The seedings, each written once: random rows (seeding_rows.hpp), greedy k-means++
// (kmeans_plusplus.hpp) and k-means|| (kmeans_parallel.hpp). Random rows and k-means||
// run over an Exchange (exchange.hpp), so the distributed seedings are these plus the
// exchanges; greedy k-means++ needs one exchange per centroid and runs on one process's
// rows (a distributed fit uses k-means|| instead). seed_centroids picks one.

#include <cstddef>

#include "../matrix.hpp"
#include "../params.hpp"
#include "exchange.hpp"
#include "kmeans_parallel.hpp"
#include "kmeans_plusplus.hpp"
#include "parallel.hpp"
#include "problem.hpp"
#include "random.hpp"
#include "seeding_rows.hpp"

namespace lloyd {
namespace detail {

/// The seeding Params ask for, Init::Auto resolved by seeding_for (params.hpp); where
/// the exchange cannot run greedy k-means++ (a distributed fit), k-means|| for every
/// Init but Random.
template <class T, class Arch = default_arch>
Matrix<T> seed_centroids(Exchange<T>& ex, const Problem<T>& P, Init init, std::size_t k, Rng& rng, ThreadPool& pool) {
  init = seeding_for(init, k, P.total_rows);
  if (init == Init::KMeansPlusPlus && !ex.greedy_seeding()) init = Init::KMeansParallel;
  switch (init) {
    case Init::Random: return random_seeding(ex, P, k, rng).centroids;
    case Init::KMeansParallel: return kmeans_parallel_seeding<T, Arch>(ex, P, k, rng, pool).centroids;
    default: return kmeans_plusplus_seeding<T, Arch>(P, k, rng, pool).centroids;
  }
}

}  // namespace detail
}  // namespace lloyd
