// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// lloyd's reproducibility promise, in one place: the fixed partitions of the rows.
//
// A floating-point sum depends on the order of its terms. lloyd keeps results
// bit-identical for any thread count by cutting the rows into chunks that depend only
// on the problem's size (n, k, d; never on the number of threads), summing each chunk
// sequentially into its own slot, and adding the slots in chunk order. Every parallel
// loop of the library takes its partition from the functions below, which say why each
// size was chosen. Changing one changes the bits of some result: the golden test
// (tests/golden) says which.

#include <algorithm>
#include <cstddef>

#include "aligned.hpp"

namespace lloyd {
namespace detail {

/// [0, n) cut into count() consecutive ranges of (almost) equal length.
class Chunking {
 public:
  Chunking() = default;
  /// Ranges of at least min_rows rows (the last may be shorter), at most max_chunks of them.
  Chunking(std::size_t n, std::size_t min_rows, std::size_t max_chunks) : n_(n) {
    min_rows = std::max<std::size_t>(1, min_rows);
    max_chunks = std::max<std::size_t>(1, max_chunks);
    const std::size_t wanted = std::max<std::size_t>(1, n / min_rows);
    count_ = n == 0 ? 0 : std::min(wanted, max_chunks);
    rows_ = count_ == 0 ? 0 : (n + count_ - 1) / count_;
    if (rows_ > 0) count_ = (n + rows_ - 1) / rows_;
  }

  /// [0, n) in ranges of exactly `rows` rows (the last may be shorter).
  static Chunking of_rows(std::size_t n, std::size_t rows) {
    Chunking c;
    c.n_ = n;
    c.rows_ = std::max<std::size_t>(1, rows);
    c.count_ = (n + c.rows_ - 1) / c.rows_;
    return c;
  }

  std::size_t count() const noexcept { return count_; }
  std::size_t rows_per_chunk() const noexcept { return rows_; }
  std::size_t size() const noexcept { return n_; }
  std::size_t begin(std::size_t c) const noexcept { return std::min(n_, c * rows_); }
  std::size_t end(std::size_t c) const noexcept { return std::min(n_, (c + 1) * rows_); }

 private:
  std::size_t n_ = 0;
  std::size_t count_ = 0;
  std::size_t rows_ = 0;
};

/// The named partitions. Sizes are (at least so many rows per chunk, at most so many
/// chunks): enough rows that a chunk's work dwarfs the cost of a task (~1 us), enough
/// chunks that two to sixteen threads stay busy.
namespace partition {

/// Column sums of make_problem (2 d doubles per chunk): few chunks, their slots are
/// added per column.
inline Chunking column_statistics(std::size_t n) { return Chunking(n, 2048, 64); }
/// Exact max |x| when the column bound leaves the safe range: one double per chunk.
inline Chunking max_abs_scan(std::size_t n) { return Chunking(n, 4096, 256); }
/// The inertia, sum of weight x distance: one double per chunk, the same for every
/// assigner (so Lloyd and the bounded algorithms report the same bits).
inline Chunking inertia(std::size_t n) { return Chunking(n, 8192, 256); }
/// Greedy k-means++: per chunk a potential and one per trial; fine chunks so that the
/// sampling scan can skip whole chunks by their potential.
inline Chunking kmeans_plusplus(std::size_t n) { return Chunking(n, 1024, 4096); }
/// k-means|| rounds: per chunk a potential; each chunk runs the tiled kernel on its rows.
inline Chunking kmeans_parallel(std::size_t n) { return Chunking(n, 2048, 1024); }
/// Hamerly's tasks: the rows whose bounds fail are batched per task through the kernel.
inline Chunking hamerly_tasks(std::size_t n) { return Chunking(n, 1024, 4096); }
/// Elkan's and Yinyang's tasks: more work per row than Hamerly's, so smaller tasks.
inline Chunking bounded_tasks(std::size_t n) { return Chunking(n, 512, 4096); }
/// The scan for rows of dirty clusters (ClusterSums): one list per chunk, in row order.
inline Chunking dirty_scan(std::size_t n) { return Chunking(n, 16384, 256); }
/// predict() and score(): labels are per row; chunks only spread the work.
inline Chunking prediction(std::size_t n) { return Chunking(n, 256, 4096); }
/// transform(): k outputs per row, so smaller chunks than prediction.
inline Chunking transform(std::size_t n) { return Chunking(n, 64, 4096); }

/// The tasks of Lloyd's assignment pass: whole register tiles (`group` rows) of at
/// least ~2^22 flops each. Fused gathering of the cluster sums (ClusterSums) needs one
/// k x (d + 2) slot per task, zeroed and added up every iteration: `fused` is set when
/// the slots fit in 16 MiB, cost at most 1/8 of a pass over X, and still leave enough
/// tasks (>= 16, or all the rows allow) for the threads.
inline Chunking assignment_tasks(std::size_t n, std::size_t k, std::size_t d, std::size_t group, bool& fused) {
  const std::size_t row_cost = (2 * k + 8) * d;
  const std::size_t rows_min = round_up((std::size_t(1) << 22) / row_cost + 1, group);
  const std::size_t wanted = (n + rows_min - 1) / rows_min;
  const std::size_t slot = k * (d + 2);
  const std::size_t max_fused =
      std::min({std::size_t(256), (std::size_t(16) << 20) / (slot * sizeof(double)), (n * d / 8) / slot});
  fused = n > 0 && max_fused >= std::min<std::size_t>(wanted, 16);
  const std::size_t n_tasks = std::max<std::size_t>(1, std::min(wanted, fused ? max_fused : std::size_t(4096)));
  return Chunking::of_rows(n, round_up((n + n_tasks - 1) / n_tasks, group));
}

}  // namespace partition

}  // namespace detail
}  // namespace lloyd
