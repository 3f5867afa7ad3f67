// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The per-cluster sums of an update (weighted feature sums, weights, counts), gathered
// in one of two ways chosen from (n, k, d) alone by LloydSteps:
//  - fused: each assignment task adds its rows into its own k x d slot while they are
//    in cache (slot()), and collect() adds the slots in task order. One pass over X per
//    iteration; used when the slots are small next to the data (small k * d).
//  - sorted: collect() sums each (cluster, feature) over the cluster's rows in row order.
//    No per-task k x d memory; used for large k * d. Row order is the order in which one
//    sweep over the rows meets a cluster's rows, so each thread sweeps the rows for a
//    slice of the features (no sorting by label, X read in storage order).
// Either way every sum has a fixed order (partitions.hpp), so the results do not depend
// on the threads; and sums whose rows did not change are kept, being bit-identical to
// what summing them again would give. After a bounded pass (which lists the rows that
// changed label) fused mode re-sums only the (task, cluster) slots those rows left or
// joined, sorted mode only the clusters they touched.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "aligned.hpp"
#include "assigner.hpp"
#include "config.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"

namespace lloyd {
namespace detail {

template <class T>
class ClusterSums {
 public:
  /// Sums for k clusters of P's rows; `tasks` are the assignment tasks (one slot each
  /// when `fused`).
  ClusterSums(const Problem<T>& P, std::size_t k, ThreadPool& pool, const Chunking& tasks, bool fused)
      : P_(P), k_(k), pool_(pool), tasks_(tasks), fused_(fused) {
    if (fused_) {
      slot_sums_.resize(tasks_.count() * k * P.d);
      slot_weight_.resize(tasks_.count() * k);
      slot_members_.resize(tasks_.count() * k);
    }
    totals_.sums.resize(k * P.d);
    totals_.weight.resize(k);
    totals_.members.resize(k);
  }

  /// Where assignment task t adds its rows (fused mode), zeroed.
  struct Slot {
    double* sums;
    double* weight;
    std::size_t* members;
  };
  Slot slot(std::size_t t) {
    const Slot s = slot_of(t);
    std::fill_n(s.sums, k_ * P_.d, 0.0);
    std::fill_n(s.weight, k_, 0.0);
    std::fill_n(s.members, k_, std::size_t(0));
    return s;
  }
  /// Adds row x of weight w to slot s as a member of cluster c.
  static void add(const Slot& s, std::size_t c, const T* x, std::size_t d, T w) noexcept {
    add_row(s.sums + c * d, x, d, w);
    s.weight[c] += static_cast<double>(w);
    ++s.members[c];
  }

  /// This process's totals for `labels`. `slotted`: the assignment filled the slots
  /// (fused mode); `moves` (optional): the only rows whose labels changed since the last
  /// collect(), with their labels then.
  const ClusterTotals& collect(const std::int32_t* labels, bool slotted, const std::vector<LabelMove>* moves) {
    if (slotted) {
      reduce_slots();
    } else if (moves && !stale_ && (fused_ ? resum_slots(labels, *moves) : resum_dirty(labels, *moves))) {
      // done: only what the moves touched was summed again
    } else if (fused_) {
      gather_slots(labels);
      reduce_slots();
    } else {
      accumulate(labels);
    }
    stale_ = false;
    return totals_;
  }

  /// Totals summed again in row order (after labels changed outside an assignment).
  const ClusterTotals& recollect(const std::int32_t* labels) {
    accumulate(labels);
    stale_ = fused_;  // summed in row order, not in the fused order: redo all next time
    return totals_;
  }

 private:
  static constexpr std::size_t slice_bytes = std::size_t(256) << 10;  // a sweep task's sums

  Slot slot_of(std::size_t t) {
    return {slot_sums_.data() + t * k_ * P_.d, slot_weight_.data() + t * k_, slot_members_.data() + t * k_};
  }

