// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The seedings, each written once: random rows, greedy k-means++ and k-means||. Random
// rows and k-means|| run over an Exchange (exchange.hpp), so the distributed seedings
// are these plus the exchanges; greedy k-means++ needs one exchange per centroid and
// runs on one process's rows (a distributed fit uses k-means|| instead).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "assign.hpp"
#include "distance.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "random.hpp"

namespace lloyd {

/// Starting centroids and the rows they were copied from.
template <class T>
struct Seeding {
  Matrix<T> centroids;               ///< k x d
  std::vector<std::size_t> indices;  ///< row of X each centroid was taken from (global index)
};

namespace detail {

/// The rows of all processes with the given global indices, in that order, as one
/// matrix (the same on every process).
template <class T>
Matrix<T> rows_by_index(Exchange<T>& ex, const Problem<T>& P, const std::vector<std::uint64_t>& index) {
  const std::size_t d = P.d;
  std::vector<std::uint64_t> where;
  std::vector<T> values;
  for (std::size_t c = 0; c < index.size(); ++c)
    if (index[c] >= P.first_row && index[c] < P.first_row + P.n) {
      where.push_back(c);
      const T* x = P.X.row(static_cast<std::size_t>(index[c] - P.first_row));
      values.insert(values.end(), x, x + d);
    }
  const std::vector<std::uint64_t> all_where = gather(ex, where);
  const std::vector<T> all_values = gather(ex, values);
  Matrix<T> out(index.size(), d);
  for (std::size_t r = 0; r < all_where.size(); ++r)
    std::copy_n(all_values.data() + r * d, d, out.row(static_cast<std::size_t>(all_where[r])));
  return out;
}

template <class T>
Seeding<T> seeding_of(Exchange<T>& ex, const Problem<T>& P, const std::vector<std::uint64_t>& index) {
  Seeding<T> s;
  s.centroids = rows_by_index(ex, P, index);
  s.indices.assign(index.begin(), index.end());
  return s;
}

/// The global row whose cumulative weight first exceeds r (r in [0, total weight)): the
/// last row of positive weight when rounding leaves r past the total.
template <class T>
std::uint64_t row_by_weight(Exchange<T>& ex, const Problem<T>& P, double r) {
  struct Part {
    double weight;
    std::uint64_t first, rows;
  };
  double local = 0;
  for (std::size_t i = 0; i < P.n; ++i) local += static_cast<double>(P.weight(i));
  const std::vector<Part> parts = gather(ex, std::vector<Part>{{local, P.first_row, P.n}});
  std::size_t owner = parts.size();
  bool past_end = true;
  for (std::size_t q = 0; q < parts.size(); ++q) {
    if (!(parts[q].weight > 0)) continue;
    owner = q;
    if (r < parts[q].weight) {
      past_end = false;
      break;
    }
    r -= parts[q].weight;
  }
  std::uint64_t pick = 0;
  if (owner < parts.size() && parts[owner].first == P.first_row && parts[owner].rows == P.n && P.n > 0) {
    double acc = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < P.n; ++i) {
      const double w = static_cast<double>(P.weight(i));
      if (w <= 0) continue;
      acc += w;
      last = i;
      if (!past_end && acc > r) break;
    }
    pick = P.first_row + last;
  }
  return ex.sum(static_cast<std::size_t>(pick));
}

/// k distinct rows, drawn without replacement with probability proportional to weight
/// (Efraimidis-Spirakis keys log(u)/w; rows of weight 0 only fill up what is left).
template <class T>
Seeding<T> random_seeding(Exchange<T>& ex, const Problem<T>& P, std::size_t k, Rng& rng) {
  struct Key {
    double key;
    std::uint64_t index;
  };
  std::vector<double> u(P.n);
  ex.row_uniforms(rng, P.first_row, P.n, u.data());
  std::vector<Key> keys(P.n);
  for (std::size_t i = 0; i < P.n; ++i) {
    const double w = static_cast<double>(P.weight(i));
    keys[i] = {w > 0 ? std::log(u[i]) / w : -std::numeric_limits<double>::infinity(), P.first_row + i};
  }
  auto before = [](const Key& a, const Key& b) { return a.key > b.key || (a.key == b.key && a.index < b.index); };
  const std::size_t top = std::min(k, keys.size());
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(top), keys.end(), before);
  keys.resize(top);
  std::vector<Key> all = gather(ex, keys);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
  std::vector<std::uint64_t> index(k);
  for (std::size_t c = 0; c < k; ++c) index[c] = all[c].index;
  return seeding_of(ex, P, index);
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
  const Chunking chunks = partition::kmeans_plusplus(n);
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
  LocalExchange<T> local;
  add_centroid(static_cast<std::size_t>(row_by_weight<T>(local, P, rng.uniform() * P.total_weight)), true);

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
  LocalExchange<T> local_rows;
  return seeding_of<T>(local_rows, P, std::vector<std::uint64_t>(indices.begin(), indices.end()));
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
/// candidate so far (draws keyed by the row's global index: the same rows whatever the
/// split); the candidates, weighted by the rows nearest to them (summed over the
/// processes), are then reduced to k centroids by weighted greedy k-means++, run alike
/// on every process. Each round runs the new candidates through the tiled kernel
/// against every row, which also keeps each row's nearest candidate: the weights come
/// for free. oversampling = 0 means k / 2.
template <class T, class Arch = default_arch>
class KMeansParallel {
 public:
  KMeansParallel(Exchange<T>& ex, const Problem<T>& P, ThreadPool& pool)
      : ex_(ex),
        P_(P),
        pool_(pool),
        chunks_(partition::kmeans_parallel(P.n)),
        closest_(P.n, std::numeric_limits<double>::infinity()),
        nearest_(P.n, 0),
        chunk_pot_(chunks_.count()),
        is_candidate_(P.n, 0),
        kernel_(P.d, P.mean.data()),
        ws_(pool.size()) {}

