// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Lloyd's algorithm: the assignment pass, the update pass and the iteration loop.
//
// Assignment: rows are cut into tasks; each task runs the assignment kernel on blocks of
// rows, then, while the block is still in cache, computes each row's exact squared
// distance to its new centroid (sum of squared differences, not the norm trick) and adds
// it, weighted, to the task's inertia slot. Labels and distances are per row, so they
// do not depend on the task split; the slots are added in task order.
//
// Update: a counting sort groups row indices by label (ascending within a cluster);
// then each (cluster, feature slice) is summed in double, in row order, by one task.
// Every sum thus has one fixed order whatever the number of threads, and no k x d
// buffer per thread or per chunk is needed.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "assign.hpp"
#include "bounds.hpp"
#include "chunks.hpp"
#include "distance.hpp"
#include "parallel.hpp"
#include "problem.hpp"

namespace lloyd {
namespace detail {

/// Seconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// What the processes of a distributed fit must agree on (lloyd/mpi.hpp implements it
/// over MPI). A single-process fit passes none: every value is already global.
template <class T>
class Agreement {
 public:
  virtual ~Agreement() = default;
  /// Sum over the processes, in a fixed order (the same bits on every process).
  virtual double sum(double local) = 0;
  virtual std::size_t sum(std::size_t local) = 0;
  /// Whether any process says yes.
  virtual bool any(bool local) = 0;
  /// Element-wise sums of v[0..count) over the processes, in a fixed order, in place.
  virtual void sum_in_place(double* v, std::size_t count) = 0;
  /// Moves rows into the `empty` clusters as a single process holding all the rows
  /// would (farthest rows first, never the last row of a cluster: `members` are the
  /// global counts); changes the local labels of rows moved; returns the global count.
  virtual std::size_t relocate(const std::vector<std::size_t>& empty, const std::vector<std::size_t>& members,
                               std::int32_t* labels, const T* dist) = 0;
};

/// The two steps of a Lloyd iteration over one problem, with their scratch space.
///
/// The centroid sums are gathered in one of two ways, chosen from (n, k, d) alone:
///  - fused: each assignment task adds its rows into its own k x d slot while they are
///    in cache, and update() adds the slots in task order. One pass over X per
///    iteration; used when the slots are small next to the data (small k * d).
///  - sorted: update() groups rows by label (counting sort) and sums each (cluster,
///    feature slice) in row order. No per-task k x d memory; used for large k * d.
/// Either way every sum has a fixed order, so results do not depend on the threads.
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
        slice_(P.d <= 2 * feature_slice ? P.d : feature_slice),
        n_slices_((P.d + slice_ - 1) / slice_) {
    const std::size_t n = P.n, d = P.d;
    // Tasks: whole register tiles of rows, at least ~2^22 flops of work each. Fused
    // gathering needs one k x (d + 2) slot per task, zeroed and added up every
    // iteration: it is used when the slots fit in 16 MiB, cost at most 1/8 of a pass
    // over X, and still leave enough tasks (>= 16, or all the rows allow) for the threads.
    const std::size_t group = Kernel::group_rows(k, P.metric == Metric::Dot);
    const std::size_t row_cost = (2 * k + 8) * d;
    const std::size_t rows_min = round_up((std::size_t(1) << 22) / row_cost + 1, group);
    const std::size_t wanted = (n + rows_min - 1) / rows_min;
    const std::size_t slot = k * (d + 2);
    const std::size_t max_fused =
        std::min({std::size_t(256), (std::size_t(16) << 20) / (slot * sizeof(double)), (n * d / 8) / slot});
    fused_ = n > 0 && max_fused >= std::min<std::size_t>(wanted, 16);
    const std::size_t n_tasks = std::max<std::size_t>(1, std::min(wanted, fused_ ? max_fused : std::size_t(4096)));
    tasks_ = Chunking::of_rows(n, round_up((n + n_tasks - 1) / n_tasks, group));

    workspaces_.resize(pool.size());
    block_labels_.resize(pool.size() * block_);
    block_dist_.resize(pool.size() * block_);
    task_changed_.resize(tasks_.count());
    if (fused_) {
      slot_sums_.resize(tasks_.count() * k * d);
      slot_weight_.resize(tasks_.count() * k);
      slot_members_.resize(tasks_.count() * k);
    }
    sums_.resize(k * d);
    weight_sum_.resize(k);
    members_.resize(k);
  }

