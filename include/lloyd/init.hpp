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

#include "detail/assign.hpp"
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

/// A uniform double in (0, 1] from (seed, round, row) alone: per-row draws that do not
/// depend on which thread makes them.
inline double hashed_uniform(std::uint64_t seed, std::uint64_t round, std::uint64_t row) noexcept {
  std::uint64_t s = seed ^ (round * 0xD6E8FEB86659FD93ull) ^ (row * 0x9E3779B97F4A7C15ull);
  return static_cast<double>((splitmix64(s) >> 11) + 1) * 0x1.0p-53;
}

/// k-means|| bookkeeping for new candidates C (numbered from `first`): each row's squared
/// distance to its nearest candidate so far (closest, ties keep the earlier candidate)
/// and that candidate's number (nearest), through the tiled kernel; chunk_pot[c] = the
/// sum of weight x closest over chunk c.
template <class T, class Arch>
void absorb_candidates(const Problem<T>& P, const Chunking& chunks, AssignKernel<T, Arch>& kernel,
                       std::vector<typename AssignKernel<T, Arch>::Workspace>& ws, ThreadPool& pool,
                       MatrixView<const T> C, std::size_t first, std::vector<double>& closest,
                       std::vector<std::uint32_t>& nearest, std::vector<double>& chunk_pot) {
  const std::size_t d = P.d;
  kernel.set_centroids(C);
  pool.parallel_for(chunks.count(), [&](std::size_t ch, std::size_t worker) {
    const std::size_t b = chunks.begin(ch), e = chunks.end(ch);
    std::vector<std::int32_t> lab(e - b);
    kernel.assign(P.X, b, e, lab.data(), ws[worker]);
    double pot = 0;
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t c = static_cast<std::size_t>(lab[i - b]);
      const double dist = static_cast<double>(squared_distance<Arch>(P.X.row(i), C.row(c), d));
      if (dist < closest[i]) {
        closest[i] = dist;
        nearest[i] = static_cast<std::uint32_t>(first + c);
      }
      pot += static_cast<double>(P.weight(i)) * closest[i];
    }
    chunk_pot[ch] = pot;
  });
}