  Seeding<T> run(std::size_t k, Rng& rng, double oversampling, int rounds) {
    if (oversampling <= 0) oversampling = std::max(1.0, 0.5 * static_cast<double>(k));
    const std::uint64_t stream = rng.next();
    add({row_by_weight(ex_, P_, rng.uniform() * P_.total_weight)});
    for (int round = 0; round < rounds; ++round) {
      double pot = 0;
      for (double v : chunk_pot_) pot += v;
      pot = ex_.sum(pot);
      if (!(pot > 0)) break;  // every row is on a candidate
      add(sample(stream, round, oversampling, pot));
    }
    // Too few candidates (few distinct rows): pad with the first rows not taken yet, as
    // greedy k-means++ would.
    if (index_.size() < k) {
      std::vector<std::uint64_t> spare;
      for (std::size_t i = 0; i < P_.n && spare.size() < k - index_.size(); ++i)
        if (!is_candidate_[i]) spare.push_back(P_.first_row + i);
      std::vector<std::uint64_t> all = gather(ex_, spare);
      all.resize(std::min(all.size(), k - index_.size()));  // process order = global order
      add(all);
    }
    return reduce(k, rng);
  }

 private:
  // This process's rows kept in one round, in row order.
  std::vector<std::uint64_t> sample(std::uint64_t stream, int round, double oversampling, double pot) {
    std::vector<std::vector<std::uint64_t>> picked(chunks_.count());
    pool_.parallel_for(chunks_.count(), [&](std::size_t ch, std::size_t) {
      for (std::size_t i = chunks_.begin(ch); i < chunks_.end(ch); ++i) {
        const std::uint64_t g = P_.first_row + i;
        const double p = oversampling * static_cast<double>(P_.weight(i)) * closest_[i] / pot;
        if (p > 0 && !is_candidate_[i] && hashed_uniform(stream, static_cast<std::uint64_t>(round), g) <= p)
          picked[ch].push_back(g);
      }
    });
    std::vector<std::uint64_t> mine;
    for (const auto& part : picked) mine.insert(mine.end(), part.begin(), part.end());
    return gather(ex_, mine);
  }

