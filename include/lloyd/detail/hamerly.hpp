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
#include <limits>
#include <numeric>
#include <vector>

#include "../matrix.hpp"
#include "assign.hpp"
#include "bounds.hpp"
#include "partitions.hpp"
#include "distance.hpp"
#include "parallel.hpp"
#include "problem.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class Hamerly {
  using Kernel = AssignKernel<T, Arch>;

 public:
  Hamerly(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : P_(P),
        k_(k),
        pool_(pool),
        kernel_(P.d, P.mean.data()),
        tasks_(partition::hamerly_tasks(P.n)),
        upper_(P.n),
        lower_(P.n),
        workspaces_(pool.size()),
        scratch_(pool.size()) {
    task_changed_.resize(tasks_.count());
    task_evals_.resize(tasks_.count());
  }

  /// Labels of all rows for centroids C (assigner.hpp).
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool /*for_update*/, bool with_distances) {
    kernel_.set_centroids(C);
    math_ = BoundMath(kernel_.relative_error());
    // A full pass when there are no bounds yet, and for a few passes after a bounded
    // pass that recomputed most rows anyway (checking and tightening bounds would only
    // add to a full pass then); the pause doubles while that keeps happening.
    const bool full = !valid_ || full_passes_left_ > 0;
    if (full && full_passes_left_ > 0) --full_passes_left_;
    if (!full) centroid_separation<T>(kernel_, C, pool_, nullptr, sep_);
    const std::size_t d = P_.d;
    for (Scratch& sc : scratch_) {
      sc.moves.clear();
      sc.recomputed = 0;
    }
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t worker) {
      Scratch& sc = scratch_[worker];
      auto& ws = workspaces_[worker];
      const std::size_t b = tasks_.begin(t), e = tasks_.end(t);
      std::size_t changed = 0, evals = 0;
      sc.rows.clear();
      if (full) {
        for (std::size_t i = b; i < e; ++i) sc.rows.push_back(i);
      } else {
        // A row whose bounds fail is tightened, and queued for all centroids if needed.
        auto tighten = [&](std::size_t i, double m) {
          const std::size_t a = static_cast<std::size_t>(labels[i]);
          const T c2 = squared_distance<Arch>(P_.X.row(i), C.row(a), d);
          ++evals;
          upper_[i] = math_.upper(static_cast<double>(c2));
          dist[i] = c2;
          if (!math_.keeps(upper_[i], m)) sc.rows.push_back(i);
        };
        auto distance_only = [&](std::size_t i) {
          dist[i] = squared_distance<Arch>(P_.X.row(i), C.row(static_cast<std::size_t>(labels[i])), d);
          ++evals;
        };
        // Bounds of W rows at a time in SIMD: u += shift of the row's centroid, l -= the
        // largest shift of the others, m = max(l, s(a)); keep iff u (1 + g) < m (1 - g).
        using VD = simd<double, Arch>;
        constexpr std::size_t WD = VD::size;
        const double g = math_.relative_error();
        const VD up(1 + 0x1p-50), down(1 - 0x1p-50), zero(0.0), grow(1 + g), shrink(1 - g);
        alignas(64) double sep[WD], add[WD], sub[WD], mm[WD];
        std::size_t i = b;
        for (; i + WD <= e; i += WD) {
          for (std::size_t r = 0; r < WD; ++r) {
            const std::size_t a = static_cast<std::size_t>(labels[i + r]);
            sep[r] = sep_[a];
            add[r] = moved_ ? shift_[a] : 0.0;
            sub[r] = moved_ ? (a == shift_argmax_ ? shift_max2_ : shift_max1_) : 0.0;
          }
          VD u = VD::load_unaligned(upper_.data() + i), l = VD::load_unaligned(lower_.data() + i);
          if (moved_) {
            u = (u + VD::load_aligned(add)) * up;
            l = (l - VD::load_aligned(sub)) * down;
            l = xsimd::select(l > zero, l, zero);
            u.store_unaligned(upper_.data() + i);
            l.store_unaligned(lower_.data() + i);
          }
          const VD s_a = VD::load_aligned(sep);
          const VD m = xsimd::select(l > s_a, l, s_a);
          const auto keep = u * grow < m * shrink;
          if (xsimd::all(keep)) {
            if (with_distances)
              for (std::size_t r = 0; r < WD; ++r) distance_only(i + r);
            continue;
          }
          m.store_aligned(mm);
          for (std::size_t r = 0; r < WD; ++r) {
            if (math_.keeps(upper_[i + r], mm[r])) {
              if (with_distances) distance_only(i + r);
            } else {
              tighten(i + r, mm[r]);
            }
          }
        }
        for (; i < e; ++i) {
          const std::size_t a = static_cast<std::size_t>(labels[i]);
          double u = upper_[i], l = lower_[i];
          if (moved_) {
            u = BoundMath::add_up(u, shift_[a]);
            l = BoundMath::sub_down(l, a == shift_argmax_ ? shift_max2_ : shift_max1_);
            upper_[i] = u;
            lower_[i] = l;
          }
          const double m = std::max(sep_[a], l);
          if (math_.keeps(u, m)) {
            if (with_distances) distance_only(i);
          } else {
            tighten(i, m);
          }
        }
      }
      // Rows whose bounds failed: all centroids, through the kernel, together.
      const std::size_t m = sc.rows.size();
      sc.recomputed += m;
      sc.labels.resize(m);
      sc.second.resize(m);
      sc.best.resize(m);
      if (m > 0) kernel_.assign_rows(P_.X, sc.rows.data(), m, sc.labels.data(), sc.second.data(), ws, sc.best.data());
      evals += m * k_;
      for (std::size_t r = 0; r < m; ++r) {
        const std::size_t i = sc.rows[r];
        const std::int32_t l = sc.labels[r];
        if (labels[i] != l) {
          ++changed;
          if (!full) {  // a full pass marks every cluster dirty anyway
            sc.moves.push_back(static_cast<std::size_t>(labels[i]));
            sc.moves.push_back(static_cast<std::size_t>(l));
          }
        }
        labels[i] = l;
        // u from the kernel's bound (exact distances only if asked for).
        upper_[i] = BoundMath::add_up(std::sqrt(sc.best[r]), 0.0);
        lower_[i] = BoundMath::lower_from_sq(sc.second[r]);
        if (with_distances) {
          dist[i] = squared_distance<Arch>(P_.X.row(i), C.row(static_cast<std::size_t>(l)), d);
          ++evals;
        }
      }
      task_changed_[t] = changed;
      task_evals_[t] = evals;
    });
    // Clusters that gained or lost rows (every one after a full pass).
    if (!full) {
      std::size_t recomputed = 0;
      for (const Scratch& sc : scratch_) recomputed += sc.recomputed;
      if (2 * recomputed > P_.n) {
        full_passes_left_ = pause_;
        pause_ = std::min<std::size_t>(2 * pause_, 16);
      } else {
        pause_ = 2;
      }
    }
    Assignment a;
    if (!full) {
      dirty_.assign(k_, 0);
      for (const Scratch& sc : scratch_)
        for (std::size_t c : sc.moves) dirty_[c] = 1;
      a.dirty = &dirty_;
    }
    valid_ = true;
    moved_ = false;
    for (std::size_t t = 0; t < tasks_.count(); ++t) {
      a.n_changed += task_changed_[t];
      evaluations_ += task_evals_[t];
      a.evaluations += task_evals_[t];
    }
    a.distances_valid = with_distances;
    a.inertia = with_distances ? weighted_sum(P_, dist, pool_) : std::numeric_limits<double>::quiet_NaN();
    return a;
  }

  /// The centroids moved from C_old to C_new (after an update); bounds follow lazily.
  /// After a relocation the bounds are rebuilt from scratch.
  void centroids_moved(MatrixView<const T> C_old, MatrixView<const T> C_new, bool relocated) {
    if (relocated) {
      valid_ = false;
      moved_ = false;
      return;
    }
    const std::vector<double> p = centroid_shifts(C_old, C_new);
    if (!moved_) shift_.assign(k_, 0.0);
    for (std::size_t c = 0; c < k_; ++c) shift_[c] += p[c];
    shift_max1_ = shift_max2_ = 0;
    shift_argmax_ = 0;
    for (std::size_t c = 0; c < k_; ++c) {
      if (shift_[c] > shift_max1_) {
        shift_max2_ = shift_max1_;
        shift_max1_ = shift_[c];
        shift_argmax_ = c;
      } else if (shift_[c] > shift_max2_) {
        shift_max2_ = shift_[c];
      }
    }
    moved_ = true;
  }

  /// Point-centroid distances evaluated so far (the full pass would need n * k per assign).
  std::size_t distance_evaluations() const noexcept { return evaluations_; }

 private:
  struct Scratch {
    std::vector<std::size_t> rows;
    std::vector<std::int32_t> labels;
    std::vector<double> second;
    std::vector<double> best;
    std::vector<std::size_t> moves;
    std::size_t recomputed = 0;  // rows sent through the kernel this pass  // (old, new) label of each row that changed
  };

  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  Kernel kernel_;
  Chunking tasks_;
  BoundMath math_;
  std::vector<double> upper_;
  std::vector<double> lower_;
  std::vector<double> sep_;
  std::vector<char> dirty_;
  std::vector<double> shift_;
  double shift_max1_ = 0, shift_max2_ = 0;
  std::size_t shift_argmax_ = 0;
  bool valid_ = false;
  bool moved_ = false;
  std::size_t full_passes_left_ = 0;  // full passes to do before trying bounds again
  std::size_t pause_ = 2;             // length of the next such pause
  std::vector<typename Kernel::Workspace> workspaces_;
  std::vector<Scratch> scratch_;
  std::vector<std::size_t> task_changed_;
  std::vector<std::size_t> task_evals_;
  std::size_t evaluations_ = 0;
};

}  // namespace detail
}  // namespace lloyd
