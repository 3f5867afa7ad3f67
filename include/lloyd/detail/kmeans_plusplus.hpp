// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's local trials): each
// new centroid is the best of n_local_trials rows sampled with probability proportional
// to weight x squared distance to the nearest chosen centroid, "best" meaning the lowest
// resulting potential. It needs one exchange per centroid, so it runs on one process's
// rows (a distributed fit uses k-means|| instead, which ends with the same rule on its
// candidates: candidate_kmeans_plusplus.hpp).
//
// From k = 16 it skips the rows no trial can come closer to, as k-means||'s rounds do
// (kmeans_parallel.hpp): each row remembers its nearest chosen centroid; per step each
// chosen centroid's distance to its nearest trial bounds, by the triangle inequality with
// BoundMath's margin, the distances of its rows to every trial. A skipped row's distances
// would have lost the min() anyway, so the picks and potentials are the same bits.
// Where a step skips fewer than an eighth of the rows (high d, unclustered data), the
// bounds cost more than they save: the next 8 steps go without them (the rows' nearest
// centroids are still kept), then one tries again.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "bounds.hpp"
#include "distance.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "random.hpp"
#include "seeding_rows.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class GreedyKMeansPlusPlus {
 public:
  /// trials = 0 means 2 + floor(ln k). The trials' distances are kept (so the chosen
  /// one's need no second pass over X) when they take at most a quarter of X's memory,
  /// or as `keep` says (for tests: both ways give the same bits).
  /// The bounds are used from k = bounded_from, or as `bounds` says (for tests).
  enum class Keep { by_memory, always, never };
  enum class Bounds { by_size, always, never };
  static constexpr std::size_t bounded_from = 16;
  GreedyKMeansPlusPlus(const Problem<T>& P, std::size_t k, std::size_t trials, ThreadPool& pool,
                       Keep keep = Keep::by_memory, Bounds bounds = Bounds::by_size)
      : P_(P),
        k_(k),
        trials_(trials > 0 ? trials : 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)))),
        pool_(pool),
        chunks_(partition::kmeans_plusplus(P.n)),
        closest_(P.n),
        chunk_pot_(chunks_.count()),
        trial_pot_(chunks_.count() * trials_),
        chosen_(P.n, 0),
        cand_(trials_),
        cand_rows_(trials_),
        cand_values_(P.unit_rows ? trials_ * P.d : 0),
        centroid_values_(P.row_buffer()),
        bounded_(bounds == Bounds::always || (bounds == Bounds::by_size && k >= bounded_from)),
        math_(canonical_relative_error<T, Arch>(P.d)) {
    indices_.reserve(k);
    if (keep == Keep::always || (keep == Keep::by_memory && 4 * trials_ <= P.d)) trial_dist_.resize(P.n * trials_);
    if (bounded_) {
      owner_.resize(P.n);
      centres_.reserve(k * P.d);
      reach_.resize(k);
      if (!trial_dist_.empty()) skipped_.resize(P.n);
    }
  }

  /// Rows whose trial distances the bounds made unnecessary, summed over the steps.
  std::size_t rows_skipped() const noexcept { return rows_skipped_; }

  Seeding<T> run(Rng& rng) {
    // First centroid: one row drawn with probability proportional to weight (unit
    // weights draw uniformly; scaling all weights changes nothing).
    LocalExchange<T> local;
    add_centroid(static_cast<std::size_t>(row_by_weight<T>(local, P_, rng.uniform() * P_.total_weight)), true);
    for (std::size_t step = 1; step < k_; ++step) {
      double pot = 0;
      for (double v : chunk_pot_) pot += v;
      if (!(pot > 0)) {
        add_centroid(unchosen_row(rng), false);
        continue;
      }
      for (std::size_t t = 0; t < trials_; ++t) {
        cand_[t] = sample(rng.uniform() * pot);
        cand_rows_[t] = P_.row(cand_[t], P_.unit_rows ? cand_values_.data() + t * P_.d : nullptr);
      }
      const std::size_t best = best_trial();
      if (trial_dist_.empty())
        add_centroid(cand_[best], false);
      else
        add_trial(best);
    }
    return seeding_of<T>(local, P_, std::vector<std::uint64_t>(indices_.begin(), indices_.end()));
  }

  /// The potential left after run(): sum of weight x squared distance to the nearest
  /// seed (per chunk, then in chunk order).
  double potential() const {
    double pot = 0;
    for (double v : chunk_pot_) pot += v;
    return pot;
  }

 private:
  double mass(std::size_t i) const { return static_cast<double>(P_.weight(i)) * closest_[i]; }

  // Row whose cumulative mass first exceeds r (never a row of zero mass).
  std::size_t sample(double r) const {
    return index_by_mass(chunks_, chunk_pot_, r, [&](std::size_t i) { return mass(i); }, P_.n);
  }

  // Every row sits on a chosen centroid: fewer distinct rows than k. An unchosen row,
  // uniformly, so the indices stay distinct (the centroids then repeat).
  std::size_t unchosen_row(Rng& rng) const {
    std::size_t r = static_cast<std::size_t>(rng.below(P_.n - indices_.size()));
    std::size_t i = 0;
    for (;; ++i)
      if (!chosen_[i] && r-- == 0) break;
    return i;
  }

  // Whether no trial can come closer to row i than its nearest chosen centroid: its
  // distance u to that centroid (bounded above) and the centroid's to the nearest trial
  // (reach_, bounded below) prove every trial's canonical distance to be above its own.
  bool out_of_reach(std::size_t i) const noexcept {
    const double u = math_.upper(closest_[i]);
    return math_.keeps(u, BoundMath::sub_down(reach_[owner_[i]], u));
  }

  // closest = min(closest, dist to row idx); the chunk potentials refreshed. When idx is
  // the trial a step with the bounds chose, rows out of every trial's reach keep theirs.
  void add_centroid(std::size_t idx, bool first) {
    chosen_[idx] = 1;
    indices_.push_back(idx);
    const T* c = P_.row(idx, centroid_values_.data());
    const bool skip = skipping_ && !first;
    const auto newest = static_cast<std::uint32_t>(indices_.size() - 1);
    pool_.parallel_for(chunks_.count(), [&](std::size_t ch, std::size_t) {
      double pot = 0;
      std::vector<T> buf = P_.row_buffer();
      for (std::size_t i = chunks_.begin(ch); i < chunks_.end(ch); ++i) {
        if (!(skip && out_of_reach(i))) {
          const double dist = static_cast<double>(squared_distance<Arch>(P_.row(i, buf.data()), c, P_.d));
          if (first || dist < closest_[i]) {
            closest_[i] = dist;
            if (bounded_) owner_[i] = newest;
          }
        }
        pot += mass(i);
      }
      chunk_pot_[ch] = pot;
    });
    if (bounded_) centres_.insert(centres_.end(), c, c + P_.d);
    skipping_ = false;
  }

  // add_centroid(cand_[t]) from the distances best_trial() kept: the same values (the
  // canonical distances are the same bits whichever routine computes them), no pass
  // over X. Rows the bounds skipped keep their distance.
  void add_trial(std::size_t t) {
    chosen_[cand_[t]] = 1;
    indices_.push_back(cand_[t]);
    const auto newest = static_cast<std::uint32_t>(indices_.size() - 1);
    pool_.parallel_for(chunks_.count(), [&](std::size_t ch, std::size_t) {
      double pot = 0;
      for (std::size_t i = chunks_.begin(ch); i < chunks_.end(ch); ++i) {
        if (!(skipping_ && skipped_[i])) {
          const double dist = static_cast<double>(trial_dist_[i * trials_ + t]);
          if (dist < closest_[i]) {
            closest_[i] = dist;
            if (bounded_) owner_[i] = newest;
          }
        }
        pot += mass(i);
      }
      chunk_pot_[ch] = pot;
    });
    if (bounded_) centres_.insert(centres_.end(), cand_rows_[t], cand_rows_[t] + P_.d);
    skipping_ = false;
  }

  // reach_[j] = a lower bound of the exact distance from chosen centroid j to its nearest
  // trial.
  void trial_reach() {
    const std::size_t s = indices_.size(), trials = trials_, d = P_.d;
    auto run = [&](std::size_t j0, std::size_t j1) {
      for (std::size_t j = j0; j < j1; ++j) {
        double m = std::numeric_limits<double>::infinity();
        squared_distances_listed<Arch>(
            centres_.data() + j * d, d, trials, [&](std::size_t t) { return cand_rows_[t]; },
            [&](std::size_t, T dist) { m = std::min(m, static_cast<double>(dist)); });
        reach_[j] = math_.lower(m);
      }
    };
    if (s * trials * d < (std::size_t(1) << 16)) {
      run(0, s);
    } else {
      const Chunking parts = Chunking::of_rows(s, 128);
      pool_.parallel_for(parts.count(), [&](std::size_t p, std::size_t) { run(parts.begin(p), parts.end(p)); });
    }
  }

  // Per chunk and trial, the potential left if the trial's row were added; with Keep,
  // each row's distances to the trials are kept in trial_dist_ (with the bounds: unless
  // the row was skipped, as skipped_ says).
  template <bool Keep>
  void trial_potentials() {
    const std::size_t trials = trials_;
    pool_.parallel_for(chunks_.count(), [&](std::size_t ch, std::size_t) {
      std::vector<double> acc(trials, 0.0);  // not in trial_pot_: no cache line shared with another chunk's
      double* LLOYD_RESTRICT tp = acc.data();
      T dist[4];
      std::vector<T> buf = P_.row_buffer();
      std::size_t skipped = 0;
      for (std::size_t i = chunks_.begin(ch); i < chunks_.end(ch); ++i) {
        const double w = static_cast<double>(P_.weight(i));
        const double near = closest_[i];
        if (skipping_) {
          const bool skip = out_of_reach(i);
          if constexpr (Keep) skipped_[i] = skip;
          if (skip) {
            const double own = w * near;  // w * min(near, a distance above it)
            for (std::size_t t = 0; t < trials; ++t) tp[t] += own;
            ++skipped;
            continue;
          }
        }
        const T* x = P_.row(i, buf.data());
        std::size_t t = 0;
        for (; t + 4 <= trials; t += 4) {
          squared_distances_to<4, Arch>(x, cand_rows_.data() + t, P_.d, dist);
          for (std::size_t g = 0; g < 4; ++g) tp[t + g] += w * std::min(near, static_cast<double>(dist[g]));
          if constexpr (Keep) std::copy_n(dist, 4, trial_dist_.data() + i * trials + t);
        }
        const std::size_t rest = trials - t;  // 1 to 3 trials left: x is still read once
        if (rest == 3)
          squared_distances_to<3, Arch>(x, cand_rows_.data() + t, P_.d, dist);
        else if (rest == 2)
          squared_distances_to<2, Arch>(x, cand_rows_.data() + t, P_.d, dist);
        else if (rest == 1)
          squared_distances_to<1, Arch>(x, cand_rows_.data() + t, P_.d, dist);
        for (std::size_t g = 0; g < rest; ++g) {
          tp[t + g] += w * std::min(near, static_cast<double>(dist[g]));
          if constexpr (Keep) trial_dist_[i * trials + t + g] = dist[g];
        }
      }
      std::copy_n(tp, trials, trial_pot_.data() + ch * trials);
      chunk_skipped_[ch] = skipped;
    });
    std::size_t skipped = 0;
    for (std::size_t ch = 0; ch < chunks_.count(); ++ch) skipped += chunk_skipped_[ch];
    rows_skipped_ += skipped;
    if (skipping_ && skipped < P_.n / 8) pause_ = 8;
  }

  // The trial whose row, added, leaves the lowest potential (the first of equals).
  std::size_t best_trial() {
    skipping_ = bounded_ && pause_ == 0;
    if (pause_ > 0) --pause_;
    if (skipping_) trial_reach();
    if (trial_dist_.empty())
      trial_potentials<false>();
    else
      trial_potentials<true>();
    const std::size_t trials = trials_;
    std::size_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < trials; ++t) {
      double s = 0;
      for (std::size_t ch = 0; ch < chunks_.count(); ++ch) s += trial_pot_[ch * trials + t];
      if (s < best_pot) {
        best_pot = s;
        best = t;
      }
    }
    return best;
  }

  const Problem<T>& P_;
  const std::size_t k_, trials_;
  ThreadPool& pool_;
  const Chunking chunks_;
  std::vector<double> closest_;    // weight-free squared distance to the nearest centroid so far
  std::vector<double> chunk_pot_;  // sum of w * closest per chunk
  std::vector<double> trial_pot_;  // chunks x trials: the potential each trial would leave
  std::vector<unsigned char> chosen_;
  std::vector<std::size_t> indices_;
  std::vector<std::size_t> cand_;
  std::vector<const T*> cand_rows_;
  std::vector<T> cand_values_, centroid_values_;  // unit rows of the trials and of a new centroid (Metric::Cosine)
  std::vector<T> trial_dist_;  // n x trials, or empty: the trials' distances of each row
  std::vector<std::size_t> chunk_skipped_ = std::vector<std::size_t>(chunks_.count());
  std::size_t rows_skipped_ = 0;
  // The bounds (bounded_ only).
  const bool bounded_;
  const BoundMath math_;
  bool skipping_ = false;                 // this step uses the bounds (reach_ holds its trials)
  std::size_t pause_ = 0;                 // steps left without the bounds
  std::vector<std::uint32_t> owner_;      // n: position in indices_ of the row's nearest chosen centroid
  std::vector<T> centres_;                // chosen x d: the chosen centroids' values
  std::vector<double> reach_;             // chosen: lower bound of the exact distance to the nearest trial
  std::vector<unsigned char> skipped_;    // n (with trial_dist_): the row's trial distances were not computed
};

/// Greedy k-means++ on this process's rows; n_local_trials = 0 means 2 + floor(ln k).
template <class T, class Arch = default_arch>
Seeding<T> kmeans_plusplus_seeding(const Problem<T>& P, std::size_t k, Rng& rng, ThreadPool& pool,
                                   std::size_t n_local_trials = 0) {
  return GreedyKMeansPlusPlus<T, Arch>(P, k, n_local_trials, pool).run(rng);
}

}  // namespace detail
}  // namespace lloyd
