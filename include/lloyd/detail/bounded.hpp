// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// What the bounded assigners (Hamerly, Exponion, Elkan, Yinyang) share, written once: the two calls
// of the assigner contract (assigner.hpp), the pass over fixed row tasks
// (partitions.hpp), the full pass through the fused kernel, the batch of rows whose
// bounds failed (all centroids, through the kernel, together), the label bookkeeping
// (changed rows and their old labels, distance evaluations) and the centroid shifts summed
// since the bounds were last brought up to date.
//
// A bounded algorithm derives from BoundedAssigner<Derived, T, Arch> (CRTP) and writes
// only its bound logic, as these private members (the base is a friend):
//
//   static constexpr bool rebuild_sets_distances;
//     Whether rebuilt() always writes dist[i] (so a full pass yields every distance).
//   static constexpr bool sums_shifts;
//     Whether shifts() is wanted (the summed moves since the last pass); without it only
//     moved() is kept (the algorithm measures moves itself).
//   bool prepare(MatrixView<const T> C);
//     Before a pass (kernel already holds C): what the bound tests need (centroid
//     separations, groups). Returns whether this is a full pass; it must be one while
//     !bounds_valid().
//   void bounded_rows(MatrixView<const T> C, std::size_t b, std::size_t e, std::size_t worker,
//                     std::int32_t* labels, T* dist, bool with_distances, Tally& tally);
//     Rows [b, e) by their bounds: skip, tighten, search a few centroids, or queue(worker, i)
//     for all centroids. Label changes go through relabel(); every row's dist[i] is
//     written when with_distances; distances computed are counted in tally.evals.
//   void rebuilt(std::size_t worker, std::size_t i, std::size_t label, double best,
//                double second, MatrixView<const T> C, T* dist, bool with_distances, Tally& tally);
//     Row i went through the kernel (full pass or queue) and is now labelled `label`:
//     best is an upper bound on its squared distance to it, second a lower bound on the
//     squared distance to any other centroid. Set the row's bounds (and dist[i]).
//   void shifts_changed();                               (optional)
//     shifts() changed: derive what the bounds decay by (largest shifts, per group...).
//   void pass_done(bool full, std::size_t queued, std::size_t evals); (optional)
//     After a pass; `queued` rows of a bounded pass went through the kernel, and `evals`
//     distances were computed in all.
//   bool wants_scores() const;                           (optional)
//   void rebuilt_scores(std::size_t i, std::size_t label, const T* scores, double norm2,
//                       double err);                     (optional)
//     Whether the rows that go through the kernel (full pass or queue) are to come back
//     with every score; then, after rebuilt(), rebuilt_scores() sees row i's k scores, with
//     norm2 + scores[j] - err <= |x - c_j|^2 <= norm2 + scores[j] + err.
//
// Rows are read through row(worker, i) (the working row: a unit row for Metric::Cosine,
// computed into the worker's scratch), or through exact_distance / exact_upper.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "assign.hpp"
#include "assigner.hpp"
#include "bounds.hpp"
#include "distance.hpp"
#include "parallel.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "steps.hpp"

namespace lloyd {
namespace detail {

template <class Derived, class T, class Arch>
class BoundedAssigner {
 public:
  /// Labels of all rows for centroids C (assigner.hpp).
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update, bool with_distances) {
    // The fit's last pass (no update follows) keeps no bounds: where it would be a full
    // pass, Lloyd's is as good.
    const bool last = !for_update;
    if (lloyd_ && (deferred_pass(last) || (last && !valid_))) {
      const Assignment a = lloyd_->assign(C, labels, dist, for_update, with_distances);
      valid_ = false;
      moved_ = false;
      evaluations_ += a.evaluations;
      return a;
    }
    if (deferred_ > 0) {  // a pass of a deferral or pause that is not Lloyd's: a full one
      --deferred_;
      valid_ = false;
    }
    kernel_.set_centroids(C);
    math_ = BoundMath(kernel_.relative_error());
    const bool full = derived().prepare(C);
    for (Worker& w : workers_) w.moves.clear();
    pool_.parallel_for(tasks_.count(), [&](std::size_t t, std::size_t worker) {
      Tally tally;
      std::vector<std::size_t>& queued = workers_[worker].rows;
      queued.clear();
      const std::size_t b = tasks_.begin(t), e = tasks_.end(t);
      if (full)
        for (std::size_t i = b; i < e; ++i) queued.push_back(i);
      else
        derived().bounded_rows(C, b, e, worker, labels, dist, with_distances, tally);
      task_queued_[t] = queued.size();
      rebuild_queued(C, worker, labels, dist, with_distances, /*record_moves=*/!full, tally);
      task_changed_[t] = tally.changed;
      task_evals_[t] = tally.evals;
    });
    std::size_t queued = 0, evals = 0;
    for (std::size_t q : task_queued_) queued += q;
    for (std::size_t q : task_evals_) evals += q;
    derived().pass_done(full, queued, evals);
    return report(full, dist, with_distances);
  }