  // New candidates (global indices of all processes): kept, and absorbed by every row.
  void add(const std::vector<std::uint64_t>& fresh) {
    if (fresh.empty()) return;
    const std::size_t first = index_.size();
    for (std::uint64_t g : fresh) {
      index_.push_back(g);
      if (g >= P_.first_row && g < P_.first_row + P_.n) is_candidate_[static_cast<std::size_t>(g - P_.first_row)] = 1;
    }
    const Matrix<T> C = rows_by_index(ex_, P_, fresh);
    rows_.insert(rows_.end(), C.data(), C.data() + C.rows() * C.stride());
    absorb_candidates<T, Arch>(P_, chunks_, kernel_, ws_, pool_, C, first, closest_, nearest_, chunk_pot_);
  }

  // Weighted greedy k-means++ on the candidates (weight = rows nearest to each).
  Seeding<T> reduce(std::size_t k, Rng& rng) {
    const std::size_t m = index_.size(), d = P_.d, stride = m > 0 ? rows_.size() / m : d;
    std::vector<T> local(m, T(0));
    for (std::size_t i = 0; i < P_.n; ++i) local[nearest_[i]] += P_.weight(i);
    std::vector<double> total(local.begin(), local.end());
    ex_.sum_in_place(total.data(), m);
    std::vector<T> weight(m);
    // A candidate nobody is nearest to (ties) still counts a little, so it stays usable.
    for (std::size_t c = 0; c < m; ++c) {
      weight[c] = static_cast<T>(total[c]);
      if (!(weight[c] > 0)) weight[c] = std::numeric_limits<T>::min();
    }
    const MatrixView<const T> C(rows_.data(), m, d, stride);
    const Problem<T> Q = make_problem<T>(C, weight.data(), pool_);
    Seeding<T> s = kmeans_plusplus_seeding<T, Arch>(Q, k, rng, pool_);
    for (auto& idx : s.indices) idx = static_cast<std::size_t>(index_[idx]);
    return s;
  }

  Exchange<T>& ex_;
  const Problem<T>& P_;
  ThreadPool& pool_;
  Chunking chunks_;
  std::vector<double> closest_;
  std::vector<std::uint32_t> nearest_;
  std::vector<double> chunk_pot_;
  std::vector<unsigned char> is_candidate_;
  AssignKernel<T, Arch> kernel_;
  std::vector<typename AssignKernel<T, Arch>::Workspace> ws_;
  std::vector<std::uint64_t> index_;  // candidates' global indices
  std::vector<T> rows_;               // candidates' rows (padded stride)
};

template <class T, class Arch = default_arch>
Seeding<T> kmeans_parallel_seeding(Exchange<T>& ex, const Problem<T>& P, std::size_t k, Rng& rng, ThreadPool& pool,
                                   double oversampling = 0, int rounds = 5) {
  return KMeansParallel<T, Arch>(ex, P, pool).run(k, rng, oversampling, rounds);
}

/// The seeding Params ask for. Init::Auto: k-means|| for large k (k >= 128 and
/// n >= 16 k), else greedy k-means++; where the exchange cannot run greedy k-means++
/// (a distributed fit), k-means|| for every Init but Random.
template <class T, class Arch = default_arch>
Matrix<T> seed_centroids(Exchange<T>& ex, const Problem<T>& P, Init init, std::size_t k, Rng& rng, ThreadPool& pool) {
  if (init == Init::Auto) init = (k >= 128 && P.total_rows >= 16 * k) ? Init::KMeansParallel : Init::KMeansPlusPlus;
  if (init == Init::KMeansPlusPlus && !ex.greedy_seeding()) init = Init::KMeansParallel;
  switch (init) {
    case Init::Random: return random_seeding(ex, P, k, rng).centroids;
    case Init::KMeansParallel: return kmeans_parallel_seeding<T, Arch>(ex, P, k, rng, pool).centroids;
    default: return kmeans_plusplus_seeding<T, Arch>(P, k, rng, pool).centroids;
  }
}

}  // namespace detail
}  // namespace lloyd