  // cluster_dirty_: the clusters the moves left or joined.
  void mark_touched(const std::int32_t* labels, const std::vector<LabelMove>& moves) {
    cluster_dirty_.assign(k_, 0);
    for (const LabelMove& m : moves)
      cluster_dirty_[static_cast<std::size_t>(m.from)] = cluster_dirty_[static_cast<std::size_t>(labels[m.row])] = 1;
  }

  static void add_row(double* LLOYD_RESTRICT sum, const T* LLOYD_RESTRICT x, std::size_t d, T w) noexcept {
    if (w == T(1)) {
      for (std::size_t j = 0; j < d; ++j) sum[j] += static_cast<double>(x[j]);
    } else {
      const double wd = static_cast<double>(w);
      for (std::size_t j = 0; j < d; ++j) sum[j] += wd * static_cast<double>(x[j]);
    }
  }

  // Fused mode: slot (t, c) holds the sum of task t's rows labelled c, from zero in row
  // order (as gather_slots and the fused assignment leave it). A row that moved from a
  // to b changed only its task's slots (t, a) and (t, b): those are summed again from
  // the task's rows, and the totals of a and b re-added from their slots in task order
  // (as reduce_slots). Returns false, doing nothing, when over a quarter of the rows
  // moved: a full gather is then as cheap.
  bool resum_slots(const std::int32_t* labels, const std::vector<LabelMove>& moves) {
    const std::size_t k = k_, d = P_.d, n_tasks = tasks_.count(), per = tasks_.rows_per_chunk();
    if (4 * moves.size() > P_.n) return false;
    if (moves.empty()) return true;
    mark_touched(labels, moves);
    pair_dirty_.resize(n_tasks * k);  // all zero between calls
    task_dirty_.assign(n_tasks, 0);
    for (const LabelMove& m : moves) {
      const std::size_t t = m.row / per;
      pair_dirty_[t * k + static_cast<std::size_t>(m.from)] = pair_dirty_[t * k + static_cast<std::size_t>(labels[m.row])] = 1;
      task_dirty_[t] = 1;
    }
    std::vector<std::size_t> todo;
    for (std::size_t t = 0; t < n_tasks; ++t)
      if (task_dirty_[t]) todo.push_back(t);
    ensure_worker_buffers();
    pool_.parallel_for(todo.size(), [&](std::size_t q, std::size_t worker) {
      const std::size_t t = todo[q];
      char* dirty = pair_dirty_.data() + t * k;
      const Slot into = slot_of(t);
      for (std::size_t c = 0; c < k; ++c)
        if (dirty[c]) {
          std::fill_n(into.sums + c * d, d, 0.0);
          into.weight[c] = 0;
          into.members[c] = 0;
        }
      // The rows to add are found first and read with prefetches: they are scattered
      // through the task, beyond what the hardware prefetcher follows.
      std::vector<std::size_t>& rows = task_rows_[worker].value;
      rows.resize(per);
      std::size_t found = 0;
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {  // without branches
        rows[found] = i;
        found += dirty[static_cast<std::size_t>(labels[i])] != 0;
      }
      rows.resize(found);
      std::vector<T>& buf = row_bufs_[worker].value;
      const std::size_t ahead_bytes = std::min<std::size_t>(4 * 64, d * sizeof(T));  // the row's start
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (r + fetch_ahead < rows.size()) prefetch(P_.X.row(rows[r + fetch_ahead]), ahead_bytes);
        const std::size_t i = rows[r];
        const T w = P_.weight(i);
        if (w > 0) add(into, static_cast<std::size_t>(labels[i]), P_.row(i, buf.data()), d, w);
      }
      std::fill_n(dirty, k, char(0));
    });
    std::vector<std::size_t> clusters;
    for (std::size_t c = 0; c < k; ++c)
      if (cluster_dirty_[c]) clusters.push_back(c);
    pool_.parallel_for(clusters.size(), [&](std::size_t q, std::size_t) { reduce_cluster(clusters[q]); });
    return true;
  }

