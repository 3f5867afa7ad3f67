// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Elkan's algorithm (C. Elkan, "Using the triangle inequality to accelerate k-means",
// ICML 2003), scikit-learn's "elkan": per row an upper bound u on the distance to its
// centroid and one lower bound per centroid (n x k floats). Each iteration also bounds
// the distances between centroids: a centroid j is examined for a row only while u is
// at least both its lower bound and half the distance between j and the row's centroid.
// The n x k bounds must be rewritten every iteration, so Elkan pays off for moderate k
// and larger d; Algorithm::Auto weighs that.
//
// Bounds are on exact distances, rounded outward (the floats rounded down), compared
// with BoundMath's margin, so the labels are exactly those of Lloyd's full pass.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
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
class Elkan {
  using Kernel = AssignKernel<T, Arch>;

 public:
  /// Bytes of bounds Elkan keeps for n rows and k centroids.
  static std::size_t memory_bytes(std::size_t n, std::size_t k) noexcept {
    return n * (k * sizeof(float) + sizeof(double)) + k * k * sizeof(float);
  }

  Elkan(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : P_(P),
        k_(k),
        pool_(pool),
        kernel_(P.d, P.mean.data()),
        tasks_(partition::bounded_tasks(P.n)),
        upper_(P.n),
        lower_(P.n * k),
        workspaces_(pool.size()),
        scratch_(pool.size()) {
    task_changed_.resize(tasks_.count());
    task_evals_.resize(tasks_.count());
  }

  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool /*for_update*/, bool with_distances) {
    kernel_.set_centroids(C);
    math_ = BoundMath(kernel_.relative_error());
    const bool full = !valid_;
    if (!full) centroid_separation<T>(kernel_, C, pool_, &half_, sep_);
    for (Scratch& sc : scratch_) sc.moves.clear();
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t worker) {
      if (full)
        full_pass(C, t, worker, labels, dist);
      else
        bounded_pass(C, t, worker, labels, dist, with_distances);
    });
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
    a.distances_valid = with_distances || full;
    a.inertia = a.distances_valid ? weighted_sum(P_, dist, pool_) : std::numeric_limits<double>::quiet_NaN();
    return a;
  }

  void centroids_moved(MatrixView<const T> C_old, MatrixView<const T> C_new, bool relocated) {
    if (relocated) {
      valid_ = false;
      moved_ = false;
      return;
    }
    const std::vector<double> p = centroid_shifts(C_old, C_new);
    if (!moved_) shift_.assign(k_, 0.0);
    for (std::size_t c = 0; c < k_; ++c) shift_[c] += p[c];
    shift_f_.resize(k_);
    for (std::size_t c = 0; c < k_; ++c) shift_f_[c] = shift_as_float(shift_[c]);
    moved_ = true;
  }

  std::size_t distance_evaluations() const noexcept { return evaluations_; }

 private:
  struct Scratch {
    std::vector<std::size_t> rows;
    std::vector<std::int32_t> labels;
    std::vector<double> second;
    std::vector<std::size_t> cand;
    std::vector<std::size_t> moves;
  };

  // Smallest z with u (1 + g) < z (1 - g), as a float rounded up.
  float threshold(double u) const noexcept {
    const double g = math_.relative_error();
    return shift_as_float(u * (1 + g) / (1 - g) * (1 + 0x1p-40));
  }

  // Indices j < k (ascending) with max(l[j], h[j]) <= thr.
  static void collect_candidates(const float* l, const float* h, float thr, std::size_t k,
                                 std::vector<std::size_t>& out) {
    using V = simd<float, Arch>;
    constexpr std::size_t W = V::size;
    out.clear();
    const V tv(thr);
    alignas(64) float z[W];
    std::size_t j = 0;
    for (; j + W <= k; j += W) {
      const V lv = V::load_unaligned(l + j), hv = V::load_unaligned(h + j);
      const V v = xsimd::select(lv > hv, lv, hv);
      if (xsimd::any(v <= tv)) {
        v.store_aligned(z);
        for (std::size_t q = 0; q < W; ++q)
          if (z[q] <= thr) out.push_back(j + q);
      }
    }
    for (; j < k; ++j)
      if ((l[j] > h[j] ? l[j] : h[j]) <= thr) out.push_back(j);
  }


  // Every row against every centroid with the fused kernel: labels, u, and as every
  // centroid's bound the row's lower bound on its second-nearest distance (valid for
  // all; each sharpens when that centroid's distance is computed).
  void full_pass(MatrixView<const T> C, std::size_t t, std::size_t worker, std::int32_t* labels, T* dist) {
    Scratch& sc = scratch_[worker];
    const std::size_t b = tasks_.begin(t), e = tasks_.end(t), n = e - b, d = P_.d;
    sc.rows.resize(n);
    for (std::size_t i = b; i < e; ++i) sc.rows[i - b] = i;
    sc.labels.resize(n);
    sc.second.resize(n);
    kernel_.assign_rows(P_.X, sc.rows.data(), n, sc.labels.data(), sc.second.data(), workspaces_[worker]);
    std::size_t changed = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t i = b + r;
      const std::int32_t a = sc.labels[r];
      std::fill_n(lower_.data() + i * k_, k_, lower_as_float(BoundMath::lower_from_sq(sc.second[r])));
      changed += labels[i] != a;
      labels[i] = a;
      const T c2 = squared_distance<Arch>(P_.X.row(i), C.row(static_cast<std::size_t>(a)), d);
      dist[i] = c2;
      upper_[i] = math_.upper(static_cast<double>(c2));
    }
    task_changed_[t] = changed;
    task_evals_[t] = n * k_;
  }

  void bounded_pass(MatrixView<const T> C, std::size_t t, std::size_t worker, std::int32_t* labels, T* dist,
                    bool with_distances) {
    Scratch& sc = scratch_[worker];
    const std::size_t d = P_.d, k = k_;
    std::size_t changed = 0, evals = 0;
    for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {
      const T* x = P_.X.row(i);
      std::size_t a = static_cast<std::size_t>(labels[i]);
      float* lb = lower_.data() + i * k;
      double u = upper_[i];
      if (moved_) {
        u = BoundMath::add_up(u, shift_[a]);
        decay_lower_bounds<Arch>(lb, shift_f_.data(), k);
      }
      const std::size_t old_a = a;
      bool tight = false;
      T best_c2 = T(0);
      if (!math_.keeps(u, sep_[a])) {
        // Candidates: centroids j with max(l_j, half(a, j)) not clearly above u, found
        // with SIMD compares in float (threshold rounded up: never misses one); each is
        // then checked exactly, in index order, as u shrinks.
        collect_candidates(lb, half_.data() + a * k, threshold(u), k, sc.cand);
        for (std::size_t j : sc.cand) {
          if (j == a) continue;
          const double z = std::max(static_cast<double>(lb[j]), static_cast<double>(half_[a * k + j]));
          if (math_.keeps(u, z)) continue;
          if (!tight) {
            best_c2 = squared_distance<Arch>(x, C.row(a), d);
            ++evals;
            u = math_.upper(static_cast<double>(best_c2));
            tight = true;
            if (math_.keeps(u, z)) continue;
          }
          const T c2 = squared_distance<Arch>(x, C.row(j), d);
          ++evals;
          lb[j] = lower_as_float(math_.lower(static_cast<double>(c2)));
          if (c2 < best_c2 || (c2 == best_c2 && j < a)) {
            lb[a] = lower_as_float(math_.lower(static_cast<double>(best_c2)));
            a = j;
            best_c2 = c2;
            u = math_.upper(static_cast<double>(c2));
          }
        }
      }
      upper_[i] = u;
      if (tight) {
        dist[i] = best_c2;
      } else if (with_distances) {
        dist[i] = squared_distance<Arch>(x, C.row(a), d);
        ++evals;
      }
      if (a != old_a) {
        ++changed;
        sc.moves.push_back(old_a);
        sc.moves.push_back(a);
        labels[i] = static_cast<std::int32_t>(a);
      }
    }
    task_changed_[t] = changed;
    task_evals_[t] = evals;
  }

  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  Kernel kernel_;
  Chunking tasks_;
  BoundMath math_;
  std::vector<double> upper_;
  std::vector<float> lower_;  // n x k
  std::vector<float> half_;   // k x k lower bounds of half the centroid distances
  std::vector<double> sep_;
  std::vector<double> shift_;
  std::vector<float> shift_f_;
  std::vector<char> dirty_;
  bool valid_ = false;
  bool moved_ = false;
  std::vector<typename Kernel::Workspace> workspaces_;
  std::vector<Scratch> scratch_;
  std::vector<std::size_t> task_changed_;
  std::vector<std::size_t> task_evals_;
  std::size_t evaluations_ = 0;
};

}  // namespace detail
}  // namespace lloyd
