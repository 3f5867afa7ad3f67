// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Weighted greedy k-means++ on a small set of points held in memory: the candidates of
// k-means|| (kmeans_parallel.hpp), a few per centroid, which it reduces to k centroids.
//
// The rule is greedy k-means++'s (kmeans_plusplus.hpp): each new centroid is the best of
// `trials` points drawn with probability proportional to weight x D^2 (D: distance to
// the nearest chosen centroid), best meaning the most potential removed. With m points
// and k steps, computing every point's distance to every trial is k x m x trials
// distances: at k = 16384 (m ~ 41000, d = 64) that made the end of k-means|| take about
// 25 s, 15 Lloyd iterations of 200k rows. Two things cut it here, neither changing a
// choice:
// - A trial t cannot come closer to a point than the point's nearest centroid a when
//   |t - a| >= 2 |x - a|; and |t - a| is at least t's own D, which is known. So a point
//   whose D is below half a trial's D needs no distance to that trial; the trials
//   sampled by D^2 lie mostly in places not yet covered, far from every centroid, and the
//   points already covered drop out (BoundMath's margins make the test safe against
//   rounding).
// - The points are kept in order of falling D (re-ordered after an eighth of them moved,
//   their rows copied in that order): those still needing distances are a prefix of the
//   order, read from one stretch of memory, and the rest is never touched.
// A trial's gain is the sum of weight x (D^2 - distance^2) over the points it comes
// closer to; the largest gain wins (the first of equals). Gains are summed in fixed
// pieces of the order, then in order: the same choices whatever the number of threads.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "../matrix.hpp"
#include "bounds.hpp"
#include "distance.hpp"
#include "parallel.hpp"
#include "random.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class CandidateKMeansPlusPlus {
 public:
  /// Y: the points (m x d); weight: m positive weights; trials = 0 means 2 + floor(ln k).
  CandidateKMeansPlusPlus(MatrixView<const T> Y, const T* weight, std::size_t k, std::size_t trials, ThreadPool& pool)
      : Y_(Y),
        w_(weight),
        m_(Y.rows()),
        d_(Y.cols()),
        k_(k),
        trials_(trials > 0 ? trials : 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)))),
        pool_(pool),
        math_(canonical_relative_error<T, Arch>(Y.cols())),
        dist_(m_),
        chosen_(m_, 0),
        block_pot_((m_ + block - 1) / block, 0.0),
        point_(m_),
        place_(m_),
        rows_(m_ * d_),
        upper_(m_),
        key_(m_),
        cand_(trials_),
        reach_(trials_),
        trial_rows_(trials_) {
    indices_.reserve(k);
  }

  /// The k chosen points (indices into Y), in the order chosen.
  std::vector<std::size_t> run(Rng& rng) {
    if (m_ == 0 || k_ == 0) return {};
    first(point_by_weight(rng.uniform()));
    for (std::size_t step = 1; step < k_; ++step) {
      double pot = 0;
      for (double v : block_pot_) pot += v;
      if (!(pot > 0)) {  // every point sits on a chosen centroid: an unchosen one, uniformly
        std::size_t r = static_cast<std::size_t>(rng.below(m_ - indices_.size())), i = 0;
        for (;; ++i)
          if (!chosen_[i] && r-- == 0) break;
        chosen_[i] = 1;
        indices_.push_back(i);
        continue;
      }
      for (std::size_t t = 0; t < trials_; ++t) {
        cand_[t] = sample(rng.uniform() * pot);
        trial_rows_[t] = Y_.row(cand_[t]);
        reach_[t] = math_.lower(dist_[cand_[t]]);
      }
      take(evaluate());
      if (moved_ > m_ / 8) order();
    }
    return indices_;
  }

  /// Point-trial distances computed by run() (without the bounds: about k x m x trials).
  std::size_t distances_computed() const noexcept { return computed_; }

 private:
  static constexpr std::size_t block = 256;  // points per partial sum of the masses
  static constexpr std::size_t piece = 256;  // places per task of the gains

  double mass(std::size_t i) const { return static_cast<double>(w_[i]) * dist_[i]; }

  void refresh_block(std::size_t b) {
    double pot = 0;
    for (std::size_t i = b * block, e = std::min(m_, i + block); i < e; ++i) pot += mass(i);
    block_pot_[b] = pot;
  }

  // The first point whose cumulative weight exceeds u x total weight (never a point of
  // zero weight).
  std::size_t point_by_weight(double u) const {
    double total = 0;
    for (std::size_t i = 0; i < m_; ++i) total += static_cast<double>(w_[i]);
    const double r = u * total;
    double acc = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < m_; ++i) {
      if (!(w_[i] > 0)) continue;
      acc += static_cast<double>(w_[i]);
      last = i;
      if (acc > r) return i;
    }
    return last;
  }

  // The point whose cumulative mass first exceeds r (never a point of zero mass).
  std::size_t sample(double r) const {
    std::size_t last_positive = 0;
    for (std::size_t b = 0; b < block_pot_.size(); ++b) {
      const std::size_t begin = b * block, end = std::min(m_, begin + block);
      if (block_pot_[b] <= 0) continue;
      if (r < block_pot_[b]) {
        double acc = 0;
        for (std::size_t i = begin; i < end; ++i) {
          const double v = mass(i);
          if (v <= 0) continue;
          acc += v;
          last_positive = i;
          if (acc > r) return i;
        }
        return last_positive;  // rounding left r just past this block's sum
      }
      r -= block_pot_[b];
      for (std::size_t i = end; i-- > begin;)
        if (mass(i) > 0) {
          last_positive = i;
          break;
        }
    }
    return last_positive;
  }

  // The first centroid: every point's distance to it.
  void first(std::size_t idx) {
    chosen_[idx] = 1;
    indices_.push_back(idx);
    const T* c = Y_.row(idx);
    const Chunking parts = Chunking::of_rows(m_, 1024);
    pool_.parallel_for(parts.count(), [&](std::size_t p, std::size_t) {
      for (std::size_t i = parts.begin(p); i < parts.end(p); ++i)
        dist_[i] = static_cast<double>(squared_distance<Arch>(Y_.row(i), c, d_));
    });
    computed_ += m_;
    for (std::size_t b = 0; b < block_pot_.size(); ++b) refresh_block(b);
    order();
  }

  // The places: points by decreasing distance to their nearest centroid (then by
  // index), their rows copied in that order. key_ keeps each place's bound as of now,
  // an upper bound from then on (distances only fall).
  void order() {
    for (std::size_t i = 0; i < m_; ++i) point_[i] = static_cast<std::uint32_t>(i);
    std::sort(point_.begin(), point_.end(), [&](std::uint32_t a, std::uint32_t b) {
      return dist_[a] > dist_[b] || (dist_[a] == dist_[b] && a < b);
    });
    for (std::size_t p = 0; p < m_; ++p) {
      const std::size_t i = point_[p];
      place_[i] = static_cast<std::uint32_t>(p);
      std::copy_n(Y_.row(i), d_, rows_.data() + p * d_);
      upper_[p] = key_[p] = math_.upper(dist_[i]);
    }
    moved_ = 0;
  }

  // Whether trial t (reach r: a lower bound of its distance to every chosen centroid)
  // cannot come closer to a point than the point's own centroid, at distance u at most.
  bool out_of_reach(double u, double r) const noexcept { return math_.keeps(u, BoundMath::sub_down(r, u)); }

  // Every trial's gain; returns the trial with the largest (the first of equals). The
  // places past the first whose key no trial reaches are out of every trial's reach (the
  // keys fall); the rest go in fixed pieces, whose sums are added in order: the same
  // gains whatever the number of threads.
  std::size_t evaluate() {
    const std::size_t trials = trials_;
    const double nearest = *std::min_element(reach_.begin(), reach_.end());
    // First place whose key is out of the nearest trial's reach (binary search: keys
    // fall, and out_of_reach(u, r) holds for every u below one that it holds for).
    std::size_t lo = 0, hi = m_;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (out_of_reach(key_[mid], nearest))
        hi = mid;
      else
        lo = mid + 1;
    }
    const Chunking pieces = Chunking::of_rows(lo, piece);
    if (parts_.size() < pieces.count()) parts_.resize(pieces.count());
    if (scratch_.size() < pool_.size()) scratch_.resize(pool_.size());
    auto task = [&](std::size_t c, std::size_t worker) {
      Part& part = parts_[c];
      part.gain.assign(trials, 0.0);
      part.computed = 0;
      part.improved.resize(trials);
      for (auto& list : part.improved) list.clear();
      Scratch& sc = scratch_[worker];
      sc.dist.resize(trials);
      sc.rows.resize(trials);
      sc.trial.resize(trials);
      for (std::size_t p = pieces.begin(c); p < pieces.end(c); ++p) {
        const double u = upper_[p];
        std::size_t active = 0;  // the trials that may come closer to place p
        for (std::size_t t = 0; t < trials; ++t)
          if (!out_of_reach(u, reach_[t])) {
            sc.trial[active] = t;
            sc.rows[active++] = trial_rows_[t];
          }
        if (active == 0) continue;
        part.computed += active;
        squared_distances_to_each<Arch>(rows_.data() + p * d_, sc.rows.data(), active, d_, sc.dist.data());
        const std::size_t i = point_[p];
        const double wi = static_cast<double>(w_[i]), di = dist_[i];
        for (std::size_t a = 0; a < active; ++a) {
          const double v = static_cast<double>(sc.dist[a]);
          if (v < di) {
            part.gain[sc.trial[a]] += wi * (di - v);
            part.improved[sc.trial[a]].emplace_back(static_cast<std::uint32_t>(p), v);
          }
        }
      }
    };
    if (lo * trials * d_ >= (std::size_t(1) << 15))
      pool_.parallel_for(pieces.count(), task);
    else
      for (std::size_t c = 0; c < pieces.count(); ++c) task(c, 0);
    parts_used_ = pieces.count();
    std::size_t best = 0;
    double best_gain = -1;
    for (std::size_t t = 0; t < trials; ++t) {
      double g = 0;
      for (std::size_t c = 0; c < parts_used_; ++c) g += parts_[c].gain[t];
      if (t == 0)
        for (std::size_t c = 0; c < parts_used_; ++c) computed_ += parts_[c].computed;
      if (g > best_gain) {
        best_gain = g;
        best = t;
      }
    }
    return best;
  }

  // Trial t becomes a centroid: the points it comes closer to take their new distances.
  void take(std::size_t t) {
    chosen_[cand_[t]] = 1;
    indices_.push_back(cand_[t]);
    touched_blocks_.clear();
    for (std::size_t c = 0; c < parts_used_; ++c)
      for (const auto& [p, v] : parts_[c].improved[t]) {
        const std::size_t i = point_[p];
        dist_[i] = v;
        upper_[p] = math_.upper(v);
        touched_blocks_.push_back(i / block);
        ++moved_;
      }
    std::sort(touched_blocks_.begin(), touched_blocks_.end());
    touched_blocks_.erase(std::unique(touched_blocks_.begin(), touched_blocks_.end()), touched_blocks_.end());
    for (std::size_t b : touched_blocks_) refresh_block(b);
  }

  // Per piece of places: each trial's gain and the places it comes closer to (with the
  // squared distance).
  struct Part {
    std::vector<double> gain;
    std::size_t computed = 0;  // distances
    std::vector<std::vector<std::pair<std::uint32_t, double>>> improved;
  };
  // Per worker: one place's trials and distances.
  struct Scratch {
    std::vector<T> dist;
    std::vector<const T*> rows;
    std::vector<std::size_t> trial;
  };

  const MatrixView<const T> Y_;
  const T* w_;
  const std::size_t m_, d_, k_, trials_;
  ThreadPool& pool_;
  const BoundMath math_;
  std::vector<double> dist_;           // per point: squared distance to the nearest chosen centroid
  std::vector<unsigned char> chosen_;  // per point
  std::vector<double> block_pot_;      // per block of points: sum of weight x dist
  std::vector<std::size_t> indices_;   // chosen points, in order
  // The places (see order()).
  std::vector<std::uint32_t> point_;  // per place: its point
  std::vector<std::uint32_t> place_;  // per point: its place
  std::vector<T> rows_;               // per place: the point's values
  std::vector<double> upper_;         // per place: upper bound of the exact distance (not squared)
  std::vector<double> key_;           // per place: upper_ when ordered (falling with the place)
  std::size_t moved_ = 0;             // distances lowered since the places were ordered
  std::vector<std::size_t> cand_;     // this step's trials
  std::vector<double> reach_;         // their lower bounds of the distance to every chosen centroid
  std::vector<const T*> trial_rows_;  // their values
  std::vector<Part> parts_;
  std::size_t parts_used_ = 0;
  std::vector<Scratch> scratch_;
  std::vector<std::size_t> touched_blocks_;
  std::size_t computed_ = 0;
};

}  // namespace detail
}  // namespace lloyd
