// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// k-means|| over an Exchange: the single-process and the distributed seeding are this
// one class, the distributed one with MPI behind the exchanges.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "assign.hpp"
#include "bounds.hpp"
#include "candidate_kmeans_plusplus.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "random.hpp"
#include "seeding_rows.hpp"

namespace lloyd {
namespace detail {

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
///
/// What an earlier candidate a knows of the new ones (candidate_reach): `nearest`, the
/// nearest new candidate (its number among them), `reach`, a lower bound of the exact
/// distance from a to it, and `beyond`, a lower bound of the exact distance from a to
/// every other new candidate.
struct Reach {
  std::vector<std::uint32_t> nearest;
  std::vector<double> reach, beyond;
};

/// Rows that no new candidate can come closer to are skipped (the triangle inequality,
/// as in Hamerly's algorithm; Raff, "Exact Acceleration of K-Means++ and K-Means||",
/// IJCAI 2021): a row whose distance to its candidate a is u keeps it when u (1 + g) <
/// (reach[a] - u)(1 - g) (BoundMath). Its computed distance would have lost the strict
/// comparison anyway, so skipping changes no bit. A row that fails this test but passes
/// it with beyond[a] can only come closer to a's nearest new candidate: that one
/// distance is computed, not the row's distances to all C (the kernel's arg-min would
/// have been that candidate wherever it comes closer, every other being no closer than
/// u). In the late rounds most rows that are not skipped are of this kind (blobs 200 000
/// x 64, k = 4096: 80 % of the last round's, 67 % of the one before). Without earlier
/// candidates (first = 0), or with R null, every row is computed. Returns the number of
/// rows skipped; `single` counts those of one distance.
template <class T, class Arch>
std::size_t absorb_candidates(const Problem<T>& P, const Chunking& chunks, AssignKernel<T, Arch>& kernel,
                       std::vector<typename AssignKernel<T, Arch>::Workspace>& ws, ThreadPool& pool,
                       MatrixView<const T> C, std::size_t first, const Reach* R,
                       std::vector<double>& closest, std::vector<std::uint32_t>& nearest,
                       std::vector<double>& chunk_pot, std::vector<std::size_t>& chunk_skipped,
                       std::vector<std::size_t>& chunk_single, std::size_t& single) {
  const std::size_t d = P.d;
  const BoundMath math(kernel.relative_error());
  const bool bounded = first > 0 && R != nullptr;
  pool.parallel_for(chunks.count(), [&](std::size_t ch, std::size_t worker) {
    const std::size_t b = chunks.begin(ch), e = chunks.end(ch);
    std::vector<std::size_t> rows;  // of Y: the rows more than one new candidate may come closer to
    std::vector<std::size_t> one;   // of Y: the rows only their candidate's nearest new one may
    rows.reserve(e - b);
    for (std::size_t i = b; i < e; ++i) {
      if (bounded) {
        const double u = math.upper(closest[i]);
        const std::size_t a = nearest[i];
        if (math.keeps(u, BoundMath::sub_down(R->reach[a], u))) continue;
        if (math.keeps(u, BoundMath::sub_down(R->beyond[a], u))) {
          one.push_back(i - b);
          continue;
        }
      }
      rows.push_back(i - b);
    }
    const auto improve = [&](const T* y, std::size_t i, std::size_t c) {
      const double dist = static_cast<double>(squared_distance<Arch>(y, C.row(c), d));
      if (dist < closest[i]) {
        closest[i] = dist;
        nearest[i] = static_cast<std::uint32_t>(first + c);
      }
    };
    if (!rows.empty() || !one.empty()) {
      Matrix<T> block;
      const MatrixView<const T> Y = P.rows(b, e, block);  // rows b.. as Y's 0..
      for (std::size_t r : one) improve(Y.row(r), b + r, R->nearest[nearest[b + r]]);
      if (!rows.empty()) {
        std::vector<std::int32_t> lab(rows.size());
        kernel.assign_rows(Y, rows.data(), rows.size(), lab.data(), nullptr, ws[worker]);
        for (std::size_t r = 0; r < rows.size(); ++r)
          improve(Y.row(rows[r]), b + rows[r], static_cast<std::size_t>(lab[r]));
      }
    }
    double pot = 0;
    for (std::size_t i = b; i < e; ++i) pot += static_cast<double>(P.weight(i)) * closest[i];
    chunk_pot[ch] = pot;
    chunk_skipped[ch] = (e - b) - rows.size() - one.size();
    chunk_single[ch] = one.size();
  });
  std::size_t skipped = 0;
  for (std::size_t ch = 0; ch < chunks.count(); ++ch) {
    skipped += chunk_skipped[ch];
    single += chunk_single[ch];
  }
  return skipped;
}

/// For each of the `first` earlier candidates (rows of `earlier`), what it knows of the
/// new candidates C, whose kernel is set (see Reach).
template <class T, class Arch>
void candidate_reach(AssignKernel<T, Arch>& kernel, std::vector<typename AssignKernel<T, Arch>::Workspace>& ws,
                     ThreadPool& pool, MatrixView<const T> earlier, MatrixView<const T> C, Reach& R) {
  const std::size_t m = earlier.rows(), d = C.cols();
  R.nearest.resize(m);
  R.reach.resize(m);
  R.beyond.resize(m);
  const BoundMath math(kernel.relative_error());
  const Chunking parts = Chunking::of_rows(m, 256);
  pool.parallel_for(parts.count(), [&](std::size_t p, std::size_t worker) {
    const std::size_t b = parts.begin(p), e = parts.end(p);
    std::vector<std::size_t> rows(e - b);
    for (std::size_t a = b; a < e; ++a) rows[a - b] = a;
    std::vector<std::int32_t> lab(e - b);
    std::vector<double> second(e - b);
    kernel.assign_rows(earlier, rows.data(), e - b, lab.data(), second.data(), ws[worker]);
    for (std::size_t a = b; a < e; ++a) {
      const std::size_t c = static_cast<std::size_t>(lab[a - b]);
      R.nearest[a] = static_cast<std::uint32_t>(c);
      R.reach[a] = math.lower(static_cast<double>(squared_distance<Arch>(earlier.row(a), C.row(c), d)));
      R.beyond[a] = C.rows() > 1 ? BoundMath::lower_from_sq(second[a - b]) : std::numeric_limits<double>::infinity();
    }
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
  /// bounds = false computes every row's distance to every candidate (for tests: the
  /// same bits either way).
  KMeansParallel(Exchange<T>& ex, const Problem<T>& P, ThreadPool& pool, bool bounds = true)
      : ex_(ex),
        P_(P),
        pool_(pool),
        chunks_(partition::kmeans_parallel(P.n)),
        closest_(P.n, std::numeric_limits<double>::infinity()),
        nearest_(P.n, 0),
        chunk_pot_(chunks_.count()),
        chunk_skipped_(chunks_.count()),
        chunk_single_(chunks_.count()),
        bounds_(bounds),
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

  /// Rows (of this process, summed over the rounds) whose distances to a round's new
  /// candidates the bounds made unnecessary.
  std::size_t rows_skipped() const noexcept { return skipped_; }
  /// Rows (likewise) that the bounds left one of a round's new candidates to compute.
  std::size_t rows_single() const noexcept { return single_; }

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
    kernel_.set_centroids(C);
    if (bounds_ && first > 0)
      candidate_reach<T, Arch>(kernel_, ws_, pool_, MatrixView<const T>(rows_.data(), first, P_.d, C.stride()), C,
                               reach_);
    rows_.insert(rows_.end(), C.data(), C.data() + C.rows() * C.stride());
    skipped_ += absorb_candidates<T, Arch>(P_, chunks_, kernel_, ws_, pool_, C, first, bounds_ ? &reach_ : nullptr,
                                           closest_, nearest_, chunk_pot_, chunk_skipped_, chunk_single_, single_);
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
    const std::vector<std::size_t> picked = CandidateKMeansPlusPlus<T, Arch>(C, weight.data(), k, 0, pool_).run(rng);
    Seeding<T> s;
    s.centroids = Matrix<T>(picked.size(), d);
    for (std::size_t c = 0; c < picked.size(); ++c) {
      std::copy_n(C.row(picked[c]), d, s.centroids.row(c));
      s.indices.push_back(static_cast<std::size_t>(index_[picked[c]]));
    }
    return s;
  }

  Exchange<T>& ex_;
  const Problem<T>& P_;
  ThreadPool& pool_;
  Chunking chunks_;
  std::vector<double> closest_;
  std::vector<std::uint32_t> nearest_;
  std::vector<double> chunk_pot_;
  std::vector<std::size_t> chunk_skipped_;
  std::vector<std::size_t> chunk_single_;
  const bool bounds_;
  std::size_t skipped_ = 0;  // rows the bounds left no distance to compute, over all rounds
  std::size_t single_ = 0;   // rows the bounds left one distance, over all rounds
  std::vector<unsigned char> is_candidate_;
  AssignKernel<T, Arch> kernel_;
  std::vector<typename AssignKernel<T, Arch>::Workspace> ws_;
  std::vector<std::uint64_t> index_;  // candidates' global indices
  std::vector<T> rows_;               // candidates' rows (padded stride)
  Reach reach_;                       // per earlier candidate: what it knows of the newest ones
};

template <class T, class Arch = default_arch>
Seeding<T> kmeans_parallel_seeding(Exchange<T>& ex, const Problem<T>& P, std::size_t k, Rng& rng, ThreadPool& pool,
                                   double oversampling = 0, int rounds = 5) {
  return KMeansParallel<T, Arch>(ex, P, pool).run(k, rng, oversampling, rounds);
}

}  // namespace detail
}  // namespace lloyd
