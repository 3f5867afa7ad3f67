// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Hamerly's algorithm (G. Hamerly, "Making k-means even faster", SDM 2010): per row an
// upper bound u on the distance to its centroid and one lower bound l on the distance
// to every other centroid. A row is skipped while u < max(l, s(a)), s(a) being half the
// distance from its centroid a to the nearest other centroid; otherwise u is tightened
// and, if that is not enough, the row is re-assigned against all centroids. Rows that
// need that are gathered per task and go through the tiled kernel together.
//
// Bounds are kept on exact distances with outward rounding and compared with the margin
// of BoundMath, so the labels are exactly those of Lloyd's full pass.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bounded.hpp"  // and through it the kernel, the bound arithmetic, the partitions

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class Hamerly : public BoundedAssigner<Hamerly<T, Arch>, T, Arch> {
  using Base = BoundedAssigner<Hamerly<T, Arch>, T, Arch>;
  friend Base;
  using typename Base::Tally;

 public:
  Hamerly(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : Base(P, k, pool, partition::hamerly_tasks(P.n)), lower_(P.n) {}

 private:
  using Base::math_;
  using Base::upper_;

  static constexpr bool rebuild_sets_distances = false;

  // A full pass when there are no bounds yet, and for a few passes after a bounded pass
  // that recomputed most rows anyway (checking and tightening bounds would only add to a
  // full pass then); the pause doubles while that keeps happening.
  bool prepare(MatrixView<const T> C) {
    const bool full = !this->bounds_valid() || full_passes_left_ > 0;
    if (full && full_passes_left_ > 0) --full_passes_left_;
    if (!full) centroid_separation<T>(this->kernel_, C, this->pool_, nullptr, sep_);
    return full;
  }

  void pass_done(bool full, std::size_t queued) {
    if (full) return;
    if (2 * queued > this->P_.n) {
      full_passes_left_ = pause_;
      pause_ = std::min<std::size_t>(2 * pause_, 16);
    } else {
      pause_ = 2;
    }
  }

  // The largest and second-largest shift: every other centroid came at most that much
  // closer to a row.
  void shifts_changed() {
    const std::vector<double>& shift = this->shifts();
    shift_max1_ = shift_max2_ = 0;
    shift_argmax_ = 0;
    for (std::size_t c = 0; c < this->k_; ++c) {
      if (shift[c] > shift_max1_) {
        shift_max2_ = shift_max1_;
        shift_max1_ = shift[c];
        shift_argmax_ = c;
      } else if (shift[c] > shift_max2_) {
        shift_max2_ = shift[c];
      }
    }
  }

  // u from the kernel's bound (exact distances only if asked for).
  void rebuilt(std::size_t worker, std::size_t i, std::size_t a, double best, double second, MatrixView<const T> C,
               T* dist, bool with_distances, Tally& tally) {
    upper_[i] = BoundMath::add_up(std::sqrt(best), 0.0);
    lower_[i] = BoundMath::lower_from_sq(second);
    if (with_distances) this->exact_distance(C, worker, i, a, dist, tally);
  }

  void bounded_rows(MatrixView<const T> C, std::size_t b, std::size_t e, std::size_t worker, std::int32_t* labels,
                    T* dist, bool with_distances, Tally& tally) {
    // Bounds of W rows at a time in SIMD: u += shift of the row's centroid, l -= the
    // largest shift of the others, m = max(l, s(a)); keep iff u (1 + g) < m (1 - g).
    using VD = simd<double, Arch>;
    constexpr std::size_t WD = VD::size;
    const bool moved = this->moved();
    const std::vector<double>& shift = this->shifts();
    const double g = math_.relative_error();
    const VD up(1 + 0x1p-50), down(1 - 0x1p-50), zero(0.0), grow(1 + g), shrink(1 - g);
    alignas(64) double sep[WD], add[WD], sub[WD], mm[WD];
    std::size_t i = b;
    for (; i + WD <= e; i += WD) {
      for (std::size_t r = 0; r < WD; ++r) {
        const std::size_t a = static_cast<std::size_t>(labels[i + r]);
        sep[r] = sep_[a];
        add[r] = moved ? shift[a] : 0.0;
        sub[r] = moved ? (a == shift_argmax_ ? shift_max2_ : shift_max1_) : 0.0;
      }
      VD u = VD::load_unaligned(upper_.data() + i), l = VD::load_unaligned(lower_.data() + i);
      if (moved) {
        u = (u + VD::load_aligned(add)) * up;
        l = (l - VD::load_aligned(sub)) * down;
        l = xsimd::select(l > zero, l, zero);
        u.store_unaligned(upper_.data() + i);
        l.store_unaligned(lower_.data() + i);
      }
      const VD s_a = VD::load_aligned(sep);
      const VD m = xsimd::select(l > s_a, l, s_a);
      m.store_aligned(mm);
      const bool keep_all = xsimd::all(u * grow < m * shrink);
      for (std::size_t r = 0; r < WD; ++r) {
        if (keep_all || math_.keeps(upper_[i + r], mm[r]))
          keep(C, worker, labels, dist, i + r, with_distances, tally);
        else
          tighten(C, worker, labels, dist, i + r, mm[r], tally);
      }
    }
    for (; i < e; ++i) {
      const std::size_t a = static_cast<std::size_t>(labels[i]);
      if (moved) {
        upper_[i] = BoundMath::add_up(upper_[i], shift[a]);
        lower_[i] = BoundMath::sub_down(lower_[i], a == shift_argmax_ ? shift_max2_ : shift_max1_);
      }
      const double m = std::max(sep_[a], lower_[i]);
      if (math_.keeps(upper_[i], m))
        keep(C, worker, labels, dist, i, with_distances, tally);
      else
        tighten(C, worker, labels, dist, i, m, tally);
    }
  }

  // The bounds prove row i keeps its label.
  void keep(MatrixView<const T> C, std::size_t worker, const std::int32_t* labels, T* dist, std::size_t i,
            bool with_distances, Tally& tally) {
    if (with_distances) this->exact_distance(C, worker, i, static_cast<std::size_t>(labels[i]), dist, tally);
  }

  // Row i's bounds failed against m: u is made exact, and if that is not enough the row
  // is queued for all centroids.
  void tighten(MatrixView<const T> C, std::size_t worker, const std::int32_t* labels, T* dist, std::size_t i,
               double m, Tally& tally) {
    this->exact_distance(C, worker, i, static_cast<std::size_t>(labels[i]), dist, tally);
    upper_[i] = math_.upper(static_cast<double>(dist[i]));
    if (!math_.keeps(upper_[i], m)) this->queue(worker, i);
  }

  std::vector<double> lower_;  // per row: lower bound on the distance to any other centroid
  std::vector<double> sep_;
  double shift_max1_ = 0, shift_max2_ = 0;
  std::size_t shift_argmax_ = 0;
  std::size_t full_passes_left_ = 0;  // full passes to do before trying bounds again
  std::size_t pause_ = 2;             // length of the next such pause
};

}  // namespace detail
}  // namespace lloyd
