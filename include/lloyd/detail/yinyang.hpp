// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Yinyang k-means (Y. Ding et al., "Yinyang K-Means: A Drop-In Replacement of the Classic
// K-Means with Consistent Speedup", ICML 2015). The centroids are split once into t
// groups (k-means on the starting centroids, t ~ k / 10); each row keeps an upper bound
// u on the distance to its centroid and one lower bound per group on the distance to
// that group's other centroids. When centroids move, u grows by its centroid's shift and
// each group bound shrinks by the group's largest shift. A row is skipped when u is below
// every group bound (global filter); otherwise u is tightened, and only the groups whose
// bound is still below u are searched (group filter), with canonical distances computed
// SIMD along the features, four centroids per pass over the row.
//
// Bounds are on exact distances, rounded outward, compared with BoundMath's margin, so
// the labels are exactly those of Lloyd's full pass.

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
class Yinyang {
  using Kernel = AssignKernel<T, Arch>;

 public:
  /// Groups for k centroids: about k / 10, at least 1, at most 256.
  static std::size_t group_count(std::size_t k) noexcept {
    return std::max<std::size_t>(1, std::min<std::size_t>(256, k / 10));
  }

  /// Bytes of bounds Yinyang keeps for n rows and k centroids.
  static std::size_t memory_bytes(std::size_t n, std::size_t k) noexcept {
    return n * (group_count(k) * sizeof(float) + sizeof(double));
  }

  Yinyang(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : P_(P),
        k_(k),
        t_(group_count(k)),
        pool_(pool),
        kernel_(P.d, P.mean.data()),
        tasks_(partition::bounded_tasks(P.n)),
        upper_(P.n),
        lower_(P.n * group_count(k)),
        workspaces_(pool.size()),
        scratch_(pool.size()) {
    task_changed_.resize(tasks_.count());
    task_evals_.resize(tasks_.count());
  }

  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool /*for_update*/, bool with_distances) {
    kernel_.set_centroids(C);
    math_ = BoundMath(kernel_.relative_error());
    if (group_of_.empty()) make_groups(C);
    const bool full = !valid_;
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
    if (!moved_) {
      shift_.assign(k_, 0.0);
    }
    for (std::size_t c = 0; c < k_; ++c) shift_[c] += p[c];
    group_shift_.assign(t_, 0.0);
    for (std::size_t c = 0; c < k_; ++c) group_shift_[group_of_[c]] = std::max(group_shift_[group_of_[c]], shift_[c]);
    group_shift_f_.resize(t_);
    for (std::size_t g = 0; g < t_; ++g) group_shift_f_[g] = shift_as_float(group_shift_[g]);
    moved_ = true;
  }

  std::size_t distance_evaluations() const noexcept { return evaluations_; }

 private:
  struct Scratch {
    std::vector<std::size_t> rows;
    std::vector<std::int32_t> labels;
    std::vector<double> second;
    std::vector<T> cand;       // canonical distances of the searched centroids
    std::vector<char> searched;  // per group
    std::vector<std::size_t> moves;
  };

  // Groups of centroids: a few Lloyd iterations on the centroids themselves, from evenly
  // spaced starting members (deterministic), with canonical distances.
  void make_groups(MatrixView<const T> C) {
    const std::size_t k = k_, t = t_, d = P_.d;
    group_of_.assign(k, 0);
    if (t > 1) {
      Matrix<T> G(t, d);
      for (std::size_t g = 0; g < t; ++g) std::copy_n(C.row(g * k / t), d, G.row(g));
      std::vector<double> sums(t * d);
      std::vector<std::size_t> count(t);
      for (int it = 0; it < 5; ++it) {
        for (std::size_t c = 0; c < k; ++c) {
          std::size_t best = 0;
          T best_d = squared_distance<Arch>(C.row(c), G.row(0), d);
          for (std::size_t g = 1; g < t; ++g) {
            const T dg = squared_distance<Arch>(C.row(c), G.row(g), d);
            if (dg < best_d) {
              best_d = dg;
              best = g;
            }
          }
          group_of_[c] = best;
        }
        std::fill(sums.begin(), sums.end(), 0.0);
        std::fill(count.begin(), count.end(), 0);
        for (std::size_t c = 0; c < k; ++c) {
          ++count[group_of_[c]];
          for (std::size_t j = 0; j < d; ++j) sums[group_of_[c] * d + j] += static_cast<double>(C(c, j));
        }
        for (std::size_t g = 0; g < t; ++g)
          if (count[g] > 0)
            for (std::size_t j = 0; j < d; ++j) G(g, j) = static_cast<T>(sums[g * d + j] / double(count[g]));
      }
    }
    members_.assign(t, {});
    for (std::size_t c = 0; c < k; ++c) members_[group_of_[c]].push_back(c);
  }

