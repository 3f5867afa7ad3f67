// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The assignment kernel: nearest centroid of each row, distances and arg-min fused.
//
// The rest of the library only uses this interface:
//
//   AssignKernel<T> kernel(n_features, shift);  // shift: per-feature centring offset
//   kernel.set_centroids(C);                    // once per iteration: packs C
//   auto ws = kernel.make_workspace();          // one per worker thread
//   kernel.assign(X, begin, end, labels, ws);   // rows [begin, end), from any thread
//   kernel.assign(X, begin, end, labels, ws, dist);  // also exact squared distances,
//                                                    // when the kernel has them (returns true)
//
// How it works. For a row x and centroid c, |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and
// |x|^2 is the same for every c, so the nearest centroid minimises
// score(c) = |c|^2 - 2 x.c. The x.c products of a tile of MR rows and NR = P * W
// centroids (W = SIMD width) are accumulated in MR * P vector registers, one multiply-
// add per row, per SIMD vector of centroids and per feature; the scores of the tile are
// then folded into a running per-lane (minimum, index) pair of each row. Only those
// pairs leave the registers: no n x k distance matrix exists anywhere.
//
// Both operands are repacked so the hot loop is branch-free and has no tails:
//   - centroids, once per set_centroids(): panels of NR centroids, feature-major
//     (for each feature, NR consecutive values) so one vector load fetches one feature
//     of NR centroids; the last panel is padded with zero centroids whose |c|^2 is +inf
//     (never chosen); features are padded with zeros to a multiple of JB.
//   - rows, per block of rows: in groups of MR rows, JB features of each row side by
//     side, so the MR broadcasts of a step read consecutive memory.
// Cache blocking: a block of rows (<= ~192 KiB packed) is run against a block of
// centroid panels (<= ~384 KiB) so both stay in L2 while one MR-row group (L1) meets
// every panel of the block.
//
// Few centroids (k <= direct_max_k). Then a centroid panel would be mostly padding,
// and the data pass, not arithmetic, bounds the speed; the kernel instead computes
// sum((x - c)^2) for all k centroids in one sweep of each row (SIMD along features),
// which also yields the exact distances: callers get them without a second look at X.
//
// Precision. The data are centred (shift = the column means of the training data) while
// packing: x - m and c - m have the same distances, but far smaller norms when the data
// sit far from the origin, which keeps the |c|^2 - 2 x.c cancellation harmless in float.
// Exact ties of the score go to the lowest centroid index. Callers that need exact
// distances (inertia) recompute them as sums of squared differences (distance.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "aligned.hpp"
#include "config.hpp"
#include "distance.hpp"

#if defined(__clang__)
#define LLOYD_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define LLOYD_UNROLL _Pragma("GCC unroll 32")
#else
#define LLOYD_UNROLL
#endif

namespace lloyd {
namespace detail {

/// Register-tile shape of the kernel for one scalar type and instruction set.
template <class T, class Arch>
struct TileShape {
  static constexpr std::size_t W = simd<T, Arch>::size;
  // 32 vector registers with AVX-512, 16 otherwise (SSE*, AVX, AVX2, NEON has 32 but
  // the 16-register shape is a safe choice there too).
  static constexpr bool wide_file = sizeof(simd<T, Arch>) == 64;
  static constexpr std::size_t MR2 = wide_file ? 14 : 6;   // rows per tile with P = 2
  static constexpr std::size_t MR1 = wide_file ? 24 : 12;  // rows per tile when k <= W
  static constexpr std::size_t JB = 4;                     // features per packed step
};

/// Dot products of MR packed rows with P vectors of centroids, folded into the rows'
/// running per-lane minimum of |c|^2 - 2 x.c and its vector slot.
template <class T, class Arch, std::size_t MR, std::size_t P>
LLOYD_ALWAYS_INLINE void score_tile(const T* LLOYD_RESTRICT rows, const T* LLOYD_RESTRICT panel,
                                    const T* LLOYD_RESTRICT norms, std::size_t feature_steps, T first_slot,
                                    T* LLOYD_RESTRICT best_score, T* LLOYD_RESTRICT best_slot) noexcept {
  using V = simd<T, Arch>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t JB = TileShape<T, Arch>::JB;
  V acc[MR][P];
  LLOYD_UNROLL
  for (std::size_t r = 0; r < MR; ++r) {
    LLOYD_UNROLL
    for (std::size_t p = 0; p < P; ++p) acc[r][p] = V(T(0));
  }
  for (std::size_t s = 0; s < feature_steps; ++s) {
    const T* a = rows + s * MR * JB;
    const T* b = panel + s * JB * P * W;
    LLOYD_UNROLL
    for (std::size_t jj = 0; jj < JB; ++jj) {
      V bv[P];
      LLOYD_UNROLL
      for (std::size_t p = 0; p < P; ++p) bv[p] = V::load_aligned(b + (jj * P + p) * W);
      LLOYD_UNROLL
      for (std::size_t r = 0; r < MR; ++r) {
        const V av(a[r * JB + jj]);
        LLOYD_UNROLL
        for (std::size_t p = 0; p < P; ++p) acc[r][p] = xsimd::fma(av, bv[p], acc[r][p]);
      }
    }
  }
  const V minus_two(T(-2));
  LLOYD_UNROLL
  for (std::size_t r = 0; r < MR; ++r) {
    V bs = V::load_aligned(best_score + r * W);
    V bi = V::load_aligned(best_slot + r * W);
    LLOYD_UNROLL
    for (std::size_t p = 0; p < P; ++p) {
      const V score = xsimd::fma(acc[r][p], minus_two, V::load_aligned(norms + p * W));
      const auto better = score < bs;  // strict: the earlier (lower) index keeps ties
      bs = xsimd::select(better, score, bs);
      bi = xsimd::select(better, V(first_slot + T(p)), bi);
    }
    bs.store_aligned(best_score + r * W);
    bi.store_aligned(best_slot + r * W);
  }
}

template <class T, class Arch = default_arch>
class AssignKernel {
  using Shape = TileShape<T, Arch>;
  static constexpr std::size_t W = Shape::W;
  static constexpr std::size_t JB = Shape::JB;

