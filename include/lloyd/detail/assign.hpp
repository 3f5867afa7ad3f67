// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The assignment kernel: nearest centroid of each row, distances and arg-min fused.
// (Over 400 lines on purpose: one class whose packing, tiled path, direct path and
// near-tie re-check share the packed centroids and their error bound; its register tile
// is score_tile.hpp.)
//
// The rest of the library only uses this interface:
//
//   AssignKernel<T> kernel(n_features, shift);  // shift: per-feature centring offset
//   kernel.set_centroids(C);                    // once per iteration: packs C
//   auto ws = kernel.make_workspace();          // one per worker thread
//   kernel.assign(X, begin, end, labels, ws);   // rows [begin, end), from any thread
//   kernel.assign(X, begin, end, labels, ws, dist);  // also exact squared distances,
//                                                    // when the kernel has them (returns true)
//   kernel.assign_rows(X, rows, count, labels, second, ws);  // listed rows, plus a lower
//                                                    // bound of the second-nearest distance
//   kernel.scores(X, rows, count, out, ld, norm2, err, ws);  // every |c|^2 - 2 x.c of listed rows
//
// Labels are the arg-min of the canonical distances of distance.hpp (lowest index on
// equality), whatever path computes them.
//
// How it works. For a row x and centroid c, |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and
// |x|^2 is the same for every c, so the nearest centroid minimises
// score(c) = |c|^2 - 2 x.c. The x.c products of a tile of MR rows and NR = P * W
// centroids (W = SIMD width) are accumulated in MR * P vector registers, one multiply-
// add per row, per SIMD vector of centroids and per feature; the scores of the tile are
// then folded into a running per-lane (minimum, runner-up, index) of each row. Only
// those leave the registers: no n x k distance matrix exists anywhere.
//
// Both operands are repacked so the hot loop is branch-free and has no tails:
//   - centroids, once per set_centroids(): panels of NR centroids, feature-major
//     (for each feature, NR consecutive values) so one vector load fetches one feature
//     of NR centroids; the last panel is padded with zero centroids whose |c|^2 is +inf
//     (never chosen); features are padded with zeros to a multiple of JB.
//   - rows, per block of rows: in groups of MR rows, JB features of each row side by
//     side, so the MR broadcasts of a step read consecutive memory.
// Cache blocking: a block of rows (<= 3/4 of the L2 cache packed, at most 512 rows) is
// run against a block of centroid panels (<= 3/16 of it) so both stay in L2 while one
// MR-row group (L1) meets every panel of the block. The rows take the larger share:
// every centroid loaded from memory or L3 then serves more rows, which is what bounds
// the speed when k x d is large (float64, d = 784, k = 4096: 63 -> 84 % of one core's
// peak against 192 KiB of rows and 384 KiB of panels). Blocking over features is not
// needed: with both operands streaming from L2 the loop stays near the FMA limit up to d
// in the thousands.
//
// Few centroids and short rows (lanes_pay: k <= 4 W and rows of at most 128 bytes, or
// k <= 8 W and rows of at most 64 bytes; with 8 or more lanes). Then the tile's own work is small and the per-row fold of W lanes
// into one minimum and runner-up (four reductions across lanes) costs more than the
// multiply-adds. The lane path turns the tile around: W rows, one per lane, feature by
// feature (pack), meet G centroids at a time, each centroid value broadcast; every
// lane keeps its row's minimum, index and runner-up, so nothing is reduced across lanes.
// Each score is still one chain of multiply-adds over the features in order, so the
// scores and labels are those of the panel tiles, bit for bit (the bounds handed out
// may differ in the last bit of |x - m|^2, whose sum the compiler may fuse differently
// in the two packings; it is rounded up by far more). Measured (float32,
// one thread, AVX-512): d = 8, k = 16: 16 -> 8 ns a row; d <= 16, k = 64 to 100: 0.76 to
// 0.91 of the panels' time (AVX2: 0.81 to 0.93 at k = 64); the paths are level around
// d = 32, or k = 8 W at d <= 8 (up to 1.06x at d = 2, k = 128). With 4 lanes (SSE2
// float, AVX2 double) it gains nothing.
//
// Few centroids (k <= direct_max_k). Then a centroid panel would be mostly padding,
// and the data pass, not arithmetic, bounds the speed; the kernel instead computes the
// canonical sum((x - c)^2) for all k centroids in one sweep of each row (SIMD along
// features), which also yields the exact distances: callers get them without a second
// look at X.
//
// Precision. Rows and centroids are centred on `shift` (the column means of the
// training data) while packing: x - m and c - m have the same distances, but far smaller
// norms when the data sit far from the origin, so the |c|^2 - 2 x.c cancellation stays
// small. What is left of it is bounded. With S = (|x - m| + max |c - m|)^2 and u = eps/2,
// norm2 + score(c) differs from the canonical distance of x and c by at most
// tie = (d + 6) eps S: the canonical sum of (x - c)^2 is within (d + 5) u |x - c|^2 of
// exact; centring rounds each value of x - m and c - m by u, which moves |x - c|^2 by
// under 2 u S; the score's dot product (a chain of d multiply-adds) errs by under
// d u |x - m||c - m| <= d u S / 4, doubled, and rounding |c - m|^2 and the last multiply-
// add each by u S: (1.5 d + 9) u S in all, with room to spare. (For Metric::Dot, where
// the score is -2 x.c and the canonical loss -x.c, the same bound holds in score units.)
// A row whose best two scores lie within 2 tie of each other is decided again with
// canonical distances, so the label is exactly the canonical arg-min. (With data far from
// the origin or near-equidistant centroids this happens more often; it costs that row's
// k scores again and a canonical distance to each centroid scoring within 2 tie of the
// best.) Bounds handed to the bounded algorithms (second, best) use the wider
// err = 4 (d + 4) eps S, which also covers the rounding of norm2 = |x - m|^2.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "aligned.hpp"
#include "config.hpp"
#include "distance.hpp"
#include "score_tile.hpp"

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class AssignKernel {
  using Shape = TileShape<T, Arch>;
  static constexpr std::size_t W = Shape::W;
  static constexpr std::size_t JB = Shape::JB;

 public:
  /// Per-thread scratch: a packed block of rows and their running minima (on cache lines
  /// of its own, PerWorker in parallel.hpp: the workspaces of a pass lie side by side).
  struct alignas(64) Workspace {
    aligned_vector<T> rows;
    aligned_vector<T> best_score;
    aligned_vector<T> second_score;
    aligned_vector<T> best_slot;
    std::vector<double> row_norm2;  // |x - shift|^2 of the packed rows
    aligned_vector<T> emitted;      // scores of one block (scores())
    std::vector<T> canonical;       // canonical distances of one row's candidates (re-check)
    aligned_vector<T> row_scores;   // every score of one row (re-check)
    std::vector<std::size_t> candidates;
    aligned_vector<T> cols;         // a block of rows, one per SIMD lane (lane path)
  };

  AssignKernel() = default;
  /// A kernel for rows of n_features values; shift (n_features values, or null for
  /// none) is subtracted from rows and centroids alike before the products. With
  /// inner_product, "nearest" means the largest x.c (Metric::Dot): no shift, no |c|^2
  /// term, no direct mode, and close calls are decided by the canonical dot product.
  AssignKernel(std::size_t n_features, const T* shift, bool inner_product = false)
      : d_(n_features), d_pad_(round_up(n_features, JB)), inner_(inner_product) {
    shift_.assign(d_pad_, T(0));
    if (shift && !inner_) std::copy_n(shift, d_, shift_.begin());
    err_scale_ = 4.0 * static_cast<double>(d_pad_ + 4) * static_cast<double>(std::numeric_limits<T>::epsilon());
    tie_scale_ = static_cast<double>(d_pad_ + 6) * static_cast<double>(std::numeric_limits<T>::epsilon());
  }

  /// Whether assign() provides exact distances for the current centroids.
  bool exact_now() const noexcept { return !inner_ && exact_distances(k_); }

  /// Up to this many centroids, rows are scored directly (see the header note).
  static constexpr std::size_t direct_max_k = 8;

  /// Which tiled path assign() takes: by k and d (Auto), or one of them (tests compare
  /// the two). Takes effect at the next set_centroids().
  enum class Tiling { Auto, Panels, Lanes };
  void set_tiling(Tiling t) noexcept { tiling_ = t; }

  /// Whether the lane path is the faster one for k centroids of d features.
  static constexpr bool lanes_pay(std::size_t k, std::size_t d) noexcept {
    return W >= 8 && d * sizeof(T) <= 128 && (k <= 4 * W || (k <= 8 * W && d * sizeof(T) <= 64));
  }

  /// Packs the k x d centroids for the following assign() calls (C may change afterwards).
  void set_centroids(MatrixView<const T> C) {
    k_ = C.rows();
    if (centroids_.rows() == C.rows() && centroids_.cols() == C.cols()) {
      for (std::size_t c = 0; c < k_; ++c) std::copy_n(C.row(c), d_, centroids_.row(c));
    } else {
      centroids_ = Matrix<T>(C);
    }
    if (!inner_ && exact_distances(k_)) {
      panels_.clear();
      return;
    }
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
    mr_ = group_rows(k_, inner_);
    k_pad_ = offset;
    lanes_ = tiling_ == Tiling::Lanes || (tiling_ == Tiling::Auto && lanes_pay(k_, d_));

    // Same sizes every iteration: resize() keeps the memory; zero what padding needs.
    packed_.resize(offset * d_pad_);
    norms_.resize(offset);
    std::fill(packed_.begin(), packed_.end(), T(0));
    std::fill(norms_.begin(), norms_.end(), std::numeric_limits<T>::infinity());
    double cmax2 = 0;
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
        norms_[pn.offset + c] = inner_ ? T(0) : static_cast<T>(norm);
        cmax2 = std::max(cmax2, norm);
      }
    }
    cmax_ = std::sqrt(cmax2);
  }

  Workspace make_workspace() const { return {}; }
  std::size_t n_clusters() const noexcept { return k_; }
  std::size_t n_features() const noexcept { return d_; }
  /// Largest |c - shift| of the current centroids (tiled mode).
  double max_centroid_norm() const noexcept { return cmax_; }

  /// Whether assign() provides exact distances for k centroids (the direct mode).
  static constexpr bool exact_distances(std::size_t k) noexcept { return k <= direct_max_k; }

  /// Rows of one register tile for k centroids: callers that split rows into pieces
  /// waste the least padding with multiples of it.
  static constexpr std::size_t group_rows(std::size_t k, bool inner_product = false) noexcept {
    return (k <= direct_max_k && !inner_product) ? 1 : k <= W ? Shape::MR1 : Shape::MR2;
  }

  /// Rows assign() packs at a time for k centroids of d features: a whole number of
  /// tiles whose packed copy stays within 3/4 of the L2 cache.
  static std::size_t block_rows(std::size_t k, std::size_t d, bool inner_product = false) noexcept {
    const std::size_t mr = group_rows(k, inner_product);
    const std::size_t bytes_per_row = std::max<std::size_t>(1, round_up(d, JB) * sizeof(T));
    const std::size_t rows = std::max<std::size_t>(mr, l2_cache_bytes() / 4 * 3 / bytes_per_row);
    return std::min<std::size_t>(round_up(512, mr), rows / mr * mr);
  }

  /// labels[i - begin] = index of the nearest centroid of X row i, for i in [begin, end).
  /// If `dist` is not null and the kernel computes exact squared distances on the way
  /// (few centroids), it stores them in dist[i - begin] and returns true.
  bool assign(MatrixView<const T> X, std::size_t begin, std::size_t end, std::int32_t* labels, Workspace& ws,
              T* dist = nullptr) const {
    RangeRows src{begin};
    if (exact_now()) {
      assign_direct(X, src, end - begin, labels, dist, nullptr, ws);
      return dist != nullptr;
    }
    assign_tiled(X, src, end - begin, labels, nullptr, ws);
    return false;
  }

  /// As assign(), for the rows listed in rows[0..count): labels[r] is row rows[r]'s
  /// nearest centroid and second[r] a lower bound of its squared distance to every other
  /// centroid (+inf when k = 1); if `best` is not null, best[r] is an upper bound of the
  /// squared distance to its own centroid.
  void assign_rows(MatrixView<const T> X, const std::size_t* rows, std::size_t count, std::int32_t* labels,
                   double* second, Workspace& ws, double* best = nullptr) const {
    ListRows src{rows};
    if (exact_now())
      assign_direct(X, src, count, labels, nullptr, second, ws, best);
    else
      assign_tiled(X, src, count, labels, second, ws, best);
  }

  /// For the listed rows, out[r * ld + j] = |c_j - m|^2 - 2 (x - m).(c_j - m) for j < k,
  /// norm2[r] = |x - m|^2 and err[r] a bound on the absolute error of each out value, so
  /// that norm2 + out - err <= |x - c_j|^2 <= norm2 + out + err. (Direct mode: out holds
  /// canonical squared distances and norm2 = 0.) ld >= padded_clusters().
  void scores(MatrixView<const T> X, const std::size_t* rows, std::size_t count, T* out, std::size_t ld,
              double* norm2, double* err, Workspace& ws) const {
    if (exact_now()) {
      const double eta = err_scale_;
      for (std::size_t r = 0; r < count; ++r) {
        const T* x = X.row(rows[r]);
        double worst = 0;
        for (std::size_t j = 0; j < k_; ++j) {
          out[r * ld + j] = squared_distance<Arch>(x, centroids_.row(j), d_);
          worst = std::max(worst, static_cast<double>(out[r * ld + j]));
        }
        norm2[r] = 0;
        err[r] = eta * worst;
      }
      return;
    }
    const std::size_t mr = mr_;
    const std::size_t block = block_rows(k_, d_, inner_);
    for (std::size_t b = 0; b < count; b += block) {
      const std::size_t n = std::min(count, b + block) - b;
      const std::size_t rows_padded = round_up(n, mr);
      prepare(ws, block);
      pack(X, ListRows{rows + b}, n, rows_padded, ws.rows.data(), ws.row_norm2.data(), false);
      ws.emitted.resize(rows_padded * k_pad_);
      if (mr == Shape::MR1)
        run_block<Shape::MR1, true>(rows_padded, ws, ws.emitted.data(), k_pad_);
      else
        run_block<Shape::MR2, true>(rows_padded, ws, ws.emitted.data(), k_pad_);
      for (std::size_t r = 0; r < n; ++r) {
        std::copy_n(ws.emitted.data() + r * k_pad_, k_, out + (b + r) * ld);
        norm2[b + r] = ws.row_norm2[r];
        err[b + r] = row_error(ws.row_norm2[r]);
      }
    }
  }

  /// The label of a row from its row of scores() (out, norm2, err): the same decision as
  /// assign() (lowest score, canonical distances when too close to call). `second`, if
  /// not null, receives a lower bound of the squared distance to every other centroid.
  std::size_t label_from_scores(const T* x, const T* scores_row, double norm2, double err, Workspace& ws,
                                double* second = nullptr) const {
    std::size_t best = 0;
    for (std::size_t j = 1; j < k_; ++j)
      if (scores_row[j] < scores_row[best]) best = j;
    double runner_up = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < k_; ++j)
      if (j != best) runner_up = std::min(runner_up, static_cast<double>(scores_row[j]));
    const double top = static_cast<double>(scores_row[best]);
    if (exact_now()) {  // canonical scores (norm2 = 0)
      if (!(runner_up - top > 2 * err)) return canonical_argmin(x, ws, second);
    } else if (const double window = 2 * tie_scale_ * row_scale2(norm2); !(runner_up - top > window)) {
      // As settle() and recheck(): only the centroids within 2 tie of the best score
      // can be nearest canonically; their canonical distances decide.
      const double others = list_candidates(scores_row, top + window, ws);
      return ws.candidates[nearest_candidate(x, ws, std::max(0.0, norm2 + others - err), second)];
    }
    if (second) *second = std::max(0.0, norm2 + runner_up - err);
    return best;
  }

  /// The canonical distance error allowance used for k-independent bounds: canonical
  /// squared distances are within a factor (1 +- relative_error()) of the exact ones.
  double relative_error() const noexcept { return err_scale_; }

  /// Centroids in the packed layout (>= k): the stride scores() needs at least.
  std::size_t padded_clusters() const noexcept { return std::max(k_pad_, k_); }

 private:
  struct Panel {
    std::size_t first;    // first centroid
    std::size_t vectors;  // P: 1 or 2 SIMD vectors of centroids
    std::size_t offset;   // centroid slot of its first column (a multiple of W)
  };
  struct RangeRows {
    std::size_t first;
    std::size_t operator()(std::size_t r) const noexcept { return first + r; }
  };
  struct ListRows {
    const std::size_t* rows;
    std::size_t operator()(std::size_t r) const noexcept { return rows[r]; }
  };

  void add_panel(std::size_t& first, std::size_t vectors, std::size_t& offset) {
    panels_.push_back({first, vectors, offset});
    first += vectors * W;
    offset += vectors * W;
  }

  void prepare(Workspace& ws, std::size_t block) const {
    ws.rows.resize(block * d_pad_);
    ws.best_score.resize(block * W);
    ws.second_score.resize(block * W);
    ws.best_slot.resize(block * W);
    ws.row_norm2.resize(block);
  }

  // S = (|x - m| + max |c - m|)^2 for a row with |x - m|^2 = norm2: err_scale_ S bounds the
  // error of one of its scores, tie_scale_ S how far norm2 + a score lies from the
  // canonical distance (see the header).
  double row_scale2(double norm2) const noexcept {
    const double scale = std::sqrt(norm2) + cmax_;
    return scale * scale;
  }
  double row_error(double norm2) const noexcept { return err_scale_ * row_scale2(norm2); }

  template <class Src>
  void assign_tiled(MatrixView<const T> X, Src src, std::size_t count, std::int32_t* labels, double* second,
                    Workspace& ws, double* best = nullptr) const {
    if (lanes_) return assign_lanes(X, src, count, labels, second, ws, best);
    const std::size_t mr = mr_;
    const std::size_t block = block_rows(k_, d_, inner_);
    prepare(ws, block);
    for (std::size_t b = 0; b < count; b += block) {
      const std::size_t n = std::min(count, b + block) - b;
      const std::size_t rows_padded = round_up(n, mr);
      const auto sub = [&](std::size_t r) { return src(b + r); };
      pack(X, sub, n, rows_padded, ws.rows.data(), ws.row_norm2.data(), false);
      std::fill_n(ws.best_score.data(), rows_padded * W, std::numeric_limits<T>::infinity());
      std::fill_n(ws.second_score.data(), rows_padded * W, std::numeric_limits<T>::infinity());
      std::fill_n(ws.best_slot.data(), rows_padded * W, T(0));
      if (mr == Shape::MR1)
        run_block<Shape::MR1, false>(rows_padded, ws, nullptr, 0);
      else
        run_block<Shape::MR2, false>(rows_padded, ws, nullptr, 0);
      finish_labels(X, sub, n, ws, labels + b, second ? second + b : nullptr, best ? best + b : nullptr);
    }
  }

  // The lane path (few centroids, see the header): rows W at a time, one per lane, meet
  // the centroids G at a time; each lane keeps its row's lowest score, its index and the
  // runner-up, so no row needs a reduction across lanes.
  template <class Src>
  void assign_lanes(MatrixView<const T> X, Src src, std::size_t count, std::int32_t* labels, double* second,
                    Workspace& ws, double* best) const {
    const std::size_t block = round_up(block_rows(k_, d_, inner_), W);
    prepare(ws, block);
    ws.cols.resize(block * d_pad_);
    for (std::size_t b = 0; b < count; b += block) {
      const std::size_t n = std::min(count, b + block) - b;
      const std::size_t rows_padded = round_up(n, W);
      const auto sub = [&](std::size_t r) { return src(b + r); };
      pack(X, sub, n, rows_padded, ws.cols.data(), ws.row_norm2.data(), true);
      for (std::size_t g = 0; g < rows_padded; g += W)
        lane_tile(ws.cols.data() + g * d_pad_, ws.best_score.data() + g, ws.second_score.data() + g,
                  ws.best_slot.data() + g);
      for (std::size_t r = 0; r < n; ++r)
        settle(X, sub, r, ws.best_score[r], ws.second_score[r], ws.best_slot[r], ws, labels + b,
               second ? second + b : nullptr, best ? best + b : nullptr);
    }
  }

  // W packed rows (pack, lane layout) against every centroid: per lane, the lowest score, its
  // centroid's index (k if none scored below +inf) and the lowest other score. Each
  // score is score_tile's: the same multiply-adds in the same order, so the same bits.
  void lane_tile(const T* cols, T* best_score, T* second_score, T* best_slot) const {
    using V = simd<T, Arch>;
    // G centroids at a time, G | W so that a group lies in one panel (panels are W or 2W
    // centroids wide): G independent chains of multiply-adds, one row vector load each.
    constexpr std::size_t G = W < 8 ? W : 8;
    const V minus_two(T(-2));
    V bs(std::numeric_limits<T>::infinity()), b2 = bs, bi(static_cast<T>(k_));
    const std::size_t groups_end = round_up(k_, G);  // padding centroids score +inf
    for (std::size_t c0 = 0; c0 < groups_end; c0 += G) {
      const Panel& pn = panels_[c0 / (2 * W)];
      const std::size_t nr = pn.vectors * W;
      const T* base = packed_.data() + pn.offset * d_pad_ + (c0 - pn.offset);
      V acc[G];
      LLOYD_UNROLL
      for (std::size_t g = 0; g < G; ++g) acc[g] = V(T(0));
      for (std::size_t j = 0; j < d_; ++j) {  // the padding features add exact zeros
        const V x = V::load_aligned(cols + j * W);
        const T* c = base + j * nr;
        LLOYD_UNROLL
        for (std::size_t g = 0; g < G; ++g) acc[g] = xsimd::fma(x, V(c[g]), acc[g]);
      }
      LLOYD_UNROLL
      for (std::size_t g = 0; g < G; ++g) {
        const V score = xsimd::fma(acc[g], minus_two, V(norms_[c0 + g]));
        const auto better = score < bs;  // strict: the lower index keeps ties
        b2 = xsimd::select(better, bs, xsimd::select(score < b2, score, b2));
        bs = xsimd::select(better, score, bs);
        bi = xsimd::select(better, V(static_cast<T>(c0 + g)), bi);
      }
    }
    bs.store_unaligned(best_score);
    b2.store_unaligned(second_score);
    bi.store_unaligned(best_slot);
  }

  // G centroids against R rows at a time: R * G accumulators fill about half the
  // register file, and every centroid vector loaded serves R rows.
  template <std::size_t G, class Src>
  void assign_direct_rows(MatrixView<const T> X, Src src, std::size_t count, std::int32_t* labels, T* dist,
                          double* second, double* best_out) const {
    constexpr std::size_t acc_budget = Shape::wide_file ? 16 : 8;
    constexpr std::size_t R = G >= acc_budget ? 1 : (acc_budget / G > 4 ? 4 : acc_budget / G);
    const T* cs[G];
    for (std::size_t c = 0; c < G; ++c) cs[c] = centroids_.row(c);
    T dc[R * G];
    const T* xs[R];
    std::size_t r0 = 0;
    auto finish = [&](std::size_t rows) {
      for (std::size_t r = 0; r < rows; ++r) {
        const T* dr = dc + r * G;
        std::size_t best = 0;
        for (std::size_t c = 1; c < G; ++c)
          if (dr[c] < dr[best]) best = c;
        labels[r0 + r] = static_cast<std::int32_t>(best);
        if (dist) dist[r0 + r] = dr[best];
        if (best_out) best_out[r0 + r] = static_cast<double>(dr[best]) * (1 + err_scale_);
        if (second) {
          double s = std::numeric_limits<double>::infinity();
          for (std::size_t c = 0; c < G; ++c)
            if (c != best) s = std::min(s, static_cast<double>(dr[c]));
          second[r0 + r] = s * (1 - err_scale_);
        }
      }
    };
    for (; r0 + R <= count; r0 += R) {
      for (std::size_t r = 0; r < R; ++r) xs[r] = X.row(src(r0 + r));
      squared_distances_block<R, G, Arch>(xs, cs, d_, dc);
      finish(R);
    }
    for (; r0 < count; ++r0) {
      xs[0] = X.row(src(r0));
      squared_distances_block<1, G, Arch>(xs, cs, d_, dc);
      finish(1);
    }
  }

  template <class Src>
  void assign_direct(MatrixView<const T> X, Src src, std::size_t count, std::int32_t* labels, T* dist, double* second,
                     Workspace&, double* best = nullptr) const {
    switch (k_) {
      case 1: return assign_direct_rows<1>(X, src, count, labels, dist, second, best);
      case 2: return assign_direct_rows<2>(X, src, count, labels, dist, second, best);
      case 3: return assign_direct_rows<3>(X, src, count, labels, dist, second, best);
      case 4: return assign_direct_rows<4>(X, src, count, labels, dist, second, best);
      case 5: return assign_direct_rows<5>(X, src, count, labels, dist, second, best);
      case 6: return assign_direct_rows<6>(X, src, count, labels, dist, second, best);
      case 7: return assign_direct_rows<7>(X, src, count, labels, dist, second, best);
      default: return assign_direct_rows<8>(X, src, count, labels, dist, second, best);
    }
  }

  // Rows src(0..n) of X, centred, into the block at out: in groups of mr rows, for each
  // step of JB features the JB values of each row of the group side by side (the panel
  // tiles); or, for the lane path (lanes), W rows at a time one per SIMD lane, group
  // g = r / W holding feature j of its rows at out[g W d_pad + j W + r % W] (row_place).
  // Padding rows and features are 0. norm2[r] = |x_r - shift|^2.
  template <class Src>
  void pack(MatrixView<const T> X, Src src, std::size_t n, std::size_t rows_padded, T* out, double* norm2,
            bool lanes) const {
    for (std::size_t r = 0; r < rows_padded; ++r) {
      const RowPlace place = row_place(r, lanes);
      centre_row(X, src, n, r, out + place.offset, place.step, place.lane, norm2);
    }
  }

  // Where packed row r of a block lies: feature s JB + jj at offset + s * step + jj * lane,
  // in the panel tiles' packing (groups of mr rows, JB features of each side by side) or
  // in the lane path's (groups of W rows, one per lane, feature by feature).
  struct RowPlace {
    std::size_t offset, step, lane;
  };
  RowPlace row_place(std::size_t r, bool lanes) const noexcept {
    return lanes ? RowPlace{(r / W) * W * d_pad_ + r % W, JB * W, W}
                 : RowPlace{(r / mr_) * mr_ * d_pad_ + (r % mr_) * JB, mr_ * JB, 1};
  }

  // Packs row r (src(r) of X, or zeros if r >= n) centred on the shift: feature
  // j = s JB + jj goes to dst[s * step + jj * lane]; norm2[r] = |x - shift|^2, rounded up.
  template <class Src>
  void centre_row(MatrixView<const T> X, Src src, std::size_t n, std::size_t r, T* dst, std::size_t step,
                  std::size_t lane, double* norm2) const {
    const std::size_t steps = d_pad_ / JB;
    if (r >= n) {
      for (std::size_t s = 0; s < steps; ++s)
        for (std::size_t jj = 0; jj < JB; ++jj) dst[s * step + jj * lane] = T(0);
      return;
    }
    const T* x = X.row(src(r));
    const T* m = shift_.data();
    // Listed rows are scattered in memory: start fetching the ones a few rows ahead.
    if (r + 4 < n) prefetch(X.row(src(r + 4)), d_ * sizeof(T));
    T ss[JB] = {};
    std::size_t s = 0;
    for (; (s + 1) * JB <= d_; ++s)
      for (std::size_t jj = 0; jj < JB; ++jj) {
        const T v = x[s * JB + jj] - m[s * JB + jj];
        dst[s * step + jj * lane] = v;
        ss[jj] += v * v;
      }
    if (s < steps) {
      for (std::size_t jj = 0; jj < JB; ++jj) {
        const std::size_t j = s * JB + jj;
        const T v = j < d_ ? x[j] - m[j] : T(0);
        dst[s * step + jj * lane] = v;
        ss[jj] += v * v;
      }
    }
    double total = 0;
    for (std::size_t jj = 0; jj < JB; ++jj) total += static_cast<double>(ss[jj]);
    // ss was summed in T: allow for its rounding (it only scales the error bound).
    norm2[r] = total * (1 + static_cast<double>(d_ + 4) * static_cast<double>(std::numeric_limits<T>::epsilon()));
  }

  template <std::size_t MR, bool Emit>
  void run_block(std::size_t rows_padded, Workspace& ws, T* out, std::size_t ld) const {
    const std::size_t steps = d_pad_ / JB;
    // Centroid panels in L2-sized groups, each swept by every MR-row group of the block.
    const std::size_t panel_budget = l2_cache_bytes() / 16 * 3;
    for (std::size_t p0 = 0; p0 < panels_.size();) {
      std::size_t p1 = p0, bytes = 0;
      do {
        bytes += panels_[p1].vectors * W * d_pad_ * sizeof(T);
        ++p1;
      } while (p1 < panels_.size() && bytes + panels_[p1].vectors * W * d_pad_ * sizeof(T) <= panel_budget);
      for (std::size_t g = 0; g < rows_padded; g += MR) {
        const T* rows = ws.rows.data() + g * d_pad_;
        T* bs = Emit ? nullptr : ws.best_score.data() + g * W;
        T* b2 = Emit ? nullptr : ws.second_score.data() + g * W;
        T* bi = Emit ? nullptr : ws.best_slot.data() + g * W;
        for (std::size_t q = p0; q < p1; ++q) {
          const Panel& pn = panels_[q];
          const T* panel = packed_.data() + pn.offset * d_pad_;
          const T* norms = norms_.data() + pn.offset;
          const T slot = static_cast<T>(pn.offset / W);
          T* o = Emit ? out + g * ld + pn.offset : nullptr;
          if (pn.vectors == 2)
            score_tile<T, Arch, MR, 2, Emit>(rows, panel, norms, steps, slot, bs, b2, bi, o, ld);
          else
            score_tile<T, Arch, MR, 1, Emit>(rows, panel, norms, steps, slot, bs, b2, bi, o, ld);
        }
      }
      p0 = p1;
    }
  }

  // Per row: the lane with the lowest score (equal scores: lowest index) and the
  // runner-up; settle() decides.
  template <class Src>
  void finish_labels(MatrixView<const T> X, Src src, std::size_t n_rows, Workspace& ws, std::int32_t* labels,
                     double* second, double* best_out = nullptr) const {
    using V = simd<T, Arch>;
    alignas(64) T iota[W];
    for (std::size_t lane = 0; lane < W; ++lane) iota[lane] = static_cast<T>(lane);
    const V lane_index = V::load_aligned(iota);
    const V inf(std::numeric_limits<T>::infinity());
    const V width(static_cast<T>(W));
    for (std::size_t r = 0; r < n_rows; ++r) {
      const V bs = V::load_aligned(ws.best_score.data() + r * W);
      const V b2 = V::load_aligned(ws.second_score.data() + r * W);
      const V idx = xsimd::fma(V::load_aligned(ws.best_slot.data() + r * W), width, lane_index);
      // Lowest score; among equal lowest scores, the lowest index. The runner-up is the
      // best of the other lanes' minima and of every lane's runner-up.
      const T best = reduce_min(bs);
      const T label_t = reduce_min(xsimd::select(bs == V(best), idx, inf));
      const T runner_up = std::min(reduce_min(b2), reduce_min(xsimd::select(idx == V(label_t), inf, bs)));
      settle(X, src, r, best, runner_up, label_t, ws, labels, second, best_out);
    }
  }

  // Row r's label from its lowest score `best`, that centroid's index label_t (k or more,
  // or not a number, when the scores were not finite) and the lowest other score: the
  // best-scoring centroid where the gap tells, else the canonical distances decide.
  template <class Src>
  void settle(MatrixView<const T> X, Src src, std::size_t r, T best, T runner_up, T label_t, Workspace& ws,
              std::int32_t* labels, double* second, double* best_out) const {
    const double scale2 = row_scale2(ws.row_norm2[r]);
    const double err = err_scale_ * scale2;
    const double gap = static_cast<double>(runner_up) - static_cast<double>(best);
    if (!(label_t < static_cast<T>(k_))) {
      // Scores not finite: canonical distances to every centroid decide.
      const std::size_t chosen = canonical_argmin(X.row(src(r)), ws, second ? second + r : nullptr);
      labels[r] = static_cast<std::int32_t>(chosen);
      if (best_out) best_out[r] = static_cast<double>(ws.canonical[chosen]) * (1 + err_scale_);
      return;
    }
    const double tie = tie_scale_ * scale2;
    if (!(gap > 2 * tie)) {  // too close to call from the scores
      labels[r] = static_cast<std::int32_t>(recheck(X.row(src(r)), r, static_cast<double>(best), tie, err, ws,
                                                    second ? second + r : nullptr, best_out ? best_out + r : nullptr));
      return;
    }
    labels[r] = static_cast<std::int32_t>(label_t);
    if (second) second[r] = std::max(0.0, ws.row_norm2[r] + static_cast<double>(runner_up) - err);
    if (best_out) best_out[r] = ws.row_norm2[r] + static_cast<double>(best) + err;
  }

  // The label of packed row r of the block whose best two scores are too close to call.
  // Every centroid whose score is more than 2 tie above the best is farther, canonically,
  // than the best-scoring one (each canonical distance lies within tie of norm2 + its
  // score), so only the centroids within 2 tie of the best need canonical distances:
  // usually two or three, where a full re-check would compute all k. The tile left each
  // lane's lowest score, its index and the lane's runner-up: where no lane's runner-up is
  // within the window, the candidates are the lanes' minima within it. Otherwise a lane
  // may hold several, and the row's scores are recomputed from the packed operands in the
  // tile's order (the same bits) to list them; so too after the lane path (lanes_),
  // which keeps no per-lane summaries.
  std::size_t recheck(const T* x, std::size_t r, double best, double tie, double err, Workspace& ws,
                      double* second, double* best_out) const {
    const double norm2 = ws.row_norm2[r];
    const double limit = best + 2 * tie;
    const T* lane_best = ws.best_score.data() + r * W;
    const T* lane_second = ws.second_score.data() + r * W;
    const T* lane_slot = ws.best_slot.data() + r * W;
    double others = std::numeric_limits<double>::infinity();  // lowest score of a non-candidate
    ws.candidates.clear();
    bool from_lanes = !lanes_;
    for (std::size_t lane = 0; lane < W && from_lanes; ++lane) {
      const double b2 = static_cast<double>(lane_second[lane]), b1 = static_cast<double>(lane_best[lane]);
      from_lanes = !(b2 <= limit);
      others = std::min(others, b2);
      if (b1 <= limit)
        ws.candidates.push_back(static_cast<std::size_t>(lane_slot[lane]) * W + lane);
      else
        others = std::min(others, b1);
    }
    if (from_lanes) {
      std::sort(ws.candidates.begin(), ws.candidates.end());
    } else {
      others = list_candidates(row_scores(ws, r), limit, ws);
    }
    const std::size_t chosen = nearest_candidate(x, ws, std::max(0.0, norm2 + others - err), second);
    if (best_out) *best_out = static_cast<double>(ws.canonical[chosen]) * (1 + err_scale_);
    return ws.candidates[chosen];
  }

  // The centroids whose score (of one row's k) is at most limit into ws.candidates, in
  // index order; returns the lowest score of the others (+inf if none).
  double list_candidates(const T* scores, double limit, Workspace& ws) const {
    double others = std::numeric_limits<double>::infinity();
    ws.candidates.clear();
    for (std::size_t j = 0; j < k_; ++j) {
      if (static_cast<double>(scores[j]) <= limit)
        ws.candidates.push_back(j);
      else
        others = std::min(others, static_cast<double>(scores[j]));
    }
    return others;
  }

  // Every score |c|^2 - 2 x.c of packed row r of the block, with the multiply-adds of
  // score_tile in the same order (the same bits). Each SIMD vector of centroids is one
  // chain of multiply-adds over the features; G panels run side by side so that the row
  // costs the throughput of its multiply-adds, not their latency.
  T* row_scores(Workspace& ws, std::size_t r) const {
    ws.row_scores.resize(k_pad_);
    const RowPlace place = row_place(r, lanes_);
    const PackedRow row{(lanes_ ? ws.cols.data() : ws.rows.data()) + place.offset, place.step, place.lane};
    constexpr std::size_t G = 4;
    std::size_t q = 0;
    // Panels are laid out one after the other, 2 vectors wide but for the last one.
    for (; q + G <= panels_.size() && panels_[q + G - 1].vectors == 2; q += G) score_panels<G, 2>(row, q, ws);
    for (; q < panels_.size(); ++q) {
      if (panels_[q].vectors == 2)
        score_panels<1, 2>(row, q, ws);
      else
        score_panels<1, 1>(row, q, ws);
    }
    return ws.row_scores.data();
  }

  struct PackedRow {
    const T* values;
    std::size_t step, lane;
  };

  template <std::size_t G, std::size_t P>
  void score_panels(PackedRow row, std::size_t first_panel, Workspace& ws) const {
    using V = simd<T, Arch>;
    const std::size_t offset = panels_[first_panel].offset;
    const T* base = packed_.data() + offset * d_pad_;
    const std::size_t panel_size = P * W * d_pad_;  // panels of P vectors follow each other
    V acc[G][P];
    for (std::size_t g = 0; g < G; ++g)
      for (std::size_t p = 0; p < P; ++p) acc[g][p] = V(T(0));
    const std::size_t steps = d_pad_ / JB;
    for (std::size_t s = 0; s < steps; ++s)
      for (std::size_t jj = 0; jj < JB; ++jj) {
        const V av(row.values[s * row.step + jj * row.lane]);
        const T* b = base + (s * JB + jj) * P * W;
        for (std::size_t g = 0; g < G; ++g)
          for (std::size_t p = 0; p < P; ++p)
            acc[g][p] = xsimd::fma(av, V::load_aligned(b + g * panel_size + p * W), acc[g][p]);
      }
    const V minus_two(T(-2));
    for (std::size_t g = 0; g < G; ++g)
      for (std::size_t p = 0; p < P; ++p) {
        const std::size_t slot = offset + (g * P + p) * W;
        xsimd::fma(acc[g][p], minus_two, V::load_aligned(norms_.data() + slot)).store_aligned(ws.row_scores.data() + slot);
      }
  }

  // Nearest centroid by canonical distance (lowest index on equality); optionally a lower
  // bound of the squared distance to the others. ws.canonical[j] holds centroid j's.
  std::size_t canonical_argmin(const T* x, Workspace& ws, double* second) const {
    ws.candidates.resize(k_);
    for (std::size_t j = 0; j < k_; ++j) ws.candidates[j] = j;
    return nearest_candidate(x, ws, std::numeric_limits<double>::infinity(), second);
  }

  // The position in ws.candidates (centroid indices, increasing) of the nearest of them by
  // canonical loss, the first on equality, so the lowest index; ws.canonical[q] receives
  // candidate q's loss. second, if not null: a lower bound of the squared distance to
  // every other centroid, from the other candidates' losses and `others` (a bound for the
  // centroids not listed).
  std::size_t nearest_candidate(const T* x, Workspace& ws, double others, double* second) const {
    const std::size_t m = ws.candidates.size();
    ws.canonical.resize(m);
    T* dist = ws.canonical.data();
    const std::size_t* cand = ws.candidates.data();
    if (inner_) {
      for (std::size_t q = 0; q < m; ++q) dist[q] = -dot_product<Arch>(x, centroids_.row(cand[q]), d_);
    } else {
      squared_distances_listed<Arch>(
          x, d_, m, [&](std::size_t q) { return centroids_.row(cand[q]); }, [&](std::size_t q, T c2) { dist[q] = c2; });
    }
    std::size_t chosen = 0;
    for (std::size_t q = 1; q < m; ++q)
      if (dist[q] < dist[chosen]) chosen = q;
    if (second) {
      double s = others;
      for (std::size_t q = 0; q < m; ++q)
        if (q != chosen) s = std::min(s, static_cast<double>(dist[q]) * (1 - err_scale_));
      *second = s;
    }
    return chosen;
  }

  std::size_t d_ = 0;
  std::size_t d_pad_ = 0;
  std::size_t k_ = 0;
  std::size_t k_pad_ = 0;
  std::size_t mr_ = Shape::MR2;
  bool inner_ = false;
  bool lanes_ = false;
  Tiling tiling_ = Tiling::Auto;
  double err_scale_ = 0;
  double tie_scale_ = 0;
  double cmax_ = 0;
  aligned_vector<T> shift_;
  std::vector<Panel> panels_;
  aligned_vector<T> packed_;
  aligned_vector<T> norms_;
  Matrix<T> centroids_;  // as given: the canonical distances and the direct mode use them
};

}  // namespace detail
}  // namespace lloyd