  // Sorted mode: the sums of the clusters the moves touched, rows in row order (as
  // accumulate). Their rows are found with one scan of the labels and swept. Returns
  // false, doing nothing, when they hold over a quarter of the rows: a full update is
  // then cheaper.
  bool resum_dirty(const std::int32_t* labels, const std::vector<LabelMove>& moves) {
    const std::size_t k = k_;
    mark_touched(labels, moves);
    const std::vector<char>& dirty = cluster_dirty_;
    // Rows move only between dirty clusters, so the dirty clusters' members at the last
    // collect() (rows of positive weight) are at most the rows the scan would find: when
    // they alone pass the quarter, skip the scan.
    std::size_t at_least = 0;
    for (std::size_t c = 0; c < k; ++c)
      if (dirty[c]) at_least += totals_.members[c];
    if (4 * at_least > P_.n) return false;
    const Chunking scan = partition::dirty_scan(P_.n);
    dirty_rows_.resize(scan.count());
    pool_.parallel_for(scan.count(), [&](std::size_t ch, std::size_t) {
      auto& out = dirty_rows_[ch];
      out.clear();
      for (std::size_t i = scan.begin(ch); i < scan.end(ch); ++i)
        if (dirty[static_cast<std::size_t>(labels[i])]) out.push_back(i);
    });
    std::size_t total = 0;
    for (const auto& part : dirty_rows_) total += part.size();
    if (4 * total > P_.n) return false;
    dirty_order_.clear();  // the chunks in order: row order
    for (const auto& part : dirty_rows_) dirty_order_.insert(dirty_order_.end(), part.begin(), part.end());
    sweep(labels, dirty_order_.data(), dirty_order_.size(), dirty.data());
    return true;
  }