 public:
  /// Per-thread scratch: a packed block of rows and their running minima.
  struct Workspace {
    aligned_vector<T> rows;
    aligned_vector<T> best_score;
    aligned_vector<T> best_slot;
  };

  AssignKernel() = default;
  /// A kernel for rows of n_features values; shift (n_features values, or null for
  /// none) is subtracted from rows and centroids alike before the products.
  AssignKernel(std::size_t n_features, const T* shift) : d_(n_features), d_pad_(round_up(n_features, JB)) {
    shift_.assign(d_pad_, T(0));
    if (shift) std::copy_n(shift, d_, shift_.begin());
  }

  /// Up to this many centroids, rows are scored directly (see the header note).
  static constexpr std::size_t direct_max_k = 8;

  /// Packs the k x d centroids for the following assign() calls (C may change afterwards).
  void set_centroids(MatrixView<const T> C) {
    k_ = C.rows();
    if (k_ <= direct_max_k) {
      direct_ = Matrix<T>(C);
      panels_.clear();
      packed_.clear();
      norms_.clear();
      return;
    }
    direct_ = Matrix<T>();
    const std::size_t full_pairs = k_ / (2 * W);
    const std::size_t rest = k_ - full_pairs * 2 * W;
    // Panels of 2 vectors; a remainder of at most one vector gets a 1-vector panel.
    panels_.clear();
    std::size_t first = 0, offset = 0;
    for (std::size_t q = 0; q < full_pairs; ++q) add_panel(first, 2, offset);
    if (rest > W)
      add_panel(first, 2, offset);
    else if (rest > 0)
      add_panel(first, 1, offset);
    mr_ = group_rows(k_);

    // Same sizes every iteration: resize() keeps the memory; zero what padding needs.
    packed_.resize(offset * d_pad_);
    norms_.resize(offset);
    std::fill(packed_.begin(), packed_.end(), T(0));
    std::fill(norms_.begin(), norms_.end(), std::numeric_limits<T>::infinity());
    std::vector<double> centred(d_);
    for (const Panel& pn : panels_) {
      const std::size_t nr = pn.vectors * W;
      T* dst = packed_.data() + pn.offset * d_pad_;
      for (std::size_t c = 0; c < nr && pn.first + c < k_; ++c) {
        const T* src = C.row(pn.first + c);
        double norm = 0;
        for (std::size_t j = 0; j < d_; ++j) {
          const T v = static_cast<T>(static_cast<double>(src[j]) - static_cast<double>(shift_[j]));
          dst[j * nr + c] = v;
          norm += static_cast<double>(v) * static_cast<double>(v);
        }
        norms_[pn.offset + c] = static_cast<T>(norm);
      }
    }
  }

  Workspace make_workspace() const { return {}; }
  std::size_t n_clusters() const noexcept { return k_; }
  std::size_t n_features() const noexcept { return d_; }

  /// Whether assign() provides exact distances for k centroids (the direct mode).
  static constexpr bool exact_distances(std::size_t k) noexcept { return k <= direct_max_k; }