  /// Labels every row with its nearest centroid of C and dist[i] with the exact squared
  /// distance to it. n_changed counts rows whose label differs from labels' old content.
  /// With `for_update`, also gathers what the next update() needs, when it can. Without
  /// `with_distances`, dist and the inertia (NaN then) may be skipped where they would
  /// cost a separate look at each row; update() computes distances itself if it needs them.
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update = false,
                    bool with_distances = true) {
    kernel_.set_centroids(C);
    const bool gather = fused_ && for_update;
    const std::size_t d = P_.d;
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t worker) {
      std::int32_t* buf = block_labels_.data() + worker * block_;
      T* buf_dist = block_dist_.data() + worker * block_;
      double* sums = gather ? slot_sums_.data() + t * k_ * d : nullptr;
      double* wsum = gather ? slot_weight_.data() + t * k_ : nullptr;
      std::size_t* members = gather ? slot_members_.data() + t * k_ : nullptr;
      if (gather) {
        std::fill_n(sums, k_ * d, 0.0);
        std::fill_n(wsum, k_, 0.0);
        std::fill_n(members, k_, std::size_t(0));
      }
      std::size_t changed = 0;
      for (std::size_t b = tasks_.begin(t); b < tasks_.end(t); b += block_) {
        const std::size_t e = std::min(tasks_.end(t), b + block_);
        const bool exact = kernel_.assign(P_.X, b, e, buf, workspaces_[worker], buf_dist);
        const bool distances = exact || with_distances;
        for (std::size_t i = b; i < e; ++i) {
          const std::int32_t l = buf[i - b];
          changed += labels[i] != l;
          labels[i] = l;
          const std::size_t c = static_cast<std::size_t>(l);
          const T* x = P_.X.row(i);
          const T w = P_.weight(i);
          if (distances) dist[i] = exact ? buf_dist[i - b] : loss(x, C.row(c));
          if (gather && w > 0) {
            add_row(sums + c * d, x, d, w);
            wsum[c] += static_cast<double>(w);
            ++members[c];
          }
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
  /// given), and the weighted inertia; for when assign() skipped them.
  double distances(MatrixView<const T> C, const std::int32_t* labels, T* dist) {
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t) {
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i)
        dist[i] = loss(P_.X.row(i), C.row(static_cast<std::size_t>(labels[i])));
    });
    distances_valid_ = true;
    return weighted_sum(P_, dist, pool_);
  }

  struct Update {
    std::size_t n_relocated = 0;  ///< empty clusters moved onto far rows
    double center_shift = 0;      ///< sum over clusters of |C_new - C_old|^2
  };