  // Fused mode after another assigner labelled the rows: one pass filling the slots.
  void gather_slots(const std::int32_t* labels) {
    const std::size_t d = P_.d;
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t) {
      const Slot into = slot(t);
      std::vector<T> buf = P_.row_buffer();
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {
        const T w = P_.weight(i);
        if (w > 0) add(into, static_cast<std::size_t>(labels[i]), P_.row(i, buf.data()), d, w);
      }
    });
  }

  // Fused mode: totals = the task slots added in task order, clusters in parallel.
  void reduce_slots() {
    const std::size_t d = P_.d, n_tasks = tasks_.count();
    const std::size_t per_task = std::max<std::size_t>(1, 4096 / (n_tasks * (d + 2)));
    const std::size_t groups = (k_ + per_task - 1) / per_task;
    pool_.parallel_for(groups, [&](std::size_t g, std::size_t) {
      for (std::size_t c = g * per_task; c < std::min(k_, (g + 1) * per_task); ++c) reduce_cluster(c);
    });
  }

  // Cluster c's totals: its slots added in task order.
  void reduce_cluster(std::size_t c) {
    const std::size_t d = P_.d, n_tasks = tasks_.count();
    double* out = totals_.sums.data() + c * d;
    std::fill_n(out, d, 0.0);
    double w = 0;
    std::size_t m = 0;
    for (std::size_t t = 0; t < n_tasks; ++t) {
      const double* s = slot_sums_.data() + (t * k_ + c) * d;
      for (std::size_t j = 0; j < d; ++j) out[j] += s[j];
      w += slot_weight_[t * k_ + c];
      m += slot_members_[t * k_ + c];
    }
    totals_.weight[c] = w;
    totals_.members[c] = m;
  }

  // Sorted mode: every cluster's sums, rows in row order.
  void accumulate(const std::int32_t* labels) { sweep(labels, nullptr, P_.n, nullptr); }

  // Sorted mode: the sums of the clusters c with only[c] set (every cluster when only is
  // null) set to zero, then the rows of positive weight among rows[0..count) (the rows
  // 0..count when rows is null), which must be in increasing order and labelled only
  // with those clusters, added to their clusters. Tasks are feature slices, each
  // sweeping all the rows: every (cluster, feature) sum takes its rows in row order,
  // whatever the slices and threads (so the slices may follow the thread count).
  void sweep(const std::int32_t* labels, const std::size_t* rows, std::size_t count, const char* only) {
    const std::size_t d = P_.d, k = k_;
    // Slices whose k sums stay near the core (L2), in whole cache lines of doubles, a
    // multiple of the threads where d allows.
    const std::size_t threads = pool_.size();
    const std::size_t max_width = std::max<std::size_t>(8, slice_bytes / sizeof(double) / k);
    const std::size_t wanted = round_up(std::max(threads, (d + max_width - 1) / max_width), threads);
    const std::size_t width = round_up(std::max<std::size_t>(1, (d + wanted - 1) / wanted), 8);
    const std::size_t slices = (d + width - 1) / width;
    ensure_worker_buffers();
    pool_.parallel_for(slices, [&](std::size_t s, std::size_t worker) {
      const std::size_t j0 = s * width, len = std::min(d, j0 + width) - j0;
      // The slice's sums are added in this worker's own k x len array and copied out at
      // the end: in the k x d totals, slices that are not whole cache lines would share
      // lines with the neighbouring slice's thread on every row.
      aligned_vector<double>& acc = slice_sums_[worker].value;
      if (acc.size() < k * len) acc.resize(k * len);
      for (std::size_t c = 0; c < k; ++c)
        if (!only || only[c]) {
          std::fill_n(acc.data() + c * len, len, 0.0);
          if (s == 0) {
            totals_.weight[c] = 0;
            totals_.members[c] = 0;
          }
        }
      T* buf = row_bufs_[worker].value.data();
      const std::size_t bytes = len * sizeof(T);
      for (std::size_t p = 0; p < count; ++p) {
        const std::size_t i = rows ? rows[p] : p;
        if (p + fetch_ahead < count) prefetch(P_.X.row(rows ? rows[p + fetch_ahead] : p + fetch_ahead) + j0, bytes);
        const T w = P_.weight(i);
        if (w <= 0) continue;
        const std::size_t c = static_cast<std::size_t>(labels[i]);
        add_row(acc.data() + c * len, P_.values(i, j0, len, buf), len, w);
        if (s == 0) {
          totals_.weight[c] += static_cast<double>(w);
          ++totals_.members[c];
        }
      }
      for (std::size_t c = 0; c < k; ++c)
        if (!only || only[c]) std::copy_n(acc.data() + c * len, len, totals_.sums.data() + c * d + j0);
    });
  }

  // Per worker: a row list, a working row (unit rows) and a slice's sums, kept between calls.
  void ensure_worker_buffers() {
    if (row_bufs_.size() == pool_.size()) return;
    task_rows_.resize(pool_.size());
    row_bufs_.resize(pool_.size(), PerWorker<std::vector<T>>{P_.row_buffer()});
    slice_sums_.resize(pool_.size());
  }

  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  const Chunking& tasks_;
  bool fused_;
  bool stale_ = true;  // totals_ do not hold every cluster's sum in the canonical order
  std::vector<double> slot_sums_;
  std::vector<double> slot_weight_;
  std::vector<std::size_t> slot_members_;
  static constexpr std::size_t fetch_ahead = 8;  // rows prefetched ahead (resum_slots, sweep)
  std::vector<PerWorker<std::vector<std::size_t>>> task_rows_;  // resum_slots: per worker, the rows to add
  std::vector<PerWorker<std::vector<T>>> row_bufs_;             // per worker, a working row
  std::vector<PerWorker<aligned_vector<double>>> slice_sums_;   // sweep: per worker, k x (slice width)
  std::vector<char> pair_dirty_;     // fused: per (task, cluster), set only inside resum_slots
  std::vector<char> task_dirty_;     // fused: per task
  std::vector<char> cluster_dirty_;  // per cluster
  std::vector<std::vector<std::size_t>> dirty_rows_;
  std::vector<std::size_t> dirty_order_;  // resum_dirty: the rows of dirty clusters, in row order
  ClusterTotals totals_;
};

}  // namespace detail
}  // namespace lloyd
