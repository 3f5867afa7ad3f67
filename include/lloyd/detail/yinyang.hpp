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

#include "bounded.hpp"  // and through it the kernel, the bound arithmetic, the partitions

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class Yinyang : public BoundedAssigner<Yinyang<T, Arch>, T, Arch> {
  using Base = BoundedAssigner<Yinyang<T, Arch>, T, Arch>;
  friend Base;
  using typename Base::Tally;

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
      : Base(P, k, pool, partition::bounded_tasks(P.n)),
        t_(group_count(k)),
        lower_(P.n * group_count(k)),
        search_(pool.size()) {}

 private:
  using Base::k_;
  using Base::P_;
  using Base::upper_;

  static constexpr bool rebuild_sets_distances = true;
  static constexpr bool sums_shifts = true;

  // Per worker: canonical distances of the searched centroids, and which groups are (on
  // cache lines of its own: PerWorker).
  struct alignas(64) Search {
    std::vector<T> cand;
    std::vector<char> searched;
  };

  bool prepare(MatrixView<const T> C) {
    if (group_of_.empty()) make_groups(C);
    return !this->bounds_valid();
  }

  void shifts_changed() {
    const std::vector<double>& shift = this->shifts();
    group_shift_.assign(t_, 0.0);
    for (std::size_t c = 0; c < k_; ++c) group_shift_[group_of_[c]] = std::max(group_shift_[group_of_[c]], shift[c]);
    group_shift_f_.resize(t_);
    for (std::size_t g = 0; g < t_; ++g) group_shift_f_[g] = shift_as_float(group_shift_[g]);
  }

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

  // Every group's bound becomes the row's lower bound on its second-nearest distance
  // (valid for all groups; the groups' own bounds sharpen as rows get searched).
  void rebuilt(std::size_t worker, std::size_t i, std::size_t a, double /*best*/, double second,
               MatrixView<const T> C, T* dist, bool /*with_distances*/, Tally& /*tally*/) {
    std::fill_n(lower_.data() + i * t_, t_, lower_as_float(BoundMath::lower_from_sq(second)));
    this->exact_upper(C, worker, i, a, dist);
  }

  void bounded_rows(MatrixView<const T> C, std::size_t b, std::size_t e, std::size_t worker, std::int32_t* labels,
                    T* dist, bool with_distances, Tally& tally) {
    Search& s = search_[worker];
    s.cand.resize(k_);
    s.searched.resize(t_);
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t a = static_cast<std::size_t>(labels[i]);
      float* lb = lower_.data() + i * t_;
      double u = upper_[i];
      double global;
      if (this->moved()) {
        u = BoundMath::add_up(u, this->shifts()[a]);
        global = static_cast<double>(decay_lower_bounds<Arch>(lb, group_shift_f_.data(), t_));
      } else {
        global = static_cast<double>(*std::min_element(lb, lb + t_));
      }
      upper_[i] = u;
      if (this->math_.keeps(u, global)) {  // global filter
        if (with_distances) this->exact_distance(C, worker, i, a, dist, tally);
        continue;
      }
      const T c2 = squared_distance<Arch>(this->row(worker, i), C.row(a), P_.d);
      ++tally.evals;
      upper_[i] = this->math_.upper(static_cast<double>(c2));
      dist[i] = c2;
      if (this->math_.keeps(upper_[i], global)) continue;
      // Group filter: the groups whose bound does not clear u. Many of them: the row goes
      // through the kernel with the task's other such rows; few: searched here.
      std::size_t to_search = 0;
      for (std::size_t g = 0; g < t_; ++g) {
        s.searched[g] = !this->math_.keeps(upper_[i], static_cast<double>(lb[g]));
        if (s.searched[g]) to_search += members_[g].size();
      }
      if (4 * to_search > k_)
        this->queue(worker, i);
      else
        search_groups(C, i, worker, c2, labels, dist, tally);
    }
  }

  // Row i (label a = labels[i], exact loss a_c2 against it) against the centroids of the
  // groups marked in search_[worker].searched; new label, u, dist and group bounds.
  void search_groups(MatrixView<const T> C, std::size_t i, std::size_t worker, T a_c2, std::int32_t* labels,
                     T* dist, Tally& tally) {
    Search& s = search_[worker];
    const T* x = this->row(worker, i);
    float* lb = lower_.data() + i * t_;
    const std::size_t old_a = static_cast<std::size_t>(labels[i]);
    std::size_t a = old_a;
    T best_c2 = a_c2;
    for (std::size_t g = 0; g < t_; ++g) {
      if (!s.searched[g]) continue;
      tally.evals += search_group(x, C, members_[g], s.cand.data());
      for (std::size_t c : members_[g]) {
        if (c == old_a) continue;
        const T c2 = s.cand[c];
        if (c2 < best_c2 || (c2 == best_c2 && c < a)) {
          best_c2 = c2;
          a = c;
        }
      }
    }
    // New bounds of the searched groups (all their centroids but the new label), and
    // of the old label's group if the old label lost and its group was not searched.
    for (std::size_t g = 0; g < t_; ++g) {
      if (!s.searched[g]) continue;
      double m = std::numeric_limits<double>::infinity();
      for (std::size_t c : members_[g]) {
        if (c == a) continue;
        m = std::min(m, this->math_.lower(static_cast<double>(c == old_a ? a_c2 : s.cand[c])));
      }
      lb[g] = lower_as_float(m);
    }
    if (a != old_a && !s.searched[group_of_[old_a]]) {
      float& g = lb[group_of_[old_a]];
      g = std::min(g, lower_as_float(this->math_.lower(static_cast<double>(a_c2))));
    }
    this->relabel(worker, labels, i, a, tally);
    upper_[i] = this->math_.upper(static_cast<double>(best_c2));
    dist[i] = best_c2;
  }

  // Canonical distances from x to the centroids of one group, into cand[c].
  std::size_t search_group(const T* x, MatrixView<const T> C, const std::vector<std::size_t>& mem, T* cand) const {
    squared_distances_listed<Arch>(
        x, P_.d, mem.size(), [&](std::size_t q) { return C.row(mem[q]); },
        [&](std::size_t q, T c2) { cand[mem[q]] = c2; });
    return mem.size();
  }

  std::size_t t_;
  std::vector<float> lower_;  // n x t group bounds
  std::vector<std::size_t> group_of_;
  std::vector<std::vector<std::size_t>> members_;
  std::vector<double> group_shift_;
  std::vector<float> group_shift_f_;
  std::vector<Search> search_;
};

}  // namespace detail
}  // namespace lloyd
