// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Seeding: greedy k-means++ and random rows.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "detail/checks.hpp"
#include "detail/chunks.hpp"
#include "detail/config.hpp"
#include "detail/distance.hpp"
#include "detail/parallel.hpp"
#include "detail/problem.hpp"
#include "detail/random.hpp"
#include "matrix.hpp"

namespace lloyd {

/// Starting centroids and the rows they were copied from.
template <class T>
struct Seeding {
  Matrix<T> centroids;               ///< k x d
  std::vector<std::size_t> indices;  ///< row of X each centroid was taken from
};

namespace detail {

template <class T>
Seeding<T> seeding_from_indices(const Problem<T>& P, std::vector<std::size_t> indices) {
  Seeding<T> s;
  s.centroids = Matrix<T>(indices.size(), P.d);
  for (std::size_t c = 0; c < indices.size(); ++c) std::copy_n(P.X.row(indices[c]), P.d, s.centroids.row(c));
  s.indices = std::move(indices);
  return s;
}

/// k distinct rows, drawn without replacement with probability proportional to weight
/// (Efraimidis-Spirakis keys log(u)/w; rows of weight 0 only fill up what is left).
template <class T>
Seeding<T> random_seeding(const Problem<T>& P, std::size_t k, Rng& rng) {
  const std::size_t n = P.n;
  std::vector<std::pair<double, std::size_t>> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double w = static_cast<double>(P.weight(i));
    const double u = rng.uniform_open0();
    keys[i] = {w > 0 ? std::log(u) / w : -std::numeric_limits<double>::infinity(), i};
  }
  auto by_key = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(k), keys.end(), by_key);
  std::vector<std::size_t> idx(k);
  for (std::size_t c = 0; c < k; ++c) idx[c] = keys[c].second;
  return seeding_from_indices(P, std::move(idx));
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's local trials):
/// each new centroid is the best of n_local_trials rows sampled with probability
/// proportional to weight x squared distance to the nearest chosen centroid, "best"
/// meaning the lowest resulting potential. n_local_trials = 0 means 2 + floor(ln k).
template <class T, class Arch = default_arch>
Seeding<T> kmeans_plusplus_seeding(const Problem<T>& P, std::size_t k, Rng& rng, ThreadPool& pool,
                                   std::size_t n_local_trials = 0) {
  const std::size_t n = P.n, d = P.d;
  const std::size_t trials =
      n_local_trials > 0 ? n_local_trials : 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
  const Chunking chunks(n, 1024, 4096);
  const std::size_t n_chunks = chunks.count();

  std::vector<double> closest(n);          // weight-free squared distance to the nearest centroid so far
  std::vector<double> chunk_pot(n_chunks);  // sum of w * closest per chunk
  std::vector<double> trial_pot(n_chunks * trials);
  std::vector<unsigned char> chosen(n, 0);
  std::vector<std::size_t> indices;
  indices.reserve(k);

  auto mass = [&](std::size_t i) { return static_cast<double>(P.weight(i)) * closest[i]; };
  auto total = [](const std::vector<double>& parts) {
    double s = 0;
    for (double v : parts) s += v;
    return s;
  };

  // Row whose cumulative mass first exceeds r (never a row of zero mass).
  auto sample = [&](double r) {
    std::size_t last_positive = n;
    for (std::size_t c = 0; c < n_chunks; ++c) {
      if (chunk_pot[c] <= 0) continue;
      if (r < chunk_pot[c]) {
        double acc = 0;
        for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i) {
          const double m = mass(i);
          if (m <= 0) continue;
          acc += m;
          last_positive = i;
          if (acc > r) return i;
        }
        return last_positive;  // rounding left r just past this chunk's sum
      }
      r -= chunk_pot[c];
      for (std::size_t i = chunks.end(c); i-- > chunks.begin(c);)
        if (mass(i) > 0) {
          last_positive = i;
          break;
        }
    }
    return last_positive;
  };

  // closest = min(closest, dist to row `idx`) and refresh the chunk potentials.
  auto add_centroid = [&](std::size_t idx, bool first) {
    chosen[idx] = 1;
    indices.push_back(idx);
    const T* c = P.X.row(idx);
    pool.parallel_for(n_chunks, [&](std::size_t ch, std::size_t) {
      double pot = 0;
      for (std::size_t i = chunks.begin(ch); i < chunks.end(ch); ++i) {
        const double dist = static_cast<double>(squared_distance<Arch>(P.X.row(i), c, d));
        closest[i] = first ? dist : std::min(closest[i], dist);
        pot += mass(i);
      }
      chunk_pot[ch] = pot;
    });
  };