  /// Rows of one register tile for k centroids: callers that split rows into pieces
  /// waste the least padding with multiples of it.
  static constexpr std::size_t group_rows(std::size_t k) noexcept {
    return k <= direct_max_k ? 1 : k <= W ? Shape::MR1 : Shape::MR2;
  }

  /// Rows assign() packs at a time for k centroids of d features: a whole number of
  /// tiles whose packed copy stays within ~192 KiB (half an L2 of 512 KiB and up).
  static std::size_t block_rows(std::size_t k, std::size_t d) noexcept {
    const std::size_t mr = group_rows(k);
    const std::size_t bytes_per_row = std::max<std::size_t>(1, round_up(d, JB) * sizeof(T));
    const std::size_t rows = std::max<std::size_t>(mr, (std::size_t(192) << 10) / bytes_per_row);
    return std::min<std::size_t>(round_up(512, mr), rows / mr * mr);
  }

  /// labels[i - begin] = index of the nearest centroid of X row i, for i in [begin, end).
  /// If `dist` is not null and the kernel computes exact squared distances on the way
  /// (few centroids), it stores them in dist[i - begin] and returns true.
  bool assign(MatrixView<const T> X, std::size_t begin, std::size_t end, std::int32_t* labels, Workspace& ws,
              T* dist = nullptr) const {
    if (exact_distances(k_)) {
      assign_direct(X, begin, end, labels, dist);
      return dist != nullptr;
    }
    const std::size_t mr = mr_;
    const std::size_t block = block_rows(k_, d_);
    ws.rows.resize(block * d_pad_);
    ws.best_score.resize(block * W);
    ws.best_slot.resize(block * W);
    for (std::size_t b = begin; b < end; b += block) {
      const std::size_t e = std::min(end, b + block);
      const std::size_t rows_padded = round_up(e - b, mr);
      pack_rows(X, b, e, rows_padded, ws.rows.data());
      std::fill_n(ws.best_score.data(), rows_padded * W, std::numeric_limits<T>::infinity());
      std::fill_n(ws.best_slot.data(), rows_padded * W, T(0));
      if (mr == Shape::MR1)
        run_block<Shape::MR1>(rows_padded, ws);
      else
        run_block<Shape::MR2>(rows_padded, ws);
      finish_labels(e - b, ws, labels + (b - begin));
    }
    return false;
  }

 private:
  struct Panel {
    std::size_t first;    // first centroid
    std::size_t vectors;  // P: 1 or 2 SIMD vectors of centroids
    std::size_t offset;   // centroid slot of its first column (a multiple of W)
  };

  // G centroids against R rows at a time: R * G accumulators fill about half the
  // register file, and every centroid vector loaded serves R rows.
  template <std::size_t G>
  void assign_direct_rows(MatrixView<const T> X, std::size_t begin, std::size_t end, std::int32_t* labels,
                          T* dist) const {
    constexpr std::size_t acc_budget = Shape::wide_file ? 16 : 8;
    constexpr std::size_t R = G >= acc_budget ? 1 : (acc_budget / G > 4 ? 4 : acc_budget / G);
    const T* cs[G];
    for (std::size_t c = 0; c < G; ++c) cs[c] = direct_.row(c);
    T dc[R * G];
    const T* xs[R];
    std::size_t i = begin;
    auto finish = [&](std::size_t rows) {
      for (std::size_t r = 0; r < rows; ++r) {
        const T* dr = dc + r * G;
        std::size_t best = 0;
        for (std::size_t c = 1; c < G; ++c)
          if (dr[c] < dr[best]) best = c;
        labels[i + r - begin] = static_cast<std::int32_t>(best);
        if (dist) dist[i + r - begin] = dr[best];
      }
    };
    for (; i + R <= end; i += R) {
      for (std::size_t r = 0; r < R; ++r) xs[r] = X.row(i + r);
      squared_distances_block<R, G, Arch>(xs, cs, d_, dc);
      finish(R);
    }
    for (; i < end; ++i) {
      xs[0] = X.row(i);
      squared_distances_block<1, G, Arch>(xs, cs, d_, dc);
      finish(1);
    }
  }

  void assign_direct(MatrixView<const T> X, std::size_t begin, std::size_t end, std::int32_t* labels, T* dist) const {
    switch (k_) {
      case 1: return assign_direct_rows<1>(X, begin, end, labels, dist);
      case 2: return assign_direct_rows<2>(X, begin, end, labels, dist);
      case 3: return assign_direct_rows<3>(X, begin, end, labels, dist);
      case 4: return assign_direct_rows<4>(X, begin, end, labels, dist);
      case 5: return assign_direct_rows<5>(X, begin, end, labels, dist);
      case 6: return assign_direct_rows<6>(X, begin, end, labels, dist);
      case 7: return assign_direct_rows<7>(X, begin, end, labels, dist);
      default: return assign_direct_rows<8>(X, begin, end, labels, dist);
    }
  }

