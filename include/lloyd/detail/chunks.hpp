// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Fixed partitions of [0, n) for deterministic parallel reductions.
//
// A floating-point sum depends on the order of its terms. lloyd keeps results
// bit-identical for any thread count by cutting the rows into chunks that depend only
// on the problem size, summing each chunk sequentially into its own slot, and adding
// the slots in chunk order.

#include <algorithm>
#include <cstddef>

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

}  // namespace detail
}  // namespace lloyd