  // First centroid: one row drawn with probability proportional to weight (unit
  // weights draw uniformly; scaling all weights changes nothing).
  std::size_t first = n;
  {
    const double r = rng.uniform() * P.total_weight;
    double acc = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double w = static_cast<double>(P.weight(i));
      if (w <= 0) continue;
      acc += w;
      first = i;
      if (acc > r) break;
    }
  }
  add_centroid(first, true);

  std::vector<std::size_t> cand(trials);
  std::vector<const T*> cand_rows(trials);
  for (std::size_t step = 1; step < k; ++step) {
    const double pot = total(chunk_pot);
    if (!(pot > 0)) {
      // Every row sits on a chosen centroid: fewer distinct rows than k. Take unchosen
      // rows uniformly so the indices stay distinct (the centroids then repeat).
      std::size_t r = static_cast<std::size_t>(rng.below(n - indices.size()));
      std::size_t i = 0;
      for (;; ++i)
        if (!chosen[i] && r-- == 0) break;
      add_centroid(i, false);
      continue;
    }
    for (std::size_t t = 0; t < trials; ++t) {
      cand[t] = sample(rng.uniform() * pot);
      cand_rows[t] = P.X.row(cand[t]);
    }
    pool.parallel_for(n_chunks, [&](std::size_t ch, std::size_t) {
      double* tp = trial_pot.data() + ch * trials;
      std::fill_n(tp, trials, 0.0);
      T dist[4];
      for (std::size_t i = chunks.begin(ch); i < chunks.end(ch); ++i) {
        const T* x = P.X.row(i);
        const double w = static_cast<double>(P.weight(i));
        std::size_t t = 0;
        for (; t + 4 <= trials; t += 4) {
          squared_distances_to<4, Arch>(x, cand_rows.data() + t, d, dist);
          for (std::size_t g = 0; g < 4; ++g) tp[t + g] += w * std::min(closest[i], static_cast<double>(dist[g]));
        }
        for (; t < trials; ++t)
          tp[t] += w * std::min(closest[i], static_cast<double>(squared_distance<Arch>(x, cand_rows[t], d)));
      }
    });
    std::size_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < trials; ++t) {
      double s = 0;
      for (std::size_t ch = 0; ch < n_chunks; ++ch) s += trial_pot[ch * trials + t];
      if (s < best_pot) {
        best_pot = s;
        best = t;
      }
    }
    add_centroid(cand[best], false);
  }
  return seeding_from_indices(P, std::move(indices));
}

}  // namespace detail

/// Greedy k-means++ seeding of k centroids from the rows of X (optionally weighted).
/// Deterministic for a given seed, whatever n_threads is.
template <class T, class Arch = detail::default_arch>
Seeding<T> kmeans_plusplus(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed = 0,
                           const std::vector<T>* sample_weight = nullptr, int n_threads = 0) {
  if (n_clusters == 0) detail::throw_invalid("n_clusters=0: need at least one cluster");
  detail::check_data_shape(X, n_clusters);
  const T* w = nullptr;
  if (sample_weight) {
    detail::check_weights(sample_weight->data(), sample_weight->size(), X.rows());
    w = sample_weight->data();
  }
  detail::ThreadPool pool(detail::resolve_thread_count(n_threads));
  const auto P = detail::make_problem(X, w, pool);
  detail::Rng rng(seed);
  return detail::kmeans_plusplus_seeding<T, Arch>(P, n_clusters, rng, pool);
}

/// k distinct rows of X drawn at random (with probability proportional to weight).
template <class T>
Seeding<T> random_rows(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed = 0,
                       const std::vector<T>* sample_weight = nullptr) {
  if (n_clusters == 0) detail::throw_invalid("n_clusters=0: need at least one cluster");
  detail::check_data_shape(X, n_clusters);
  const T* w = nullptr;
  if (sample_weight) {
    detail::check_weights(sample_weight->data(), sample_weight->size(), X.rows());
    w = sample_weight->data();
  }
  detail::ThreadPool pool(1);
  const auto P = detail::make_problem(X, w, pool);
  detail::Rng rng(seed);
  return detail::random_seeding(P, n_clusters, rng);
}

}  // namespace lloyd
