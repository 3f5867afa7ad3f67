// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The two steps of a Lloyd iteration: the assignment pass (LloydSteps::assign, every
// row against every centroid with the fused kernel) and the update of the centroids
// (LloydSteps::update), over this process's rows; through an Exchange (exchange.hpp)
// the update uses the totals of all processes.
//
// Assignment: rows are cut into tasks (partition::assignment_tasks); each task runs the
// kernel on blocks of rows, then, while the block is still in cache, takes each row's
// exact squared distance to its new centroid (sum of squared differences, not the norm
// trick) and, in fused mode, adds the row to its task's cluster sums (cluster_sums.hpp).
// Labels and distances are per row, so they do not depend on the task split.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "assign.hpp"
#include "assigner.hpp"
#include "cluster_sums.hpp"
#include "distance.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "relocate.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class LloydSteps {
  using Kernel = AssignKernel<T, Arch>;

 public:
  LloydSteps(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : P_(P),
        k_(k),
        pool_(pool),
        kernel_(P.d, P.mean.data(), P.metric == Metric::Dot),
        block_(Kernel::block_rows(k, P.d, P.metric == Metric::Dot)),
        tasks_(partition::assignment_tasks(P.n, k, P.d, Kernel::group_rows(k, P.metric == Metric::Dot), fused_)),
        sums_(P, k, pool, tasks_, fused_),
        workspaces_(pool.size()),
        row_blocks_(pool.size()),
        block_labels_(pool.size() * block_),
        block_dist_(pool.size() * block_),
        task_changed_(tasks_.count()) {}

  /// Lloyd's full pass, as an assigner (see assigner.hpp for the contract). With
  /// `for_update` in fused mode it also gathers the next update()'s cluster sums.
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update = false,
                    bool with_distances = true) {
    kernel_.set_centroids(C);
    const bool gather = fused_ && for_update;
    const std::size_t d = P_.d;
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t worker) {
      std::int32_t* buf = block_labels_.data() + worker * block_;
      T* buf_dist = block_dist_.data() + worker * block_;
      typename ClusterSums<T>::Slot slot{};
      if (gather) slot = sums_.slot(t);
      std::size_t changed = 0;
      for (std::size_t b = tasks_.begin(t); b < tasks_.end(t); b += block_) {
        const std::size_t e = std::min(tasks_.end(t), b + block_);
        const MatrixView<const T> Y = P_.rows(b, e, row_blocks_[worker]);  // rows b.. as Y's 0..
        const bool exact = kernel_.assign(Y, 0, e - b, buf, workspaces_[worker], buf_dist);
        const bool distances = exact || with_distances;
        for (std::size_t i = b; i < e; ++i) {
          const std::int32_t l = buf[i - b];
          changed += labels[i] != l;
          labels[i] = l;
          const std::size_t c = static_cast<std::size_t>(l);
          const T* x = Y.row(i - b);
          const T w = P_.weight(i);
          if (distances) dist[i] = exact ? buf_dist[i - b] : loss(x, C.row(c));
          if (gather && w > 0) ClusterSums<T>::add(slot, c, x, d, w);
        }
      }
      task_changed_[t] = changed;
    });
    gathered_ = gather;
    distances_valid_ = with_distances || kernel_.exact_now();
    Assignment a;
    for (std::size_t t = 0; t < tasks_.count(); ++t) a.n_changed += task_changed_[t];
    a.evaluations = P_.n * k_;
    a.distances_valid = distances_valid_;
    a.inertia = distances_valid_ ? weighted_sum(P_, dist, pool_) : std::numeric_limits<double>::quiet_NaN();
    return a;
  }

  /// A row's loss against a centroid: the canonical squared distance, or minus the
  /// canonical dot product for Metric::Dot.
  T loss(const T* x, const T* c) const noexcept {
    return P_.metric == Metric::Dot ? -dot_product<Arch>(x, c, P_.d) : squared_distance<Arch>(x, c, P_.d);
  }

  /// Exact losses (squared distances) of the rows against their centroids of C (labels as
  /// given), and the weighted inertia of this process's rows; for when assign() skipped them.
  double distances(MatrixView<const T> C, const std::int32_t* labels, T* dist) {
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t) {
      std::vector<T> buf = P_.row_buffer();
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i)
        dist[i] = loss(P_.row(i, buf.data()), C.row(static_cast<std::size_t>(labels[i])));
    });
    distances_valid_ = true;
    return weighted_sum(P_, dist, pool_);
  }

  struct Update {
    std::size_t n_relocated = 0;  ///< empty clusters moved onto far rows
    double center_shift = 0;      ///< sum over clusters of |C_new - C_old|^2
  };

  /// C_new = weighted mean of each cluster of `labels` over all processes' rows.
  /// Clusters left without a row of positive weight take the rows farthest from their
  /// centroid (dist, from assign()), as scikit-learn does (relocate.hpp); those rows'
  /// labels change. A cluster that stays empty (no row can be spared) keeps its old
  /// centroid. `moves` (optional) lists the rows whose labels changed since the
  /// previous update: only the sums they touch are summed again (cluster_sums.hpp).
  Update update(MatrixView<const T> C_old, std::int32_t* labels, T* dist, Matrix<T>& C_new,
                const std::vector<LabelMove>* moves, Exchange<T>& ex) {
    const ClusterTotals* totals = &ex.totals(sums_.collect(labels, gathered_, moves), scratch_);
    gathered_ = false;
    std::vector<std::size_t> empty;
    for (std::size_t c = 0; c < k_; ++c)
      if (totals->members[c] == 0) empty.push_back(c);
    Update u;
    if (!empty.empty()) {
      if (!distances_valid_) distances(C_old, labels, dist);
      u.n_relocated = relocate_rows(ex, P_, empty, totals->members, labels, dist);
      if (u.n_relocated > 0) totals = &ex.totals(sums_.recollect(labels), scratch_);
    }
    u.center_shift = new_centroids(*totals, C_old, C_new);
    return u;
  }

  /// Tells update() whether dist holds exact distances (when another assigner labelled).
  void set_distances_valid(bool valid) noexcept { distances_valid_ = valid; }
  /// Whether cluster sums are gathered during the assignment pass (cluster_sums.hpp).
  bool fused() const noexcept { return fused_; }

 private:
  // New centroids from the totals (clusters in parallel) and the sum of their squared
  // shifts (added in cluster order).
  double new_centroids(const ClusterTotals& totals, MatrixView<const T> C_old, Matrix<T>& C_new) {
    const std::size_t d = P_.d;
    const std::size_t per_task = std::max<std::size_t>(1, 8192 / d);
    const std::size_t n_tasks = (k_ + per_task - 1) / per_task;
    shift_parts_.resize(k_);
    pool_.parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
      for (std::size_t c = t * per_task; c < std::min(k_, (t + 1) * per_task); ++c)
        shift_parts_[c] = centroid_of(totals, c, C_old.row(c), C_new.row(c));
    });
    double shift = 0;
    for (std::size_t c = 0; c < k_; ++c) shift += shift_parts_[c];
    return shift;
  }

  // Cluster c's new centroid into out (old: its previous one); returns the squared shift.
  double centroid_of(const ClusterTotals& totals, std::size_t c, const T* old, T* out) const {
    const std::size_t d = P_.d;
    if (totals.members[c] == 0) {
      std::copy_n(old, d, out);
      return 0;
    }
    const double* s = totals.sums.data() + c * d;
    double inv = 1.0 / totals.weight[c];
    if (P_.metric == Metric::Cosine) {
      // Spherical k-means: the centroid is the direction of the sum.
      double norm2 = 0;
      for (std::size_t j = 0; j < d; ++j) norm2 += s[j] * s[j];
      if (!(norm2 > 0)) {  // the unit rows cancelled out exactly: keep the centroid
        std::copy_n(old, d, out);
        return 0;
      }
      inv = 1.0 / std::sqrt(norm2);
    }
    double shift = 0;
    for (std::size_t j = 0; j < d; ++j) {
      out[j] = static_cast<T>(s[j] * inv);
      const double diff = static_cast<double>(out[j]) - static_cast<double>(old[j]);
      shift += diff * diff;
    }
    return shift;
  }

  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  Kernel kernel_;
  std::size_t block_;
  bool fused_ = false;
  Chunking tasks_;
  ClusterSums<T> sums_;
  ClusterTotals scratch_;
  bool gathered_ = false;
  bool distances_valid_ = false;
  std::vector<typename Kernel::Workspace> workspaces_;
  std::vector<Matrix<T>> row_blocks_;  // per worker: a block of unit rows (Metric::Cosine)
  std::vector<std::int32_t> block_labels_;
  std::vector<T> block_dist_;
  std::vector<std::size_t> task_changed_;
  std::vector<double> shift_parts_;
};

}  // namespace detail
}  // namespace lloyd
