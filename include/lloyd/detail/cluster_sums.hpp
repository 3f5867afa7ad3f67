// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The per-cluster sums of an update (weighted feature sums, weights, counts), gathered
// in one of two ways chosen from (n, k, d) alone by LloydSteps:
//  - fused: each assignment task adds its rows into its own k x d slot while they are
//    in cache (slot()), and collect() adds the slots in task order. One pass over X per
//    iteration; used when the slots are small next to the data (small k * d).
//  - sorted: collect() groups rows by label (counting sort) and sums each (cluster,
//    feature slice) in row order. No per-task k x d memory; used for large k * d.
// Either way every sum has a fixed order (partitions.hpp), so the results do not depend
// on the threads; and sums whose rows did not change are kept, being bit-identical to
// what summing them again would give. After a bounded pass (which lists the rows that
// changed label) fused mode re-sums only the (task, cluster) slots those rows left or
// joined, sorted mode only the clusters they touched.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

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
      : P_(P), k_(k), pool_(pool), tasks_(tasks), fused_(fused),
        slice_(P.d <= 2 * feature_slice ? P.d : feature_slice),
        n_slices_((P.d + slice_ - 1) / slice_) {
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
  static constexpr std::size_t feature_slice = 64;  // features per update task (sorted mode)
  static constexpr std::size_t sum_chunk = 32;      // features summed in registers at once

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
    if (row_bufs_.size() != pool_.size()) {
      task_rows_.resize(pool_.size());
      row_bufs_.resize(pool_.size(), P_.row_buffer());
    }
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
      std::vector<std::size_t>& rows = task_rows_[worker];
      rows.resize(per);
      std::size_t found = 0;
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {  // without branches
        rows[found] = i;
        found += dirty[static_cast<std::size_t>(labels[i])] != 0;
      }
      rows.resize(found);
      std::vector<T>& buf = row_bufs_[worker];
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
  // accumulate). Their rows are found with one scan of the labels. Returns false, doing
  // nothing, when they hold over a quarter of the rows: a full update is then cheaper.
  bool resum_dirty(const std::int32_t* labels, const std::vector<LabelMove>& moves) {
    const std::size_t d = P_.d, k = k_;
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
    // Bucket the rows by cluster, keeping row order.
    std::vector<std::size_t> count(k + 1, 0);
    for (const auto& part : dirty_rows_)
      for (std::size_t i : part) ++count[static_cast<std::size_t>(labels[i]) + 1];
    for (std::size_t c = 0; c < k; ++c) count[c + 1] += count[c];
    dirty_order_.resize(count[k]);
    std::vector<std::size_t> cursor(count.begin(), count.end() - 1);
    for (const auto& part : dirty_rows_)
      for (std::size_t i : part) dirty_order_[cursor[static_cast<std::size_t>(labels[i])]++] = i;
    std::vector<std::size_t> todo;
    for (std::size_t c = 0; c < k; ++c)
      if (dirty[c]) todo.push_back(c);
    pool_.parallel_for(todo.size(), [&](std::size_t t, std::size_t) {
      const std::size_t c = todo[t];
      const std::size_t* rows = dirty_order_.data() + count[c];
      const std::size_t m = count[c + 1] - count[c];
      double* out = totals_.sums.data() + c * d;
      double wsum = 0;
      std::size_t members = 0;
      for (std::size_t s0 = 0; s0 < d; s0 += slice_)
        for (std::size_t j = s0; j < std::min(d, s0 + slice_); j += sum_chunk) {
          double ws = 0;
          std::size_t ms = 0;
          sum_rows(rows, m, j, std::min(sum_chunk, std::min(d, s0 + slice_) - j), out + j, ws, ms);
          if (j == 0) {
            wsum = ws;
            members = ms;
          }
        }
      totals_.weight[c] = wsum;
      totals_.members[c] = members;
    });
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

  // Sorted mode: counting sort of rows by label, then per-cluster weighted sums in row order.
  void accumulate(const std::int32_t* labels) {
    const std::size_t k = k_, d = P_.d;
    if (order_.empty()) {
      hist_chunks_ = partition::label_histogram(P_.n, k);
      hist_.resize(hist_chunks_.count() * k);
      order_.resize(P_.n);
      cluster_begin_.resize(k + 1);
    }
    const std::size_t n_hist = hist_chunks_.count();
    pool_.parallel_for(n_hist, [&](std::size_t ch, std::size_t) {
      std::size_t* h = hist_.data() + ch * k;
      std::fill_n(h, k, std::size_t(0));
      for (std::size_t i = hist_chunks_.begin(ch); i < hist_chunks_.end(ch); ++i) ++h[labels[i]];
    });
    std::size_t pos = 0;
    for (std::size_t c = 0; c < k; ++c) {
      cluster_begin_[c] = pos;
      for (std::size_t ch = 0; ch < n_hist; ++ch) {
        const std::size_t cnt = hist_[ch * k + c];
        hist_[ch * k + c] = pos;  // becomes the chunk's write cursor for cluster c
        pos += cnt;
      }
    }
    cluster_begin_[k] = pos;
    pool_.parallel_for(n_hist, [&](std::size_t ch, std::size_t) {
      std::size_t* cursor = hist_.data() + ch * k;
      for (std::size_t i = hist_chunks_.begin(ch); i < hist_chunks_.end(ch); ++i) order_[cursor[labels[i]]++] = i;
    });

    // Consecutive clusters grouped into tasks of about equal row counts (at least ~16k
    // values each), times feature slices: the grouping depends on the labels only.
    const std::size_t n = P_.n;
    const std::size_t target_groups = std::max<std::size_t>(1, std::min<std::size_t>(256, n * d / 16384));
    const std::size_t rows_per_group = (n + target_groups - 1) / target_groups;
    group_begin_.clear();
    group_begin_.push_back(0);
    for (std::size_t c = 0, rows = 0; c < k; ++c) {
      rows += cluster_begin_[c + 1] - cluster_begin_[c];
      if (rows >= rows_per_group && c + 1 < k) {
        group_begin_.push_back(c + 1);
        rows = 0;
      }
    }
    group_begin_.push_back(k);
    const std::size_t n_groups = group_begin_.size() - 1;
    pool_.parallel_for(n_groups * n_slices_, [&](std::size_t t, std::size_t) {
      const std::size_t g = t / n_slices_, s = t % n_slices_;
      const std::size_t j0 = s * slice_, j1 = std::min(d, j0 + slice_);
      for (std::size_t c = group_begin_[g]; c < group_begin_[g + 1]; ++c) {
        const std::size_t* rows = order_.data() + cluster_begin_[c];
        const std::size_t count = cluster_begin_[c + 1] - cluster_begin_[c];
        double wsum = 0;
        std::size_t members = 0;
        for (std::size_t j = j0; j < j1; j += sum_chunk)
          sum_rows(rows, count, j, std::min(sum_chunk, j1 - j), totals_.sums.data() + c * d + j, wsum, members);
        if (s == 0) {
          totals_.weight[c] = wsum;
          totals_.members[c] = members;
        }
      }
    });
  }

  // out[0..len) = sum of weight x X(row, j0 + ...) over the given rows; the running sum
  // stays in registers (a store/load chain through memory would bound the speed), in
  // row order. wsum and members are added only for the first chunk of a row slice.
  void sum_rows(const std::size_t* rows, std::size_t count, std::size_t j0, std::size_t len, double* out, double& wsum,
                std::size_t& members) const {
    double acc[sum_chunk] = {};
    T buf[sum_chunk];
    double ws = 0;
    std::size_t m = 0;
    for (std::size_t p = 0; p < count; ++p) {
      const std::size_t i = rows[p];
      const T w = P_.weight(i);
      if (w <= 0) continue;
      const T* LLOYD_RESTRICT x = P_.values(i, j0, len, buf);
      if (len == sum_chunk) {
        if (w == T(1))
          for (std::size_t j = 0; j < sum_chunk; ++j) acc[j] += static_cast<double>(x[j]);
        else
          for (std::size_t j = 0; j < sum_chunk; ++j) acc[j] += static_cast<double>(w) * static_cast<double>(x[j]);
      } else {
        for (std::size_t j = 0; j < len; ++j) acc[j] += static_cast<double>(w) * static_cast<double>(x[j]);
      }
      ws += static_cast<double>(w);
      ++m;
    }
    std::copy_n(acc, len, out);
    if (j0 % slice_ == 0) {
      wsum = ws;
      members = m;
    }
  }
  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  const Chunking& tasks_;
  bool fused_;
  std::size_t slice_;
  std::size_t n_slices_;
  bool stale_ = true;  // totals_ do not hold every cluster's sum in the canonical order
  std::vector<double> slot_sums_;
  std::vector<double> slot_weight_;
  std::vector<std::size_t> slot_members_;
  Chunking hist_chunks_;
  std::vector<std::size_t> hist_;
  std::vector<std::size_t> order_;
  static constexpr std::size_t fetch_ahead = 8;  // rows prefetched ahead in resum_slots
  std::vector<std::vector<std::size_t>> task_rows_;  // resum_slots: per worker, the rows to add
  std::vector<std::vector<T>> row_bufs_;             // resum_slots: per worker, a working row
  std::vector<char> pair_dirty_;     // fused: per (task, cluster), set only inside resum_slots
  std::vector<char> task_dirty_;     // fused: per task
  std::vector<char> cluster_dirty_;  // per cluster
  std::vector<std::vector<std::size_t>> dirty_rows_;
  std::vector<std::size_t> dirty_order_;
  std::vector<std::size_t> cluster_begin_;
  std::vector<std::size_t> group_begin_;
  ClusterTotals totals_;
};

}  // namespace detail
}  // namespace lloyd