  /// C_new = weighted mean of each cluster of `labels`. Clusters left without a row of
  /// positive weight take the rows farthest from their centroid (dist, from assign()),
  /// as scikit-learn does; those rows' labels change. A cluster that stays empty (no row
  /// can be spared) keeps its old centroid.
  ///
  /// `dirty` (optional) flags the clusters whose rows changed since the previous update;
  /// the others keep their sums, which are bit-identical to what summing them again
  /// would give. Only the dirty ones are summed again, in the same order.
  ///
  /// With `agree` (a distributed fit), the sums of this process's rows are added over
  /// all processes before the empty clusters are found and the centroids computed.
  Update update(MatrixView<const T> C_old, std::int32_t* labels, T* dist, Matrix<T>& C_new,
                const std::vector<char>* dirty = nullptr, Agreement<T>* agree = nullptr) {
    if (gathered_) {
      reduce_slots();
    } else if (dirty && !sums_stale_ && resum_dirty(labels, *dirty)) {
      // done: only the dirty clusters were summed again
    } else if (fused_) {
      gather_slots(labels);
      reduce_slots();
    } else {
      accumulate(labels);
    }
    gathered_ = false;
    sums_stale_ = false;
    publish(agree);
    std::vector<std::size_t> empty;
    for (std::size_t c = 0; c < k_; ++c)
      if ((*members_out_)[c] == 0) empty.push_back(c);
    Update u;
    if (!empty.empty()) {
      if (!distances_valid_) distances(C_old, labels, dist);
      u.n_relocated = agree ? agree->relocate(empty, *members_out_, labels, dist) : relocate(empty, labels, dist);
      if (u.n_relocated > 0) {
        accumulate(labels);
        sums_stale_ = fused_;  // summed in row order, not in the fused order: redo all next time
        publish(agree);
      }
    }
    const std::vector<double>& sums = *sums_out_;
    const std::vector<double>& weight_sum = *weight_out_;
    const std::vector<std::size_t>& members = *members_out_;
    // New centroids and their shifts, clusters in parallel; shifts added in cluster order.
    const std::size_t d = P_.d;
    const std::size_t per_task = std::max<std::size_t>(1, 8192 / d);
    const std::size_t n_tasks = (k_ + per_task - 1) / per_task;
    shift_parts_.resize(k_);
    pool_.parallel_for(n_tasks, [&](std::size_t t, std::size_t) {
      for (std::size_t c = t * per_task; c < std::min(k_, (t + 1) * per_task); ++c) {
        T* out = C_new.row(c);
        const T* old = C_old.row(c);
        if (members[c] == 0) {
          std::copy_n(old, d, out);
          shift_parts_[c] = 0;
          continue;
        }
        const double* s = sums.data() + c * d;
        double inv = 1.0 / weight_sum[c];
        if (P_.metric == Metric::Cosine) {
          // Spherical k-means: the centroid is the direction of the sum.
          double norm2 = 0;
          for (std::size_t j = 0; j < d; ++j) norm2 += s[j] * s[j];
          if (!(norm2 > 0)) {  // the unit rows cancelled out exactly: keep the centroid
            std::copy_n(old, d, out);
            shift_parts_[c] = 0;
            continue;
          }
          inv = 1.0 / std::sqrt(norm2);
        }
        double shift = 0;
        for (std::size_t j = 0; j < d; ++j) {
          out[j] = static_cast<T>(s[j] * inv);
          const double diff = static_cast<double>(out[j]) - static_cast<double>(old[j]);
          shift += diff * diff;
        }
        shift_parts_[c] = shift;
      }
    });
    for (std::size_t c = 0; c < k_; ++c) u.center_shift += shift_parts_[c];
    return u;
  }

  /// Tells update() whether dist holds exact distances (when another assigner labelled).
  void set_distances_valid(bool valid) noexcept { distances_valid_ = valid; }

  /// Weight of each cluster after the last update().
  const std::vector<double>& cluster_weights() const noexcept { return *weight_out_; }
  /// Whether centroid sums are gathered during the assignment pass (see the class note).
  bool fused() const noexcept { return fused_; }

 private:
  // Points the update at the sums of all the rows: this process's own, or (with
  // `agree`) their totals over the processes, packed into one buffer of k (d + 2)
  // doubles (counts are exact in double up to 2^53). The local sums stay as they are:
  // the next update may re-sum only the clusters whose rows changed here.
  void publish(Agreement<T>* agree) {
    if (!agree) {
      sums_out_ = &sums_;
      weight_out_ = &weight_sum_;
      members_out_ = &members_;
      return;
    }
    const std::size_t k = k_, d = P_.d;
    exchange_.resize(k * (d + 2));
    std::copy(sums_.begin(), sums_.end(), exchange_.begin());
    for (std::size_t c = 0; c < k; ++c) {
      exchange_[k * d + c] = weight_sum_[c];
      exchange_[k * d + k + c] = static_cast<double>(members_[c]);
    }
    agree->sum_in_place(exchange_.data(), exchange_.size());
    global_sums_.assign(exchange_.begin(), exchange_.begin() + static_cast<std::ptrdiff_t>(k * d));
    global_weight_.resize(k);
    global_members_.resize(k);
    for (std::size_t c = 0; c < k; ++c) {
      global_weight_[c] = exchange_[k * d + c];
      global_members_[c] = static_cast<std::size_t>(exchange_[k * d + k + c]);
    }
    sums_out_ = &global_sums_;
    weight_out_ = &global_weight_;
    members_out_ = &global_members_;
  }

  static constexpr std::size_t feature_slice = 64;  // features per update task (sorted mode)
  static constexpr std::size_t sum_chunk = 32;      // features summed in registers at once

  static void add_row(double* LLOYD_RESTRICT sum, const T* LLOYD_RESTRICT x, std::size_t d, T w) noexcept {
    if (w == T(1)) {
      for (std::size_t j = 0; j < d; ++j) sum[j] += static_cast<double>(x[j]);
    } else {
      const double wd = static_cast<double>(w);
      for (std::size_t j = 0; j < d; ++j) sum[j] += wd * static_cast<double>(x[j]);
    }
  }

