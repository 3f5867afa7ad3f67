// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The assigner contract: what iterate() (iterate.hpp) needs of an assignment algorithm.
// Lloyd's full pass (LloydSteps), Hamerly, Elkan and Yinyang implement it.
//
//   Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist,
//                     bool for_update, bool with_distances);
//     Labels every row of this process (Problem::X) with its nearest centroid of C:
//     the arg-min of the canonical losses (distance.hpp), ties to the lowest index.
//     MUST give exactly the labels Lloyd's full pass gives, bit for bit: a row may be
//     skipped only when bounds prove, with BoundMath's margin (bounds.hpp), that its
//     label cannot change. On entry `labels` holds the previous pass's labels (-1
//     before the first pass); the assigner may rely on them and on its own state from
//     earlier calls, since centroids_moved() tells it how C changed in between.
//     dist[i] receives the row's exact loss against its new centroid; with
//     `with_distances` false, dist and the inertia MAY be skipped (then
//     distances_valid = false and inertia = NaN). `for_update` says an update() follows
//     that may use work done here (Lloyd gathers the cluster sums then); it MAY be
//     ignored. Without it no further pass follows (iterate()'s final relabelling): the
//     assigner need not keep what only later passes would read. Results MUST NOT depend
//     on the number of threads (partitions.hpp).
//
//   void centroids_moved(MatrixView<const T> C_old, MatrixView<const T> C_new,
//                        bool relocated);
//     The centroids went from C_old to C_new in an update. `relocated`: rows were moved
//     into empty clusters, so labels changed outside assign(): bounds must be rebuilt.
//
// A new bounded algorithm derives from BoundedAssigner (bounded.hpp), which implements
// these two and holds what Hamerly, Elkan and Yinyang share (full pass, label
// bookkeeping, batches of rows whose bounds failed), so that only its bound logic is new.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lloyd {
namespace detail {

/// A row whose label changed in an assignment pass, and its label before it.
struct LabelMove {
  std::size_t row;
  std::int32_t from;
};

/// What an assignment pass reports (this process's rows).
struct Assignment {
  double inertia = 0;            ///< sum of weight x loss against the assigned centroid (NaN if skipped)
  std::size_t n_changed = 0;     ///< rows whose label changed
  bool distances_valid = false;  ///< whether dist[] now holds every row's exact loss
  /// The rows whose label changed in this pass, each with its label before (any
  /// order), or null: any row may have changed (a full pass).
  const std::vector<LabelMove>* moves = nullptr;
  /// Point-centroid distances evaluated (a full pass: n * k).
  std::size_t evaluations = 0;
};

}  // namespace detail
}  // namespace lloyd
