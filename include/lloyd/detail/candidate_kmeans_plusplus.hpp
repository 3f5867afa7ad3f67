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
// 25 s, 15 Lloyd iterations of 200k rows. Three things cut it here, none changing a
// choice:
// - A trial t cannot come closer to a point than the point's nearest centroid a when
//   |t - a| >= 2 |x - a|; and |t - a| is at least t's own D, which is known. So a point
//   whose D is below half a trial's D needs no distance to that trial; the trials
//   sampled by D^2 lie mostly in places not yet covered, far from every centroid, and the
//   points already covered drop out (BoundMath's margins make the test safe against
//   rounding).
// - The points are kept in order of falling D (re-ordered after an eighth of them moved):
//   those still needing distances are a prefix of the order, the rest is never touched.
//   Within it, pairs of blocks of W points (the SIMD width) meet only the trials that
//   may reach their first point.
// - The distances are screened first, W points at a time, one lane each, with their rows
//   stored feature by feature: a multiply-add per point, trial and feature, and no sums
//   across lanes. Only where the screen cannot prove a trial no closer than D (allowing
//   for both roundings) is the canonical distance computed, so the choices are greedy
//   k-means++'s. (On blobs with as many centres as k, the points of centres not yet
//   covered are far from every trial and every centroid alike, and no triangle
//   inequality spares their distances: the screen is what makes them cheap.)
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
#include "aligned.hpp"
#include "bounds.hpp"
#include "distance.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "random.hpp"
#include "seeding_rows.hpp"

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
        bar_factor_((1 + 4.0 * static_cast<double>(d_ + 4) * static_cast<double>(std::numeric_limits<T>::epsilon())) /
                    (1 - math_.relative_error()) * (1 + 0x1p-40)),
        dist_(m_),
        chosen_(m_, 0),
        blocks_(Chunking::of_rows(m_, block)),
        block_pot_(blocks_.count(), 0.0),
        point_(m_),
        rows_(((m_ + W - 1) / W + 1) * W * d_),  // one block of padding: blocks go in pairs
        bar_(((m_ + W - 1) / W + 1) * W, T(0)),
        key_(m_),
        cand_(trials_),
        reach_(trials_),
        trial_rows_(trials_),
        by_reach_(trials_),
        sorted_rows_(trials_) {
    indices_.reserve(k);
  }

  /// The k chosen points (indices into Y), in the order chosen (all m if m < k).
  std::vector<std::size_t> run(Rng& rng) {
    if (m_ == 0 || k_ == 0) return {};
    first(point_by_weight(rng.uniform()));
    for (std::size_t step = 1; step < std::min(k_, m_); ++step) {  // (m >= k in k-means||: it pads)
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

  /// Point-trial distances run() screened or computed (without the bounds: about k x m x
  /// trials).
  std::size_t distances_computed() const noexcept { return computed_; }

 private:
  static constexpr std::size_t block = 256;  // points per partial sum of the masses
  using V = simd<T, Arch>;
  static constexpr std::size_t W = V::size;
  // Trials screened together: two sums each, so 12 registers of sums where there are
  // 32 (AVX-512), 8 where there are 16.
  static constexpr std::size_t max_group = sizeof(T) * W >= 64 ? 6 : 4;
  static constexpr std::size_t piece = 256;  // places per task of the gains (a multiple of 2 W)

  // Per piece of places: each trial's gain and the places it comes closer to (with the
  // squared distance).
  struct Part {
    std::vector<double> gain;
    std::size_t computed = 0;  // distances
    std::vector<std::vector<std::pair<std::uint32_t, double>>> improved;
  };
  double mass(std::size_t i) const { return static_cast<double>(w_[i]) * dist_[i]; }

  void refresh_block(std::size_t b) {
    double pot = 0;
    for (std::size_t i = blocks_.begin(b); i < blocks_.end(b); ++i) pot += mass(i);
    block_pot_[b] = pot;
  }

  // The first point whose cumulative weight exceeds u x total weight (never a point of
  // zero weight).
  std::size_t point_by_weight(double u) const {
    double total = 0;
    for (std::size_t i = 0; i < m_; ++i) total += static_cast<double>(w_[i]);
    return index_by_mass(Chunking::of_rows(m_, m_), {total}, u * total,
                         [&](std::size_t i) { return static_cast<double>(w_[i]); }, 0);
  }

  // The point whose cumulative mass first exceeds r (never a point of zero mass).
  std::size_t sample(double r) const {
    return index_by_mass(blocks_, block_pot_, r, [&](std::size_t i) { return mass(i); }, 0);
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
  // an upper bound from then on (distances only fall). After the first time only the
  // points whose distance fell are sorted, then merged with the others, still in order:
  // the same order as sorting all (the order is total), for a fraction of the work.
  void order() {
    const auto before = [&](std::uint32_t a, std::uint32_t b) {
      return dist_[a] > dist_[b] || (dist_[a] == dist_[b] && a < b);
    };
    if (lowered_.empty()) {
      for (std::size_t i = 0; i < m_; ++i) point_[i] = static_cast<std::uint32_t>(i);
      std::sort(point_.begin(), point_.end(), before);
      lowered_.assign(m_, 0);
    } else {
      std::vector<std::uint32_t> fell;
      std::size_t kept = 0;
      for (std::size_t p = 0; p < m_; ++p) {
        const std::uint32_t i = point_[p];
        if (lowered_[i]) {
          fell.push_back(i);
          lowered_[i] = 0;
        } else {
          point_[kept++] = i;
        }
      }
      std::sort(fell.begin(), fell.end(), before);
      std::copy(fell.begin(), fell.end(), point_.begin() + static_cast<std::ptrdiff_t>(kept));
      std::inplace_merge(point_.begin(), point_.begin() + static_cast<std::ptrdiff_t>(kept), point_.end(), before);
    }
    const Chunking parts = Chunking::of_rows(m_, 64 * W);  // whole blocks of W places
    auto copy = [&](std::size_t c, std::size_t) {
      for (std::size_t p = parts.begin(c); p < parts.end(c); ++p) {
        const std::size_t i = point_[p];
        const T* x = Y_.row(i);
        T* lane = rows_.data() + p / W * W * d_ + p % W;  // p's lane of its block
        for (std::size_t j = 0; j < d_; ++j) lane[j * W] = x[j];
        key_[p] = math_.upper(dist_[i]);
        bar_[p] = bar(dist_[i]);
      }
    };
    if (m_ * d_ >= (std::size_t(1) << 15))
      pool_.parallel_for(parts.count(), copy);
    else
      for (std::size_t c = 0; c < parts.count(); ++c) copy(c, 0);
    moved_ = 0;
  }

  // Above this a place's screened distance (see screen) proves a trial no closer than
  // the place's own squared distance v: v (1 + e) / (1 - g), rounded up to T, with e the
  // screen's relative error and g the canonical one.
  T bar(double v) const noexcept {
    const double b = v * bar_factor_;
    T out = static_cast<T>(b);
    if (static_cast<double>(out) < b) out = std::nextafter(out, std::numeric_limits<T>::infinity());
    return out;
  }

  // Trials by_reach_[t0 .. t0 + G - 1] against the 2 W places of blocks blk and blk + 1 (those in
  // [first, last)): each place's squared distance to each trial summed feature by
  // feature in its lane (one multiply-add per place, trial and feature, no sums across
  // lanes; 2 G independent sums), a screen whose relative error is at most e (see bar).
  // Where it lies above the place's bar the trial cannot come closer; elsewhere the
  // canonical distance decides, as in greedy k-means++.
  // With `ahead`, the next pair's values are prefetched meanwhile: the pair's first
  // group reads them from the cache instead of waiting on the outer cache (the places
  // of a step seldom fit the inner ones).
  template <std::size_t G>
  void screen(std::size_t blk, std::size_t t0, std::size_t first, std::size_t last, bool ahead, Part& part) const {
    const T* X0 = rows_.data() + blk * W * d_;
    const T* X1 = X0 + W * d_;
    const T* tr[G];
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) tr[g] = sorted_rows_[t0 + g];
    V acc0[G], acc1[G];
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) acc0[g] = acc1[g] = V(T(0));
    const T* next = ahead ? X1 + W * d_ : nullptr;
    for (std::size_t j = 0; j < d_; ++j) {
      if (next) {
        prefetch(next + j * W, 1);
        prefetch(next + W * d_ + j * W, 1);
      }
      const V x0 = V::load_aligned(X0 + j * W), x1 = V::load_aligned(X1 + j * W);
      LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
        const V t(tr[g][j]);
        const V diff0 = x0 - t, diff1 = x1 - t;
        acc0[g] = xsimd::fma(diff0, diff0, acc0[g]);
        acc1[g] = xsimd::fma(diff1, diff1, acc1[g]);
      }
    }
    part.computed += G * (last - first);
    const V bar0 = V::load_aligned(bar_.data() + first), bar1 = V::load_aligned(bar_.data() + first + W);
    LLOYD_UNROLL for (std::size_t g = 0; g < G; ++g) {
      const auto near0 = acc0[g] <= bar0, near1 = acc1[g] <= bar1;
      if (!xsimd::any(near0 || near1)) continue;
      alignas(64) T lane[2 * W];
      xsimd::select(near0, V(T(1)), V(T(0))).store_aligned(lane);
      xsimd::select(near1, V(T(1)), V(T(0))).store_aligned(lane + W);
      for (std::size_t l = 0; l < last - first; ++l) {
        if (lane[l] == T(0)) continue;
        const std::size_t p = first + l, i = point_[p];
        const double v = static_cast<double>(squared_distance<Arch>(Y_.row(i), tr[g], d_));
        if (v < dist_[i]) {
          const std::size_t t = by_reach_[t0 + g];
          part.gain[t] += static_cast<double>(w_[i]) * (dist_[i] - v);
          part.improved[t].emplace_back(static_cast<std::uint32_t>(p), v);
        }
      }
    }
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
    // The trials by increasing reach (a place out of one's reach is out of the later ones').
    for (std::size_t t = 0; t < trials; ++t) by_reach_[t] = t;
    std::stable_sort(by_reach_.begin(), by_reach_.end(), [&](std::size_t a, std::size_t b) { return reach_[a] < reach_[b]; });
    for (std::size_t t = 0; t < trials; ++t) sorted_rows_[t] = trial_rows_[by_reach_[t]];
    const double nearest = reach_[by_reach_[0]];
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
    const Chunking pieces = Chunking::of_rows(lo, piece);  // piece: a multiple of 2 W
    if (parts_.size() < pieces.count()) parts_.resize(pieces.count());
    auto task = [&](std::size_t c, std::size_t) {
      Part& part = parts_[c];
      part.gain.assign(trials, 0.0);
      part.computed = 0;
      part.improved.resize(trials);
      for (auto& list : part.improved) list.clear();
      const std::size_t b0 = pieces.begin(c) / W, b1 = (pieces.end(c) + W - 1) / W;
      for (std::size_t blk = b0; blk < b1; blk += 2) {  // two blocks at a time (the second may be padding)
        const std::size_t first = blk * W, last = std::min(pieces.end(c), first + 2 * W);
        // The trials that may reach the first place (the largest key) come first in
        // by_reach_: only those may reach any of the pair's places.
        std::size_t active = 0;
        while (active < trials && !out_of_reach(key_[first], reach_[by_reach_[active]])) ++active;
        // In groups of at most max_group, as even as can be (13 trials: 5, 4, 4, not
        // 4, 4, 4, 1: a lone trial's two sums wait on each other's latency).
        const std::size_t groups = (active + max_group - 1) / max_group;
        const bool fetch = blk + 3 < rows_.size() / (W * d_);  // the next pair lies in rows_
        std::size_t t = 0;
        for (std::size_t g = 0; g < groups; ++g) {
          const std::size_t size = active / groups + (g < active % groups ? 1 : 0);
          const bool ahead = fetch && g == groups - 1 && groups > 1;
          switch (size) {
            case 6: screen<6>(blk, t, first, last, ahead, part); break;
            case 5: screen<5>(blk, t, first, last, ahead, part); break;
            case 4: screen<4>(blk, t, first, last, ahead, part); break;
            case 3: screen<3>(blk, t, first, last, ahead, part); break;
            case 2: screen<2>(blk, t, first, last, ahead, part); break;
            case 1: screen<1>(blk, t, first, last, ahead, part); break;
            default: break;
          }
          t += size;
        }
      }
    };
    if (lo * trials * d_ >= (std::size_t(1) << 15))
      pool_.parallel_for(pieces.count(), task);
    else
      for (std::size_t c = 0; c < pieces.count(); ++c) task(c, 0);
    parts_used_ = pieces.count();
    for (std::size_t c = 0; c < parts_used_; ++c) computed_ += parts_[c].computed;
    std::size_t best = 0;
    double best_gain = -1;
    for (std::size_t t = 0; t < trials; ++t) {
      double g = 0;
      for (std::size_t c = 0; c < parts_used_; ++c) g += parts_[c].gain[t];
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
        bar_[p] = bar(v);
        touched_blocks_.push_back(i / block);
        lowered_[i] = 1;
        ++moved_;
      }
    std::sort(touched_blocks_.begin(), touched_blocks_.end());
    touched_blocks_.erase(std::unique(touched_blocks_.begin(), touched_blocks_.end()), touched_blocks_.end());
    for (std::size_t b : touched_blocks_) refresh_block(b);
  }

  const MatrixView<const T> Y_;
  const T* w_;
  const std::size_t m_, d_, k_, trials_;
  ThreadPool& pool_;
  const BoundMath math_;
  const double bar_factor_;  // (1 + e) / (1 - g), with room: see bar()
  std::vector<double> dist_;           // per point: squared distance to the nearest chosen centroid
  std::vector<unsigned char> chosen_;  // per point
  const Chunking blocks_;              // the points in blocks of `block`
  std::vector<double> block_pot_;      // per block: sum of weight x dist
  std::vector<std::size_t> indices_;   // chosen points, in order
  // The places (see order()).
  std::vector<std::uint32_t> point_;  // per place: its point
  // Per block of W places: their values, feature by feature (W values per feature).
  std::vector<T, AlignedAllocator<T, 64>> rows_;
  std::vector<T, AlignedAllocator<T, 64>> bar_;  // per place: see bar()
  std::vector<double> key_;           // per place: upper bound of the distance when ordered (falling)
  std::size_t moved_ = 0;             // distances lowered since the places were ordered
  std::vector<unsigned char> lowered_;  // per point: its distance fell since then (empty before the first order)
  std::vector<std::size_t> cand_;     // this step's trials
  std::vector<double> reach_;         // their lower bounds of the distance to every chosen centroid
  std::vector<const T*> trial_rows_;  // their values
  std::vector<std::size_t> by_reach_;  // the trials by increasing reach
  std::vector<const T*> sorted_rows_;  // their values in that order
  std::vector<Part> parts_;
  std::size_t parts_used_ = 0;
  std::vector<std::size_t> touched_blocks_;
  std::size_t computed_ = 0;
};

}  // namespace detail
}  // namespace lloyd