  // Every row against every centroid with the fused kernel: labels, u, and as every
  // group's bound the row's lower bound on its second-nearest distance (valid for all
  // groups; the groups' own bounds sharpen as rows get searched).
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
      std::fill_n(lower_.data() + i * t_, t_, lower_as_float(BoundMath::lower_from_sq(sc.second[r])));
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
    const std::size_t d = P_.d;
    sc.cand.resize(k_);
    sc.searched.resize(t_);
    sc.rows.clear();
    std::size_t changed = 0, evals = 0;
    for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {
      const T* x = P_.X.row(i);
      std::size_t a = static_cast<std::size_t>(labels[i]);
      float* lb = lower_.data() + i * t_;
      double u = upper_[i];
      double global;
      if (moved_) {
        u = BoundMath::add_up(u, shift_[a]);
        global = static_cast<double>(decay_lower_bounds<Arch>(lb, group_shift_f_.data(), t_));
      } else {
        global = static_cast<double>(*std::min_element(lb, lb + t_));
      }
      upper_[i] = u;
      if (math_.keeps(u, global)) {
        if (with_distances) {
          dist[i] = squared_distance<Arch>(x, C.row(a), d);
          ++evals;
        }
        continue;
      }
      T best_c2 = squared_distance<Arch>(x, C.row(a), d);
      ++evals;
      const T old_c2 = best_c2;
      const std::size_t old_a = a;
      u = math_.upper(static_cast<double>(best_c2));
      if (math_.keeps(u, global)) {
        upper_[i] = u;
        dist[i] = best_c2;
        continue;
      }
      // Group filter: the groups whose bound does not clear u. Many of them: the row goes
      // through the tiled kernel with the other such rows (below); few: searched here.
      std::size_t to_search = 0;
      for (std::size_t g = 0; g < t_; ++g) {
        sc.searched[g] = !math_.keeps(u, static_cast<double>(lb[g]));
        if (sc.searched[g]) to_search += members_[g].size();
      }
      if (4 * to_search > k_) {
        upper_[i] = u;
        sc.rows.push_back(i);
        continue;
      }
      for (std::size_t g = 0; g < t_; ++g) {
        if (!sc.searched[g]) continue;
        const auto& mem = members_[g];
        evals += search_group(x, C, mem, sc.cand.data());
        for (std::size_t c : mem) {
          if (c == old_a) continue;
          const T c2 = sc.cand[c];
          if (c2 < best_c2 || (c2 == best_c2 && c < a)) {
            best_c2 = c2;
            a = c;
            u = math_.upper(static_cast<double>(best_c2));
          }
        }
      }
      // New bounds of the searched groups (all their centroids but the new label), and
      // of the old label's group if the old label lost and its group was not searched.
      for (std::size_t g = 0; g < t_; ++g) {
        if (!sc.searched[g]) continue;
        double m = std::numeric_limits<double>::infinity();
        for (std::size_t c : members_[g]) {
          if (c == a) continue;
          m = std::min(m, math_.lower(static_cast<double>(c == old_a ? old_c2 : sc.cand[c])));
        }
        lb[g] = lower_as_float(m);
      }
      if (a != old_a && !sc.searched[group_of_[old_a]]) {
        float& g = lb[group_of_[old_a]];
        g = std::min(g, lower_as_float(math_.lower(static_cast<double>(old_c2))));
      }
      if (a != old_a) {
        ++changed;
        sc.moves.push_back(old_a);
        sc.moves.push_back(a);
        labels[i] = static_cast<std::int32_t>(a);
      }
      upper_[i] = u;
      dist[i] = best_c2;
    }
    // Rows with many groups to search: all centroids through the fused kernel together;
    // their second-nearest bound becomes every group's bound (as in the first pass).
    const std::size_t m = sc.rows.size();
    if (m > 0) {
      sc.labels.resize(m);
      sc.second.resize(m);
      kernel_.assign_rows(P_.X, sc.rows.data(), m, sc.labels.data(), sc.second.data(), workspaces_[worker]);
      evals += m * k_;
      for (std::size_t r = 0; r < m; ++r) {
        const std::size_t i = sc.rows[r];
        const std::size_t old_a = static_cast<std::size_t>(labels[i]);
        const std::size_t a = static_cast<std::size_t>(sc.labels[r]);
        std::fill_n(lower_.data() + i * t_, t_, lower_as_float(BoundMath::lower_from_sq(sc.second[r])));
        const T c2 = squared_distance<Arch>(P_.X.row(i), C.row(a), d);
        dist[i] = c2;
        upper_[i] = math_.upper(static_cast<double>(c2));
        if (a != old_a) {
          ++changed;
          sc.moves.push_back(old_a);
          sc.moves.push_back(a);
          labels[i] = static_cast<std::int32_t>(a);
        }
      }
    }
    task_changed_[t] = changed;
    task_evals_[t] = evals;
  }

  // Canonical distances from x to the centroids of one group, into cand[c].
  std::size_t search_group(const T* x, MatrixView<const T> C, const std::vector<std::size_t>& mem, T* cand) const {
    const std::size_t d = P_.d, m = mem.size();
    std::size_t q = 0;
    T out[4];
    for (; q + 4 <= m; q += 4) {
      const T* rows[4] = {C.row(mem[q]), C.row(mem[q + 1]), C.row(mem[q + 2]), C.row(mem[q + 3])};
      squared_distances_to<4, Arch>(x, rows, d, out);
      for (std::size_t r = 0; r < 4; ++r) cand[mem[q + r]] = out[r];
    }
    for (; q < m; ++q) cand[mem[q]] = squared_distance<Arch>(x, C.row(mem[q]), d);
    return m;
  }

  const Problem<T>& P_;
  std::size_t k_;
  std::size_t t_;
  ThreadPool& pool_;
  Kernel kernel_;
  Chunking tasks_;
  BoundMath math_;
  std::vector<double> upper_;
  std::vector<float> lower_;  // n x t group bounds
  std::vector<std::size_t> group_of_;
  std::vector<std::vector<std::size_t>> members_;
  std::vector<double> shift_;
  std::vector<double> group_shift_;
  std::vector<float> group_shift_f_;
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