/// k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012): one row drawn by weight,
/// then `rounds` rounds that each keep every row independently with probability
/// min(1, oversampling x w x D^2 / potential), D being the distance to the nearest
/// candidate so far; the candidates, weighted by the rows nearest to them, are then
/// reduced to k centroids by weighted greedy k-means++. Each round runs the new
/// candidates through the tiled kernel against every row, which also keeps each row's
/// nearest candidate: the weights come for free. oversampling = 0 means k / 2.
template <class T, class Arch = default_arch>
Seeding<T> kmeans_parallel_seeding(const Problem<T>& P, std::size_t k, Rng& rng, ThreadPool& pool,
                                   double oversampling = 0, int rounds = 5) {
  const std::size_t n = P.n, d = P.d;
  if (oversampling <= 0) oversampling = std::max(1.0, 0.5 * static_cast<double>(k));
  const Chunking chunks(n, 2048, 1024);
  std::vector<double> closest(n, std::numeric_limits<double>::infinity());
  std::vector<std::uint32_t> nearest(n, 0);  // candidate index
  std::vector<double> chunk_pot(chunks.count());
  std::vector<std::size_t> candidates;
  std::vector<unsigned char> is_candidate(n, 0);
  const std::uint64_t stream = rng.next();

  // closest/nearest against the candidates [first, end) (rows of X), chunk potentials.
  AssignKernel<T, Arch> kernel(d, P.mean.data());
  std::vector<typename AssignKernel<T, Arch>::Workspace> ws(pool.size());
  auto absorb = [&](std::size_t first) {
    const std::size_t m = candidates.size() - first;
    Matrix<T> C(m, d);
    for (std::size_t c = 0; c < m; ++c) std::copy_n(P.X.row(candidates[first + c]), d, C.row(c));
    absorb_candidates<T, Arch>(P, chunks, kernel, ws, pool, C, first, closest, nearest, chunk_pot);
  };

  // First candidate: one row drawn with probability proportional to weight.
  {
    const double r = rng.uniform() * P.total_weight;
    double acc = 0;
    std::size_t first = n;
    for (std::size_t i = 0; i < n; ++i) {
      const double w = static_cast<double>(P.weight(i));
      if (w <= 0) continue;
      acc += w;
      first = i;
      if (acc > r) break;
    }
    candidates.push_back(first);
    is_candidate[first] = 1;
    absorb(0);
  }
  for (int round = 0; round < rounds; ++round) {
    double pot = 0;
    for (double v : chunk_pot) pot += v;
    if (!(pot > 0)) break;  // every row is on a candidate
    const std::size_t before = candidates.size();
    std::vector<std::vector<std::size_t>> picked(chunks.count());
    pool.parallel_for(chunks.count(), [&](std::size_t ch, std::size_t) {
      for (std::size_t i = chunks.begin(ch); i < chunks.end(ch); ++i) {
        const double p = oversampling * static_cast<double>(P.weight(i)) * closest[i] / pot;
        if (p > 0 && !is_candidate[i] && hashed_uniform(stream, static_cast<std::uint64_t>(round), i) <= p)
          picked[ch].push_back(i);
      }
    });
    for (const auto& part : picked)
      for (std::size_t i : part) {
        candidates.push_back(i);
        is_candidate[i] = 1;
      }
    if (candidates.size() == before) continue;
    absorb(before);
  }

  // Too few candidates (few distinct rows): pad with further rows, as greedy k-means++ would.
  if (candidates.size() < k) {
    for (std::size_t i = 0; i < n && candidates.size() < k; ++i)
      if (!is_candidate[i]) {
        candidates.push_back(i);
        is_candidate[i] = 1;
      }
    absorb(0);
  }
  // Weighted greedy k-means++ on the candidates (weight = rows nearest to each).
  const std::size_t m = candidates.size();
  std::vector<T> weight(m, T(0));
  for (std::size_t i = 0; i < n; ++i) weight[nearest[i]] += P.weight(i);
  // A candidate nobody is nearest to (ties) still counts a little, so it stays usable.
  for (auto& w : weight)
    if (!(w > 0)) w = std::numeric_limits<T>::min();
  Matrix<T> C(m, d);
  for (std::size_t c = 0; c < m; ++c) std::copy_n(P.X.row(candidates[c]), d, C.row(c));
  const Problem<T> Q = make_problem<T>(C, weight.data(), pool);
  Seeding<T> s = kmeans_plusplus_seeding<T, Arch>(Q, k, rng, pool);
  for (auto& idx : s.indices) idx = candidates[idx];
  return s;
}

}  // namespace detail

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

/// k-means|| seeding (see detail::kmeans_parallel_seeding): k centroids from the rows of
/// X in a few parallel rounds; for large k much faster than greedy k-means++.
template <class T, class Arch = detail::default_arch>
Seeding<T> kmeans_parallel(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed = 0,
                           const std::vector<T>* sample_weight = nullptr, int n_threads = 0) {
  return detail::seed_from_rows(X, n_clusters, seed, sample_weight, n_threads,
                                [&](const detail::Problem<T>& P, detail::Rng& rng, detail::ThreadPool& pool) {
                                  return detail::kmeans_parallel_seeding<T, Arch>(P, n_clusters, rng, pool);
                                });
}

/// Greedy k-means++ seeding of k centroids from the rows of X (optionally weighted).
/// Deterministic for a given seed, whatever n_threads is.
template <class T, class Arch = detail::default_arch>
Seeding<T> kmeans_plusplus(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed = 0,
                           const std::vector<T>* sample_weight = nullptr, int n_threads = 0) {
  return detail::seed_from_rows(X, n_clusters, seed, sample_weight, n_threads,
                                [&](const detail::Problem<T>& P, detail::Rng& rng, detail::ThreadPool& pool) {
                                  return detail::kmeans_plusplus_seeding<T, Arch>(P, n_clusters, rng, pool);
                                });
}

/// k distinct rows of X drawn at random (with probability proportional to weight).
template <class T>
Seeding<T> random_rows(MatrixView<const T> X, std::size_t n_clusters, std::uint64_t seed = 0,
                       const std::vector<T>* sample_weight = nullptr) {
  return detail::seed_from_rows(X, n_clusters, seed, sample_weight, 1,
                                [&](const detail::Problem<T>& P, detail::Rng& rng, detail::ThreadPool&) {
                                  return detail::random_seeding(P, n_clusters, rng);
                                });
}

}  // namespace lloyd