  /// The centroids moved from C_old to C_new (after an update); the bounds follow lazily,
  /// by the summed shifts. After a relocation they are rebuilt from scratch; without
  /// bounds (before the first pass of the algorithm's own) there is nothing to follow.
  void centroids_moved(MatrixView<const T> C_old, MatrixView<const T> C_new, bool relocated) {
    if (relocated || !valid_) {
      valid_ = false;
      moved_ = false;
      return;
    }
    if constexpr (Derived::sums_shifts) {
      const std::vector<double> p = centroid_shifts(C_old, C_new);
      if (!moved_) shift_.assign(k_, 0.0);
      for (std::size_t c = 0; c < k_; ++c) shift_[c] += p[c];
    }
    moved_ = true;
    if constexpr (Derived::sums_shifts) derived().shifts_changed();
  }

  /// Full passes that only pause the bounds go through Lloyd's pass in `steps` (the
  /// steps of the same fit): it gathers the update's cluster sums on the way, where a
  /// full pass of the bounded algorithm leaves the update a second pass over the rows.
  void pause_with(LloydSteps<T, Arch>& steps) noexcept { lloyd_ = &steps; }

  /// The next `passes` passes are full ones, all but the last of them Lloyd's (with
  /// pause_with(); the last sets the bounds): at the start of a fit where the first passes
  /// move most rows and a short fit is over before bounds would pay (few centroids), and
  /// as a pause of the bounds after a pass in which they failed (the algorithm's
  /// pass_done()).
  void defer_bounds(std::size_t passes) noexcept { deferred_ = passes; }

  /// Point-centroid distances evaluated so far (a full pass costs n * k).
  std::size_t distance_evaluations() const noexcept { return evaluations_; }

 protected:
  using Kernel = AssignKernel<T, Arch>;

  /// What one task did.
  struct Tally {
    std::size_t changed = 0;  ///< rows whose label changed
    std::size_t evals = 0;    ///< point-centroid distances computed
  };

  BoundedAssigner(const Problem<T>& P, std::size_t k, ThreadPool& pool, Chunking tasks)
      : P_(P),
        k_(k),
        pool_(pool),
        kernel_(P.d, P.mean.data()),
        tasks_(tasks),
        upper_(P.n),
        workspaces_(pool.size()),
        workers_(pool.size()),
        identity_(P.unit_rows ? unit_block : 0),
        task_changed_(tasks_.count()),
        task_evals_(tasks_.count()),
        task_queued_(tasks_.count()) {
    for (Worker& w : workers_) w.row = P.row_buffer();
    for (std::size_t r = 0; r < identity_.size(); ++r) identity_[r] = r;
  }

  // Hooks with nothing to do unless the algorithm has something (see the top).
  void shifts_changed() {}
  void pass_done(bool /*full*/, std::size_t /*queued*/, std::size_t /*evals*/) {}
  bool wants_scores() const noexcept { return false; }
  void rebuilt_scores(std::size_t, std::size_t, const T*, double, double) {}

  /// Whether the bounds describe the current labels (false before the first pass and
  /// after a relocation: the next pass must be full).
  bool bounds_valid() const noexcept { return valid_; }
  /// Whether the centroids moved since the last pass; shifts() says how far each did
  /// (when Derived::sums_shifts).
  bool moved() const noexcept { return moved_; }
  const std::vector<double>& shifts() const noexcept { return shift_; }

  /// Row i goes through the kernel, against all centroids, after the task's bounded rows.
  void queue(std::size_t worker, std::size_t i) { workers_[worker].rows.push_back(i); }

  /// Row i's label becomes a (a no-op if it is already); the change is counted and
  /// recorded (the update re-sums only what it touched).
  void relabel(std::size_t worker, std::int32_t* labels, std::size_t i, std::size_t a, Tally& tally) {
    const std::int32_t old = labels[i];
    if (a == static_cast<std::size_t>(old)) return;
    ++tally.changed;
    workers_[worker].moves.push_back({i, old});
    labels[i] = static_cast<std::int32_t>(a);
  }