  // Sums of the dirty clusters only, in the order the full update would use: fused mode
  // adds per-task partial sums in task order (as reduce_slots), sorted mode sums rows in
  // row order (as accumulate). Their rows are found with one scan of the labels. Returns
  // false, doing nothing, when they hold over a quarter of the rows: a full update is
  // then cheaper.
  bool resum_dirty(const std::int32_t* labels, const std::vector<char>& dirty) {
    const std::size_t d = P_.d, k = k_;
    const Chunking scan(P_.n, 16384, 256);
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
      double* out = sums_.data() + c * d;
      double wsum = 0;
      std::size_t members = 0;
      if (fused_) {
        std::fill_n(out, d, 0.0);
        std::vector<double> partial(d);
        for (std::size_t p = 0; p < m;) {
          const std::size_t task = rows[p] / tasks_.rows_per_chunk();
          std::fill(partial.begin(), partial.end(), 0.0);
          double pw = 0;
          std::size_t pm = 0;
          for (; p < m && rows[p] / tasks_.rows_per_chunk() == task; ++p) {
            const T w = P_.weight(rows[p]);
            if (w <= 0) continue;
            add_row(partial.data(), P_.X.row(rows[p]), d, w);
            pw += static_cast<double>(w);
            ++pm;
          }
          for (std::size_t j = 0; j < d; ++j) out[j] += partial[j];
          wsum += pw;
          members += pm;
        }
      } else {
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
      }
      weight_sum_[c] = wsum;
      members_[c] = members;
    });
    return true;
  }

  // Fused mode after another assigner labelled the rows: one pass filling the slots.
  void gather_slots(const std::int32_t* labels) {
    const std::size_t d = P_.d;
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t) {
      double* sums = slot_sums_.data() + t * k_ * d;
      double* wsum = slot_weight_.data() + t * k_;
      std::size_t* members = slot_members_.data() + t * k_;
      std::fill_n(sums, k_ * d, 0.0);
      std::fill_n(wsum, k_, 0.0);
      std::fill_n(members, k_, std::size_t(0));
      for (std::size_t i = tasks_.begin(t); i < tasks_.end(t); ++i) {
        const T w = P_.weight(i);
        if (w <= 0) continue;
        const std::size_t c = static_cast<std::size_t>(labels[i]);
        add_row(sums + c * d, P_.X.row(i), d, w);
        wsum[c] += static_cast<double>(w);
        ++members[c];
      }
    });
  }

  // Fused mode: totals = the task slots added in task order, clusters in parallel.
  void reduce_slots() {
    const std::size_t d = P_.d, n_tasks = tasks_.count();
    const std::size_t per_task = std::max<std::size_t>(1, 4096 / (n_tasks * (d + 2)));
    const std::size_t groups = (k_ + per_task - 1) / per_task;
    pool_.parallel_for(groups, [&](std::size_t g, std::size_t) {
      for (std::size_t c = g * per_task; c < std::min(k_, (g + 1) * per_task); ++c) {
        double* out = sums_.data() + c * d;
        std::fill_n(out, d, 0.0);
        double w = 0;
        std::size_t m = 0;
        for (std::size_t t = 0; t < n_tasks; ++t) {
          const double* s = slot_sums_.data() + (t * k_ + c) * d;
          for (std::size_t j = 0; j < d; ++j) out[j] += s[j];
          w += slot_weight_[t * k_ + c];
          m += slot_members_[t * k_ + c];
        }
        weight_sum_[c] = w;
        members_[c] = m;
      }
    });
  }

  // Sorted mode: counting sort of rows by label, then per-cluster weighted sums in row order.
  void accumulate(const std::int32_t* labels) {
    const std::size_t k = k_, d = P_.d;
    if (order_.empty()) {
      hist_chunks_ = Chunking(P_.n, 4096, std::max<std::size_t>(1, std::min<std::size_t>(64, (std::size_t(1) << 22) / k)));
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
          sum_rows(rows, count, j, std::min(sum_chunk, j1 - j), sums_.data() + c * d + j, wsum, members);
        if (s == 0) {
          weight_sum_[c] = wsum;
          members_[c] = members;
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
    double ws = 0;
    std::size_t m = 0;
    for (std::size_t p = 0; p < count; ++p) {
      const std::size_t i = rows[p];
      const T w = P_.weight(i);
      if (w <= 0) continue;
      const T* LLOYD_RESTRICT x = P_.X.row(i) + j0;
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

  // Moves the farthest rows (largest dist, then lowest index; positive weight and
  // distance; never the last row of a cluster) into the empty clusters.
  std::size_t relocate(const std::vector<std::size_t>& empty, std::int32_t* labels, const T* dist) {
    std::vector<std::size_t> cand;
    // Rows sitting exactly on their centroid cannot help (squared distances); with Dot
    // any row may go, the least similar first.
    const bool any_row = P_.metric == Metric::Dot;
    for (std::size_t i = 0; i < P_.n; ++i)
      if ((any_row || dist[i] > 0) && P_.weight(i) > 0) cand.push_back(i);
    auto farther = [&](std::size_t a, std::size_t b) { return dist[a] > dist[b] || (dist[a] == dist[b] && a < b); };
    std::vector<std::size_t> members = members_;
    std::size_t next = 0, sorted = 0;
    for (std::size_t p = 0; p < cand.size() && next < empty.size(); ++p) {
      if (p == sorted) {  // sort lazily: usually the first few candidates are enough
        const std::size_t more = std::min(cand.size(), sorted + 4 * (empty.size() - next) + 64);
        std::partial_sort(cand.begin() + static_cast<std::ptrdiff_t>(sorted),
                          cand.begin() + static_cast<std::ptrdiff_t>(more), cand.end(), farther);
        sorted = more;
      }
      const std::size_t i = cand[p];
      const std::size_t old = static_cast<std::size_t>(labels[i]);
      if (members[old] <= 1) continue;
      --members[old];
      labels[i] = static_cast<std::int32_t>(empty[next++]);
    }
    return next;
  }

  const Problem<T>& P_;
  std::size_t k_;
  ThreadPool& pool_;
  Kernel kernel_;
  std::size_t block_;
  std::size_t slice_;
  std::size_t n_slices_;
  Chunking tasks_;
  bool fused_ = false;
  bool gathered_ = false;
  bool sums_stale_ = true;  // sums_ do not hold every cluster's sum in the canonical order
  bool distances_valid_ = false;
  std::vector<typename Kernel::Workspace> workspaces_;
  std::vector<std::int32_t> block_labels_;
  std::vector<T> block_dist_;
  std::vector<std::size_t> task_changed_;
  std::vector<double> slot_sums_;
  std::vector<double> slot_weight_;
  std::vector<std::size_t> slot_members_;
  Chunking hist_chunks_;
  std::vector<std::size_t> hist_;
  std::vector<std::size_t> order_;
  std::vector<std::vector<std::size_t>> dirty_rows_;
  std::vector<std::size_t> dirty_order_;
  std::vector<std::size_t> cluster_begin_;
  std::vector<std::size_t> group_begin_;
  std::vector<double> sums_;
  std::vector<double> shift_parts_;
  std::vector<double> weight_sum_;
  std::vector<std::size_t> members_;
  std::vector<double> exchange_;
  std::vector<double> global_sums_;
  std::vector<double> global_weight_;
  std::vector<std::size_t> global_members_;
  const std::vector<double>* sums_out_ = &sums_;
  const std::vector<double>* weight_out_ = &weight_sum_;
  const std::vector<std::size_t>* members_out_ = &members_;
};

/// Outcome of one seeded run.
template <class T>
struct RunResult {
  Matrix<T> centroids;
  std::vector<std::int32_t> labels;
  double inertia = 0;
  int n_iter = 0;
  bool converged = false;
  std::size_t evaluations = 0;
  Algorithm algorithm = Algorithm::Lloyd;
};

/// Lloyd's full assignment pass, as an assigner for iterate().
template <class T, class Arch>
struct LloydAssigner {
  LloydSteps<T, Arch>& steps;
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update, bool with_distances) {
    return steps.assign(C, labels, dist, for_update, with_distances);
  }
  void centroids_moved(MatrixView<const T>, MatrixView<const T>, bool) {}
};

/// Iterations from `centroids` until a stopping rule holds (see Params), with `assigner`
/// labelling the rows (Lloyd's full pass or a bounded algorithm) and `steps` updating
/// the centroids. On return the labels and inertia belong to the returned centroids.
///
/// With `agree` (a distributed fit), P holds this process's rows; every decision is
/// taken on values summed over the processes, so all of them take the same ones.
template <class T, class Arch, class Assigner>
RunResult<T> iterate(const Problem<T>& P, Matrix<T> centroids, const Params& p, LloydSteps<T, Arch>& steps,
                     Assigner& assigner, int run, const Stopwatch& clock, Agreement<T>* agree = nullptr) {
  const std::size_t k = centroids.rows();
  RunResult<T> r;
  r.labels.assign(P.n, -1);
  std::vector<T> dist(P.n);
  Matrix<T> next(k, P.d);
  const double tol = p.tol * P.mean_variance;
  double prev_inertia = std::numeric_limits<double>::quiet_NaN();
  bool strict = false;

  // The inertia of intermediate iterations is computed only if someone looks at it.
  const bool observed = p.verbose || static_cast<bool>(p.on_iteration) || p.inertia_tol > 0;
  for (int it = 1; it <= p.max_iter; ++it) {
    const double t0 = clock.seconds();
    auto a = assigner.assign(centroids, r.labels.data(), dist.data(), true, observed);
    steps.set_distances_valid(a.distances_valid);
    if (agree) {
      a.inertia = agree->sum(a.inertia);
      a.n_changed = agree->sum(a.n_changed);
      a.evaluations = agree->sum(a.evaluations);
    }
    r.evaluations += a.evaluations;
    const auto u = steps.update(centroids, r.labels.data(), dist.data(), next, a.dirty, agree);
    assigner.centroids_moved(centroids, next, u.n_relocated > 0);
    const std::size_t relocated = u.n_relocated;
    const double shift = u.center_shift;
    std::swap(centroids, next);
    r.n_iter = it;
    r.inertia = a.inertia;

    IterationStats s;
    s.iteration = it;
    s.run = run;
    s.inertia = a.inertia;
    s.center_shift = shift;
    s.n_changed = a.n_changed;
    s.n_relocated = relocated;
    s.distance_evaluations = a.evaluations;
    s.elapsed_seconds = clock.seconds();
    s.seconds = s.elapsed_seconds - t0;
    if (p.verbose) std::fprintf(stderr, "Iteration: %d, inertia: %.10g\n", it, a.inertia);

    // Labels unchanged (and nothing relocated): the update reproduced the same centroids.
    const bool same_labels = it > 1 && a.n_changed == 0 && relocated == 0;
    const bool shift_ok = shift <= tol;
    const double inertia_change = std::abs(a.inertia - prev_inertia);
    const bool inertia_ok = p.inertia_tol > 0 && it > 1 && inertia_change < p.inertia_tol;
    prev_inertia = a.inertia;
    r.converged = same_labels || shift_ok || inertia_ok;
    bool stop_requested = p.on_iteration(s);
    if (agree) stop_requested = agree->any(stop_requested);

    if (!p.run_till_max_iter && r.converged) {
      strict = same_labels;
      if (p.verbose) {
        if (shift_ok && !same_labels)
          std::fprintf(stderr, "Converged at iteration %d: center shift %.6g within tolerance %.6g.\n", it, shift, tol);
        else if (inertia_ok && !same_labels)
          std::fprintf(stderr, "Converged at iteration %d: inertia change %.6g below inertia_tol %.6g.\n", it,
                       inertia_change, p.inertia_tol);
        else
          std::fprintf(stderr, "Converged at iteration %d: strict convergence.\n", it);
      }
      break;
    }
    if (stop_requested) {
      r.converged = false;
      if (p.verbose) std::fprintf(stderr, "Stopped at iteration %d by on_iteration.\n", it);
      break;
    }
  }
  if (p.verbose && !r.converged && r.n_iter == p.max_iter && !p.run_till_max_iter)
    std::fprintf(stderr, "Stopped after max_iter=%d iterations without converging.\n", p.max_iter);

  // Unless the labels were already stable, relabel against the final centroids so that
  // labels and inertia describe them.
  if (!strict) {
    const auto a = assigner.assign(centroids, r.labels.data(), dist.data(), false, true);
    r.inertia = agree ? agree->sum(a.inertia) : a.inertia;
    r.evaluations += agree ? agree->sum(a.evaluations) : a.evaluations;
  } else if (!observed) {
    const double local = steps.distances(centroids, r.labels.data(), dist.data());
    r.inertia = agree ? agree->sum(local) : local;
  }
  r.centroids = std::move(centroids);
  return r;
}

}  // namespace detail
}  // namespace lloyd