  void add_panel(std::size_t& first, std::size_t vectors, std::size_t& offset) {
    panels_.push_back({first, vectors, offset});
    first += vectors * W;
    offset += vectors * W;
  }

  // Rows b..e of X, centred, in groups of mr rows: for each step of JB features, the
  // JB values of each row of the group side by side. Padding rows and features are 0.
  void pack_rows(MatrixView<const T> X, std::size_t b, std::size_t e, std::size_t rows_padded, T* out) const {
    const std::size_t mr = mr_, steps = d_pad_ / JB;
    for (std::size_t g = 0; g < rows_padded; g += mr) {
      T* group = out + g * d_pad_;
      for (std::size_t r = 0; r < mr; ++r) {
        const std::size_t i = b + g + r;
        T* dst = group + r * JB;
        if (i >= e) {
          for (std::size_t s = 0; s < steps; ++s) std::fill_n(dst + s * mr * JB, JB, T(0));
          continue;
        }
        const T* x = X.row(i);
        const T* m = shift_.data();
        std::size_t s = 0;
        for (; (s + 1) * JB <= d_; ++s)
          for (std::size_t jj = 0; jj < JB; ++jj) dst[s * mr * JB + jj] = x[s * JB + jj] - m[s * JB + jj];
        if (s < steps) {
          for (std::size_t jj = 0; jj < JB; ++jj) {
            const std::size_t j = s * JB + jj;
            dst[s * mr * JB + jj] = j < d_ ? x[j] - m[j] : T(0);
          }
        }
      }
    }
  }

  template <std::size_t MR>
  void run_block(std::size_t rows_padded, Workspace& ws) const {
    const std::size_t steps = d_pad_ / JB;
    // Centroid panels in L2-sized groups, each swept by every MR-row group of the block.
    const std::size_t panel_budget = std::size_t(384) << 10;
    for (std::size_t p0 = 0; p0 < panels_.size();) {
      std::size_t p1 = p0, bytes = 0;
      do {
        bytes += panels_[p1].vectors * W * d_pad_ * sizeof(T);
        ++p1;
      } while (p1 < panels_.size() && bytes + panels_[p1].vectors * W * d_pad_ * sizeof(T) <= panel_budget);
      for (std::size_t g = 0; g < rows_padded; g += MR) {
        const T* rows = ws.rows.data() + g * d_pad_;
        T* bs = ws.best_score.data() + g * W;
        T* bi = ws.best_slot.data() + g * W;
        for (std::size_t q = p0; q < p1; ++q) {
          const Panel& pn = panels_[q];
          const T* panel = packed_.data() + pn.offset * d_pad_;
          const T* norms = norms_.data() + pn.offset;
          const T slot = static_cast<T>(pn.offset / W);
          if (pn.vectors == 2)
            score_tile<T, Arch, MR, 2>(rows, panel, norms, steps, slot, bs, bi);
          else
            score_tile<T, Arch, MR, 1>(rows, panel, norms, steps, slot, bs, bi);
        }
      }
      p0 = p1;
    }
  }

  // Per row: the lane with the lowest score; equal scores go to the lowest index.
  void finish_labels(std::size_t n_rows, const Workspace& ws, std::int32_t* labels) const {
    for (std::size_t r = 0; r < n_rows; ++r) {
      const T* bs = ws.best_score.data() + r * W;
      const T* bi = ws.best_slot.data() + r * W;
      T best = bs[0];
      std::size_t label = static_cast<std::size_t>(bi[0]) * W;
      for (std::size_t lane = 1; lane < W; ++lane) {
        const std::size_t idx = static_cast<std::size_t>(bi[lane]) * W + lane;
        if (bs[lane] < best || (bs[lane] == best && idx < label)) {
          best = bs[lane];
          label = idx;
        }
      }
      labels[r] = static_cast<std::int32_t>(label < k_ ? label : 0);
    }
  }

  std::size_t d_ = 0;
  std::size_t d_pad_ = 0;
  std::size_t k_ = 0;
  std::size_t mr_ = Shape::MR2;
  aligned_vector<T> shift_;
  std::vector<Panel> panels_;
  aligned_vector<T> packed_;
  aligned_vector<T> norms_;
  Matrix<T> direct_;  // the centroids as given, when k <= direct_max_k
};

}  // namespace detail
}  // namespace lloyd