  /// Working row i (Problem::row), valid until the worker's next row() call.
  const T* row(std::size_t worker, std::size_t i) { return P_.row(i, workers_[worker].row.data()); }

  /// The exact loss of row i against centroid a, into dist[i].
  void exact_distance(MatrixView<const T> C, std::size_t worker, std::size_t i, std::size_t a, T* dist,
                      Tally& tally) {
    dist[i] = squared_distance<Arch>(row(worker, i), C.row(a), P_.d);
    ++tally.evals;
  }

  /// exact_distance for rows is[0..count) (count <= 4) against their centroids
  /// (labels), the sums side by side: the same bits, up to four times the speed at large d.
  void exact_distances(MatrixView<const T> C, std::size_t worker, const std::size_t* is, std::size_t count,
                       const std::int32_t* labels, T* dist, Tally& tally) {
    Worker& w = workers_[worker];
    const std::size_t d = P_.d, room = w.row.size();
    if (w.rows4.size() < 4 * room) w.rows4.resize(4 * room);
    const T* xs[4];
    const T* cs[4];
    T out[4];
    for (std::size_t q = 0; q < count; ++q) {
      xs[q] = P_.row(is[q], w.rows4.data() + q * room);
      cs[q] = C.row(static_cast<std::size_t>(labels[is[q]]));
    }
    switch (count) {
      case 4: squared_distances_paired<4, Arch>(xs, cs, d, out); break;
      case 3: squared_distances_paired<3, Arch>(xs, cs, d, out); break;
      case 2: squared_distances_paired<2, Arch>(xs, cs, d, out); break;
      case 1: out[0] = squared_distance<Arch>(xs[0], cs[0], d); break;
      default: break;
    }
    for (std::size_t q = 0; q < count; ++q) dist[is[q]] = out[q];
    tally.evals += count;
  }

  /// The exact loss of row i against centroid a into dist[i], and u from it.
  void exact_upper(MatrixView<const T> C, std::size_t worker, std::size_t i, std::size_t a, T* dist) {
    const T c2 = squared_distance<Arch>(row(worker, i), C.row(a), P_.d);
    dist[i] = c2;
    upper_[i] = math_.upper(static_cast<double>(c2));
  }

  const Problem<T>& P_;
  const std::size_t k_;
  ThreadPool& pool_;
  Kernel kernel_;
  const Chunking tasks_;
  BoundMath math_;
  std::vector<double> upper_;  ///< per row: upper bound on the distance to its centroid

 private:
  // Per worker: the rows queued for the kernel and what it returned for them, the
  // (old, new) label of each row that changed, and scratch for working rows (on cache
  // lines of its own: PerWorker).
  struct alignas(64) Worker {
    std::vector<T> row;     // one row (Problem::row_buffer)
    std::vector<T> rows4;   // four of them (exact_distances)
    Matrix<T> block;        // queued unit rows, a block at a time (Metric::Cosine)
    std::vector<std::size_t> rows;
    std::vector<std::int32_t> labels;
    std::vector<double> second;
    std::vector<double> best;
    std::vector<T> scores;  // a block of queued rows' scores (wants_scores())
    std::vector<double> norm2, err;
    std::vector<LabelMove> moves;
  };

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }

  // Whether this pass is one of defer_bounds()'s Lloyd passes: all but the last of them,
  // and any in the fit's last pass (no bounds are read after it).
  bool deferred_pass(bool last) noexcept {
    if (deferred_ < (last ? 1u : 2u)) return false;
    --deferred_;
    return true;
  }

  void rebuild_queued(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, bool with_distances,
                      bool record_moves, Tally& tally) {
    Worker& w = workers_[worker];
    const std::size_t m = w.rows.size();
    if (m == 0) return;
    tally.evals += m * k_;
    if (derived().wants_scores()) {
      rebuild_from_scores(C, worker, labels, dist, with_distances, record_moves, tally);
      return;
    }
    w.labels.resize(m);
    w.second.resize(m);
    w.best.resize(m);
    if (!P_.unit_rows) {
      kernel_.assign_rows(P_.X, w.rows.data(), m, w.labels.data(), w.second.data(), workspaces_[worker],
                          w.best.data());
    } else {
      for (std::size_t r0 = 0; r0 < m; r0 += unit_block) {
        const std::size_t len = std::min(unit_block, m - r0);
        const MatrixView<const T> Y = P_.listed_rows(w.rows.data() + r0, len, w.block);
        kernel_.assign_rows(Y, identity_.data(), len, w.labels.data() + r0, w.second.data() + r0,
                            workspaces_[worker], w.best.data() + r0);
      }
    }
    for (std::size_t r = 0; r < m; ++r)
      rebuilt_row(C, worker, labels, dist, w.rows[r], static_cast<std::size_t>(w.labels[r]), w.best[r], w.second[r],
                  with_distances, record_moves, tally);
  }

  // Queued row i, nearest centroid a: its label, then the algorithm's bounds.
  void rebuilt_row(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, std::size_t i,
                   std::size_t a, double best, double second, bool with_distances, bool record_moves, Tally& tally) {
    if (record_moves) {
      relabel(worker, labels, i, a, tally);
    } else {  // a full pass marks every cluster dirty anyway
      tally.changed += static_cast<std::size_t>(labels[i]) != a;
      labels[i] = static_cast<std::int32_t>(a);
    }
    derived().rebuilt(worker, i, a, best, second, C, dist, with_distances, tally);
  }

  // As above, from every score of each queued row (the same labels as assign_rows()
  // gives), which the algorithm then also sees (rebuilt_scores), unit_block rows at a
  // time.
  void rebuild_from_scores(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist,
                           bool with_distances, bool record_moves, Tally& tally) {
    Worker& w = workers_[worker];
    const std::size_t m = w.rows.size(), ld = kernel_.padded_clusters();
    const std::size_t block = unit_block;
    w.scores.resize(block * ld);
    w.norm2.resize(block);
    w.err.resize(block);
    for (std::size_t r0 = 0; r0 < m; r0 += block) {
      const std::size_t len = std::min(block, m - r0);
      MatrixView<const T> Y = P_.X;
      const std::size_t* ids = w.rows.data() + r0;
      if (P_.unit_rows) {
        Y = P_.listed_rows(ids, len, w.block);
        ids = identity_.data();
      }
      kernel_.scores(Y, ids, len, w.scores.data(), ld, w.norm2.data(), w.err.data(), workspaces_[worker]);
      for (std::size_t r = 0; r < len; ++r) {
        const T* s = w.scores.data() + r * ld;
        double second;
        const std::size_t a = kernel_.label_from_scores(Y.row(ids[r]), s, w.norm2[r], w.err[r], workspaces_[worker], &second);
        const std::size_t i = w.rows[r0 + r];
        rebuilt_row(C, worker, labels, dist, i, a, w.norm2[r] + static_cast<double>(s[a]) + w.err[r], second,
                    with_distances, record_moves, tally);
        derived().rebuilt_scores(i, a, s, w.norm2[r], w.err[r]);
      }
    }
  }

  Assignment report(bool full, const T* dist, bool with_distances) {
    Assignment a;
    if (!full) {
      moves_.clear();
      for (const Worker& w : workers_) moves_.insert(moves_.end(), w.moves.begin(), w.moves.end());
      a.moves = &moves_;
    }
    valid_ = true;
    moved_ = false;
    for (std::size_t t = 0; t < tasks_.count(); ++t) {
      a.n_changed += task_changed_[t];
      a.evaluations += task_evals_[t];
    }
    evaluations_ += a.evaluations;
    a.distances_valid = with_distances || (full && Derived::rebuild_sets_distances);
    a.inertia = a.distances_valid ? weighted_sum(P_, dist, pool_) : std::numeric_limits<double>::quiet_NaN();
    return a;
  }

  static constexpr std::size_t unit_block = 256;  // queued unit rows computed at a time

  std::vector<typename Kernel::Workspace> workspaces_;
  std::vector<Worker> workers_;
  std::vector<std::size_t> identity_;  // 0, 1, ...: the rows of a computed block, in order
  std::vector<std::size_t> task_changed_, task_evals_, task_queued_;
  std::vector<double> shift_;  // per centroid: distance moved since the last pass
  std::vector<LabelMove> moves_;  // the last bounded pass's label changes
  bool valid_ = false;
  bool moved_ = false;
  std::size_t evaluations_ = 0;
  LloydSteps<T, Arch>* lloyd_ = nullptr;  // pause_with()
  std::size_t deferred_ = 0;              // defer_bounds(): full passes before the bounds are used
};

}  // namespace detail
}  // namespace lloyd
