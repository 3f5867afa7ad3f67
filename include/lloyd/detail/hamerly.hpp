// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Hamerly's algorithm (G. Hamerly, "Making k-means even faster", SDM 2010): per row an
// upper bound u on the distance to its centroid and one lower bound l on the distance
// to every other centroid. A row is skipped while u < max(l, s(a)), s(a) being half the
// distance from its centroid a to the nearest other centroid; otherwise u is tightened
// and, if that is not enough, the row is re-assigned against all centroids. Rows that
// need that are gathered per task and go through the tiled kernel together.
//
// Exponion (J. Newling and F. Fleuret, "Fast k-means with accurate bounds", ICML 2016)
// keeps the same two bounds and differs only for a row that fails them after u is
// tightened: instead of all centroids it searches the ball around its centroid a that
// holds every centroid that can be the row's nearest or second nearest (centre
// distance at most 2 u + 2 s(a)), rounded up to an "annulus": each centroid's others
// are kept partitioned by their distance from it into prefixes of 1, 2, 4, 8, ...
// nearest (linear time per centroid, no full sort), built for a centroid only when a
// row of it needs a search in that pass. Every centroid j outside the
// searched prefix is at least r - u from the row, r being the prefix's outer radius, so
// the search ends with an exact label and a new lower bound min(second nearest found,
// r - u). Large balls (a quarter of the centroids or more) go through the kernel
// instead, with the task's other such rows.
//
// Elkan (C. Elkan, "Using the triangle inequality to accelerate k-means", ICML 2003)
// keeps, besides the same two bounds, one lower bound per centroid (n x k floats), read
// only by a row that fails the two after u is tightened: such a row computes the
// distances to the centroids j whose own bound, and half the distance between j and its
// centroid, do not clear u (Newling and Fleuret's "selk-ns" in effect). Rows that pass
// never touch their k bounds, so Elkan costs what Hamerly costs plus, per failed row, a
// pass over k floats instead of the kernel's k distances; a row with a quarter of the
// centroids or more left to check goes through the kernel instead, and comes back with
// its k bounds set from its scores there (as Elkan's full pass sets them; when they
// restarted from the row's one lower bound l instead, it had too many candidates again
// the next time: Fashion-MNIST, k = 100, computed 10 times the distances).
//
// All three decay their bounds as Newling and Fleuret's "ns" variants do: a row's bounds stay
// as they were last set, with the pass they refer to, and are compared after adding the
// distance its centroid moved since that pass (and subtracting the largest such
// distance of the others): the norm of the summed moves, not the sum of each pass's
// move, which is much tighter over many passes of small, steady moves. The centroids of
// the last few passes are kept for that (a ring of snapshots, at most 16 MiB or two
// copies of the centroids); a row whose pass is about to leave the ring has its bounds
// brought forward.
//
// Bounds are kept on exact distances with outward rounding and compared with the margin
// of BoundMath, so the labels are exactly those of Lloyd's full pass; a ball search
// keeps its answer only when BoundMath proves every centroid outside the ball loses.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <limits>
#include <type_traits>
#include <vector>

#include "bounded.hpp"  // and through it the kernel, the bound arithmetic, the partitions

namespace lloyd {
namespace detail {

/// What a row does when its two bounds fail even after u is made exact: all centroids
/// through the kernel (Hamerly), a ball of centroids around its own (Exponion), or the
/// centroids its per-centroid bounds cannot exclude (Elkan).
enum class OnFail { kernel, ball, per_centroid };

/// Hamerly's algorithm, Exponion or Elkan, by what a failed row does; the aliases
/// Hamerly, Exponion and Elkan below name them.
template <class T, class Arch, OnFail Mode>
class HamerlyBounds : public BoundedAssigner<HamerlyBounds<T, Arch, Mode>, T, Arch> {
  using Base = BoundedAssigner<HamerlyBounds<T, Arch, Mode>, T, Arch>;
  static constexpr bool Annular = Mode == OnFail::ball;
  static constexpr bool PerCentroid = Mode == OnFail::per_centroid;
  friend Base;
  using typename Base::Tally;

 public:
  /// Elkan searches per-centroid bounds for rows of elkan_min_row_bytes or more; below,
  /// it runs Hamerly's path and keeps none.
  static constexpr bool searches_bounds(std::size_t d) noexcept {
    return PerCentroid && d * sizeof(T) >= elkan_min_row_bytes;
  }

  /// Bytes of bounds kept for n rows, k centroids and d columns (Exponion: also its
  /// k x k neighbour lists; Elkan searching: its n x k bounds and k x k half distances).
  static std::size_t memory_bytes(std::size_t n, std::size_t k, std::size_t d) noexcept {
    return n * (2 * sizeof(double) + sizeof(std::uint8_t)) + (Annular ? k * k * sizeof(Neighbour) : 0) +
           (searches_bounds(d) ? (n + k) * k * sizeof(float) : 0);
  }

  /// Centroid snapshots kept for the "ns" bounds: as many as fit in snapshot_bytes, 2 to 32.
  static std::size_t snapshots(std::size_t k, std::size_t d) noexcept {
    return std::max<std::size_t>(2, std::min<std::size_t>(32, snapshot_bytes / (k * d * sizeof(T) + 1)));
  }
  /// 16 MiB; tests lower it (before a fit) so that bounds leave the ring at small k d.
  static inline std::size_t snapshot_bytes = std::size_t(16) << 20;

  HamerlyBounds(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : Base(P, k, pool, partition::hamerly_tasks(P.n)),
        lower_(P.n),
        slot_(P.n),
        ring_(snapshots(k, P.d)),
        history_(ring_ * k * P.d),
        slot_pass_(ring_, 0),
        moved_by_(ring_ * k, 0.0),
        others_moved_(ring_ * k, 0.0),
        expiring_(ring_, 0),
        failed_(pool.size()),
        searches_bounds_(searches_bounds(P.d)) {
    if (searches_bounds_) {  // left uninitialised: a row's bounds are written before read
      each_.reset(new float[P.n * k]);
      each_slot_.assign(P.n, no_slot);
      moved_f_.assign(ring_ * k, 0.0f);
      candidates_.resize(pool.size());
    }
    if (Annular) {
      for (std::size_t len = 1; len < k - 1; len *= 2) prefix_.push_back(len);
      prefix_.push_back(k > 0 ? k - 1 : 0);  // the last "annulus": all others, radius +inf
      neighbours_.resize(k * (k > 0 ? k - 1 : 0));
      radius_.resize(k * prefix_.size());
      built_ = std::make_unique<std::atomic<std::size_t>[]>(k);
      build_lock_ = std::make_unique<std::mutex[]>(k);
      quarter_radius_.assign(k, std::numeric_limits<float>::infinity());
      for (std::size_t a = 0; a < k; ++a) {
        built_[a].store(0, std::memory_order_relaxed);
        Neighbour* nb = neighbours_.data() + a * (k - 1);
        for (std::size_t j = 0, q = 0; j < k; ++j)
          if (j != a) nb[q++].index = static_cast<std::uint32_t>(j);
      }
    }
  }

 private:
  using Base::k_;
  using Base::math_;
  using Base::upper_;

  // Another centroid as seen from one: a lower bound of half their distance, and which.
  struct Neighbour {
    float half;
    std::uint32_t index;
  };

  static constexpr bool rebuild_sets_distances = false;
  static constexpr bool sums_shifts = false;  // moves are measured from the snapshots

  // A full pass when there are no bounds yet, and for a few passes after a bounded pass
  // that recomputed most rows anyway (checking and tightening bounds would only add to a
  // full pass then); the pause doubles while that keeps happening. All but the last
  // pass of a pause are Lloyd's (defer_bounds()), which gathers the update's sums.
  bool prepare(MatrixView<const T> C) {
    if (!this->bounds_valid() || this->moved()) new_snapshot(C);
    const bool full = !this->bounds_valid();
    if (!full) centroid_separation<T>(this->kernel_, C, this->pool_, searches_bounds_ ? &half_ : nullptr, sep_);
    if constexpr (Annular) {
      // The pass decides from the estimates as they stand now, not as searches of this
      // pass update them (that would depend on the threads' timing).
      quarter_at_start_ = quarter_radius_;
    }
    return full;
  }

  // Centroid a's annuli for this pass's centroids C, built by the first search that needs
  // them (a pass with few failed rows sorts few centroids' neighbours): the others in
  // prefixes of prefix_[p] nearest by a lower bound of half their distance to a, and the
  // smallest such half-distance beyond each prefix, radius_[a * levels + p]. The list
  // starts from a's previous order, nearly partitioned already (centroids move little);
  // nth_element from the largest prefix down leaves position prefix_[p] holding the
  // smallest of the rest, and the later calls permute only the front. What is built
  // depends only on C and a's previous list, never on which thread builds it.
  const Neighbour* annuli(MatrixView<const T> C, std::size_t a) {
    const std::size_t k = k_, levels = prefix_.size(), d = this->P_.d;
    Neighbour* nb = neighbours_.data() + a * (k - 1);
    if (built_[a].load(std::memory_order_acquire) == pass_) return nb;
    std::lock_guard<std::mutex> hold(build_lock_[a]);
    if (built_[a].load(std::memory_order_relaxed) == pass_) return nb;
    squared_distances_listed<Arch>(
        C.row(a), d, k - 1, [&](std::size_t q) { return C.row(nb[q].index); },
        [&](std::size_t q, T c2) { nb[q].half = half_bound(c2); });
    const auto closer = [](const Neighbour& x, const Neighbour& y) { return x.half < y.half; };
    float* rad = radius_.data() + a * levels;
    rad[levels - 1] = std::numeric_limits<float>::infinity();
    for (std::size_t p = levels - 1; p-- > 0;) {
      std::nth_element(nb, nb + prefix_[p], nb + prefix_[p + 1], closer);
      rad[p] = nb[prefix_[p]].half;
    }
    // The radius beyond which a search would reach a quarter of the centroids.
    float quarter = 0.0f;
    for (std::size_t p = 0; p < levels && 4 * prefix_[p] <= k; ++p) quarter = rad[p];
    quarter_radius_[a] = quarter;  // element a: written only under a's lock, read between passes
    built_[a].store(pass_, std::memory_order_release);
    return nb;
  }

  // A lower bound of half the exact distance between two centroids, from their canonical
  // squared distance, as a float rounded down.
  float half_bound(T c2) const noexcept { return lower_as_float(0.5 * math_.lower(static_cast<double>(c2))); }

  void pass_done(bool full, std::size_t queued, std::size_t evals) {
    // Hamerly and Exponion pause their bounds after a bounded pass that sent over half
    // the rows to the kernel. Elkan searching its bounds queues few rows, but its searches
    // may cost more than the kernel's pass: it pauses them after a pass that computed
    // over a quarter of a full pass's distances, the first time only if the pass before
    // did too (the first bounded pass from random rows often does, and the next ones
    // compute a few percent: uniform noise, d = 784, k = 1000).
    if (full) return;
    bool wasted = 2 * queued > this->P_.n;
    if (searches_bounds_) {
      const bool heavy = 4 * evals > this->P_.n * k_;
      wasted = heavy && (heavy_before_ || paused_before_);
      heavy_before_ = heavy;
      paused_before_ = paused_before_ || wasted;
    }
    if (wasted) {
      this->defer_bounds(pause_);
      pause_ = std::min<std::size_t>(2 * pause_, 16);
    } else {
      pause_ = 2;
    }
  }

  // A new pass with centroids C: C goes into the ring (replacing the oldest), and for
  // every snapshot how far each centroid has moved from it to C (an upper bound) and the
  // largest such move of the other centroids: every other centroid came at most that
  // much closer to a row whose bounds refer to that snapshot.
  void new_snapshot(MatrixView<const T> C) {
    const std::size_t k = k_, d = this->P_.d;
    now_ = ++pass_ % ring_;
    slot_pass_[now_] = pass_;
    for (std::size_t c = 0; c < k; ++c) std::copy_n(C.row(c), d, history_.data() + (now_ * k + c) * d);
    this->pool_.parallel_for(ring_, [&](std::size_t s, std::size_t) {
      double* moved = moved_by_.data() + s * k;
      double* others = others_moved_.data() + s * k;
      if (s == now_ || slot_pass_[s] == 0) {
        std::fill_n(moved, k, 0.0);
        std::fill_n(others, k, 0.0);
        if (searches_bounds_) std::fill_n(moved_f_.data() + s * k, k, 0.0f);
        return;
      }
      const MatrixView<const T> old(history_.data() + s * k * d, k, d);
      const std::vector<double> p = centroid_shifts(old, C);
      double max1 = 0, max2 = 0;
      std::size_t argmax = 0;
      for (std::size_t c = 0; c < k; ++c) {
        moved[c] = p[c];
        if (p[c] > max1) {
          max2 = max1;
          max1 = p[c];
          argmax = c;
        } else if (p[c] > max2) {
          max2 = p[c];
        }
      }
      for (std::size_t c = 0; c < k; ++c) others[c] = c == argmax ? max2 : max1;
      if (searches_bounds_)
        for (std::size_t c = 0; c < k; ++c) moved_f_[s * k + c] = shift_as_float(p[c]);
    });
    for (std::size_t s = 0; s < ring_; ++s) expiring_[s] = slot_pass_[s] != 0 && pass_ - slot_pass_[s] + 1 >= ring_;
  }

  // Elkan searching its bounds: a row that goes through the kernel, in a full pass or
  // having had too many candidates, comes back with its k bounds set from its scores,
  // so that it has few candidates the next time.
  bool wants_scores() const noexcept { return searches_bounds_; }
  void rebuilt_scores(std::size_t i, std::size_t a, const T* scores, double norm2, double err) {
    using V = simd<T, Arch>;
    constexpr std::size_t W = V::size;
    constexpr bool in_double = std::is_same<T, double>::value;
    float* LLOYD_RESTRICT lb = each_.get() + i * k_;
    // sqrt(norm2 + score - err) rounded down, as a float rounded down. In double: the
    // factor 1 - 2^-22 also covers the conversion's rounding (2^-24 relative at most).
    // In float (T): norm2 - err and the sum are rounded to float too, each by at most
    // 2^-24 of |norm2 - err| + |score|, which the sum loses 2^-20 times over.
    const double base = norm2 - err;
    const T slack = in_double ? T(0) : T(0x1p-20);
    const double shrink = BoundMath::round_down_factor() * (1 - (in_double ? 0x1p-22 : 0x1p-20));
    const V vb(static_cast<T>(base)), vz(T(0)), vs(slack), vd(static_cast<T>(shrink));
    alignas(64) T out[W];
    std::size_t j = 0;
    for (; j + W <= k_; j += W) {
      const V sc = V::load_unaligned(scores + j);
      V v = vb + sc;
      if (!in_double) v = v - vs * (xsimd::abs(vb) + xsimd::abs(sc));
      v = xsimd::select(v > vz, v, vz);
      (lanes_sqrt(v) * vd).store_aligned(out);
      for (std::size_t q = 0; q < W; ++q) lb[j + q] = static_cast<float>(out[q]);
    }
    for (; j < k_; ++j)  // in double
      lb[j] = static_cast<float>(std::sqrt(std::max(0.0, base + static_cast<double>(scores[j]))) *
                                 BoundMath::round_down_factor() * (1 - 0x1p-22));
    lb[a] = std::numeric_limits<float>::infinity();
    each_slot_[i] = static_cast<std::uint8_t>(now_);
  }

  // u from the kernel's bound (exact distances only if asked for).
  void rebuilt(std::size_t worker, std::size_t i, std::size_t a, double best, double second, MatrixView<const T> C,
               T* dist, bool with_distances, Tally& tally) {
    upper_[i] = BoundMath::add_up(std::sqrt(best), 0.0);
    lower_[i] = BoundMath::lower_from_sq(second);
    slot_[i] = static_cast<std::uint8_t>(now_);
    // (Elkan searching its bounds: rebuilt_scores() sets the row's k bounds next.)
    if (with_distances) this->exact_distance(C, worker, i, a, dist, tally);
  }

  void bounded_rows(MatrixView<const T> C, std::size_t b, std::size_t e, std::size_t worker, std::int32_t* labels,
                    T* dist, bool with_distances, Tally& tally) {
    // Bounds of WD rows at a time in SIMD, from the snapshot s each refers to: u + how
    // far its centroid a moved since s, l - the largest move of the others, m = max(l,
    // s(a)); the row keeps its label iff u (1 + g) < m (1 - g). The stored bounds change
    // only when a row fails (then they refer to this pass) or its snapshot is about to
    // leave the ring. The last block is padded with rows that pass. A row that fails is
    // handled after the next chunk's tests (its row fetched meanwhile), except where Elkan
    // searches its k bounds: there failed rows wait for the end of the task's tests, in
    // order, and their bounds are fetched ahead (deferring Hamerly's that far cost it
    // 17-29 % at d = 2 and 8).
    using VD = simd<double, Arch>;
    constexpr std::size_t WD = VD::size;
    const std::size_t k = k_;
    const double g = math_.relative_error();
    const VD up(1 + 0x1p-50), down(1 - 0x1p-50), zero(0.0), grow(1 + g), shrink(1 - g);
    // The per-row inputs that depend on the row's centroid and snapshot are looked up
    // for a chunk of rows first and read back as vectors after: a vector load of values
    // just stored one at a time would wait for the stores to reach the cache (the
    // lookups cost Hamerly a third of its pass at d = 2 that way).
    constexpr std::size_t chunk = 8 * WD;
    alignas(64) double sep[chunk], add[chunk], sub[chunk], uu[chunk], ll[chunk];
    alignas(64) double mm[WD];
    char expiring[chunk / WD];
    std::vector<Failed>& failed = failed_[worker].value;
    failed.clear();
    // Hamerly and Exponion handle a chunk's failed rows after the next chunk's tests,
    // their rows fetched meanwhile: at small d a failed row is one cache line among
    // many that pass, which the hardware does not fetch ahead (its exact distance waited
    // on the row's load: a sixth of the pass at d = 2).
    const std::size_t row_bytes = std::min<std::size_t>(this->P_.d * sizeof(T), 128);
    std::size_t handled = 0;  // failed rows before this one have been handled
    const auto tighten_failed = [&](std::size_t until) {
      for (; handled < until; ++handled) tighten(C, worker, labels, dist, failed[handled].row, failed[handled].m, tally);
    };
    for (std::size_t c0 = b; c0 < e; c0 += chunk) {
      const std::size_t cl = std::min(chunk, e - c0), blocks = (cl + WD - 1) / WD;
      const std::size_t earlier = failed.size();  // the failed rows of earlier chunks
      std::fill_n(expiring, blocks, char(0));
      for (std::size_t r = 0; r < cl; ++r) {
        const std::size_t i = c0 + r, a = static_cast<std::size_t>(labels[i]), s = slot_[i], sa = s * k + a;
        sep[r] = sep_[a];
        add[r] = moved_by_[sa];
        sub[r] = others_moved_[sa];
        char x = expiring_[s];
        if (searches_bounds_) x |= each_slot_[i] != no_slot && expiring_[each_slot_[i]] != 0;
        expiring[r / WD] |= x;
      }
      if (cl % WD != 0) {  // the last block: its rows' bounds, then rows that pass
        const std::size_t r0 = cl - cl % WD;
        std::copy_n(upper_.data() + c0 + r0, cl - r0, uu + r0);
        std::copy_n(lower_.data() + c0 + r0, cl - r0, ll + r0);
        for (std::size_t r = cl; r < blocks * WD; ++r) {
          sep[r] = add[r] = sub[r] = uu[r] = 0.0;
          ll[r] = 1.0;
        }
      }
      for (std::size_t q = 0; q < blocks; ++q) {
        const std::size_t r0 = q * WD, i = c0 + r0, len = std::min(WD, cl - r0);
        const bool part = len < WD;
        const VD u = ((part ? VD::load_aligned(uu + r0) : VD::load_unaligned(upper_.data() + i)) +
                      VD::load_aligned(add + r0)) *
                     up;
        VD l = ((part ? VD::load_aligned(ll + r0) : VD::load_unaligned(lower_.data() + i)) - VD::load_aligned(sub + r0)) *
               down;
        l = xsimd::select(l > zero, l, zero);
        const VD s_a = VD::load_aligned(sep + r0);
        const VD m = xsimd::select(l > s_a, l, s_a);
        const bool keep_all = xsimd::all(u * grow < m * shrink);
        if (keep_all && !expiring[q] && !with_distances) continue;  // the common case: nothing to do
        u.store_aligned(uu + r0);
        l.store_aligned(ll + r0);
        m.store_aligned(mm);
        if (!expiring[q] && !with_distances && !searches_bounds_) {
          // Only failed rows to handle (Hamerly, Exponion): found without a branch per
          // row (which of a block's rows fail is not predictable).
          unsigned bits = 0;
          for (std::size_t r = 0; r < len; ++r) bits |= unsigned(!math_.keeps(uu[r0 + r], mm[r])) << r;
          for (; bits != 0; bits &= bits - 1) {
            const std::size_t r = static_cast<std::size_t>(lowest_bit(bits)), row = i + r;
            upper_[row] = uu[r0 + r];
            lower_[row] = ll[r0 + r];
            slot_[row] = static_cast<std::uint8_t>(now_);
            failed.push_back({row, mm[r]});
            prefetch(this->P_.X.row(row), row_bytes);
          }
          continue;
        }
        for (std::size_t r = 0; r < len; ++r) {
          const std::size_t row = i + r;
          const bool kept = keep_all || math_.keeps(uu[r0 + r], mm[r]);
          if (!kept || expiring_[slot_[row]]) {  // bounds refer to this pass from now
            upper_[row] = uu[r0 + r];
            lower_[row] = ll[r0 + r];
            slot_[row] = static_cast<std::uint8_t>(now_);
          }
          if (searches_bounds_)  // the k bounds are brought forward too
            if (each_slot_[row] != no_slot && expiring_[each_slot_[row]]) forward_bounds(row);
          if (kept) {
            keep(C, worker, labels, dist, row, with_distances, tally);
          } else {
            failed.push_back({row, mm[r]});
            if (!searches_bounds_) prefetch(this->P_.X.row(row), row_bytes);
          }
        }
      }
      if (!searches_bounds_) tighten_failed(earlier);
    }
    if (!searches_bounds_) {
      tighten_failed(failed.size());
      return;
    }
    // Their exact distances four at a time (a row's search changes only its own label).
    for (std::size_t q = 0; q < std::min(fetch_ahead, failed.size()); ++q) fetch_bounds(failed[q].row);
    for (std::size_t q0 = 0; q0 < failed.size(); q0 += 4) {
      const std::size_t count = std::min<std::size_t>(4, failed.size() - q0);
      std::size_t rows[4];
      for (std::size_t q = 0; q < count; ++q) rows[q] = failed[q0 + q].row;
      this->exact_distances(C, worker, rows, count, labels, dist, tally);
      for (std::size_t q = q0; q < q0 + count; ++q) {
        if (q + fetch_ahead < failed.size()) fetch_bounds(failed[q + fetch_ahead].row);
        tighten_from(C, worker, labels, dist, failed[q].row, failed[q].m, tally);
      }
    }
  }

  // A row whose bounds failed, and the lower bound m they were tested against.
  struct Failed {
    std::size_t row;
    double m;
  };

  // Elkan: rows ahead whose k bounds are fetched into cache (they are read at random).
  static constexpr std::size_t fetch_ahead = 4;
  // Elkan: exact distances a search may add to sharpen the row's l.
  static constexpr std::size_t sharpen_steps = 4;
  void fetch_bounds(std::size_t i) const noexcept {
    prefetch(each_.get() + i * k_, std::min<std::size_t>(k_ * sizeof(float), 16 * 64));
  }

  // The bounds prove row i keeps its label.
  void keep(MatrixView<const T> C, std::size_t worker, const std::int32_t* labels, T* dist, std::size_t i,
            bool with_distances, Tally& tally) {
    if (with_distances) this->exact_distance(C, worker, i, static_cast<std::size_t>(labels[i]), dist, tally);
  }

  // Row i's bounds failed against m: u is made exact, and if that is not enough the row
  // is queued for all centroids.
  void tighten(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, std::size_t i,
               double m, Tally& tally) {
    this->exact_distance(C, worker, i, static_cast<std::size_t>(labels[i]), dist, tally);
    tighten_from(C, worker, labels, dist, i, m, tally);
  }
  // The same, with dist[i] already the exact distance.
  void tighten_from(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, std::size_t i,
                    double m, Tally& tally) {
    upper_[i] = math_.upper(static_cast<double>(dist[i]));
    if (math_.keeps(upper_[i], m)) return;
    if constexpr (Annular)
      search_ball(C, worker, labels, dist, i, tally);
    else if constexpr (PerCentroid)
      searches_bounds_ ? search_candidates(C, worker, labels, dist, i, tally) : this->queue(worker, i);
    else
      this->queue(worker, i);
  }

  // Elkan: row i's k bounds brought to this pass, sharpened by its centroid a's distances
  // and the candidates that may beat a, in one SIMD pass over l. Each l_j first loses how
  // far centroid j moved since the bounds were set (when they were dropped, every l_j
  // starts as the row's l); then l_j = max(l_j, 2 half(a, j) - u), as x is within u of a
  // (2 half - u rounded down: u up to float, the difference scaled down as in
  // decay_lower_bounds). The indices of l_j <= thr go to out (ascending); returns their
  // count, and the smallest l_j of the others in `rest` (a's own entry is +inf).
  std::size_t refresh_bounds(std::size_t i, std::size_t a, double u, float thr, std::size_t* LLOYD_RESTRICT out,
                             float& rest) {
    using V = simd<float, Arch>;
    constexpr std::size_t W = V::size;
    const std::size_t k = k_;
    float* LLOYD_RESTRICT lb = each_.get() + i * k;
    const float* LLOYD_RESTRICT h = half_.data() + a * k;
    const std::size_t s = each_slot_[i];
    each_slot_[i] = static_cast<std::uint8_t>(now_);
    if (s == no_slot) {
      std::fill_n(lb, k, lower_as_float(lower_[i]));
      lb[a] = std::numeric_limits<float>::infinity();
    }
    const float* LLOYD_RESTRICT p = s == no_slot || s == now_ ? nullptr : moved_f_.data() + s * k;
    const float uf = shift_as_float(u), down_f = 1.0f - 0x1p-22f;
    const V uv(uf), down(down_f), zero(0.0f), tv(thr);
    V m(std::numeric_limits<float>::infinity());
    std::size_t count = 0;
    alignas(64) float z[W];
    std::size_t j = 0;
    for (; j + W <= k; j += W) {
      V l = V::load_unaligned(lb + j);
      if (p) l = (l - V::load_unaligned(p + j)) * down;
      const V hv = V::load_unaligned(h + j);
      const V via_a = ((hv + hv) - uv) * down;
      l = xsimd::select(via_a > l, via_a, l);
      l = xsimd::select(l > zero, l, zero);
      l.store_unaligned(lb + j);
      const auto cand = l <= tv;
      m = xsimd::select(!cand && l < m, l, m);
      if (xsimd::any(cand)) {
        l.store_aligned(z);
        for (std::size_t q = 0; q < W; ++q)
          if (z[q] <= thr) out[count++] = j + q;
      }
    }
    float mm = reduce_min(m);
    for (; j < k; ++j) {
      float l = lb[j];
      if (p) l = (l - p[j]) * down_f;
      const float via_a = (h[j] + h[j] - uf) * down_f;
      l = via_a > l ? via_a : l;
      l = l > 0.0f ? l : 0.0f;
      lb[j] = l;
      if (l <= thr)
        out[count++] = j;
      else
        mm = l < mm ? l : mm;
    }
    rest = mm;
    return count;
  }

  // Elkan: row i's k bounds, whose snapshot is about to leave the ring, made to refer to
  // this pass's centroids: each loses how far its centroid moved since (decay_lower_bounds,
  // as Yinyang's group bounds). With few snapshots kept (large k d: two) this is every row
  // whose bounds were set in the last pass; dropping them instead left such rows their
  // one lower bound l, and most had too many candidates again (Fashion-MNIST, k = 1000).
  void forward_bounds(std::size_t i) {
    decay_lower_bounds<Arch>(each_.get() + i * k_, moved_f_.data() + each_slot_[i] * k_, k_);
    each_slot_[i] = static_cast<std::uint8_t>(now_);
  }

  // Smallest z with u (1 + g) < z (1 - g), as a float rounded up.
  float threshold(double u) const noexcept {
    const double g = math_.relative_error();
    return shift_as_float(u * (1 + g) / (1 - g) * (1 + 0x1p-40));
  }

  // Elkan's search of row i (u exact, dist[i] its loss against its centroid a): its k
  // bounds are refreshed (refresh_bounds), which leaves as candidates the centroids whose
  // bound is not clearly above u (threshold rounded up: none is missed); each is checked
  // exactly, in index order, as u shrinks; lowest index among equals, as the kernel.
  // Many candidates: the kernel.
  void search_candidates(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, std::size_t i,
                         Tally& tally) {
    const std::size_t k = k_, d = this->P_.d, a0 = static_cast<std::size_t>(labels[i]);
    float* lb = each_.get() + i * k;
    std::vector<std::size_t>& cand = candidates_[worker].value;
    cand.resize(k);
    double u = upper_[i];
    float rest;
    const std::size_t n_cand = refresh_bounds(i, a0, u, threshold(u), cand.data(), rest);
    if (4 * n_cand > k) {
      this->queue(worker, i);
      return;
    }
    const T* x = this->row(worker, i);
    T best = dist[i];
    std::size_t a = a0;
    // Four candidates at a time (the bound test with u as it stands before them): four
    // independent sums instead of one chain of d / W multiply-adds each, whose latency
    // bounds a lone canonical distance at large d. A candidate that a closer one among the
    // four would have ruled out is computed anyway; it cannot win (its bound says so), and
    // its bound becomes the exact one: the same label.
    for (std::size_t q = 0; q < n_cand;) {
      std::size_t js[4];
      const T* rows[4];
      std::size_t g = 0;
      for (; q < n_cand && g < 4; ++q) {
        const std::size_t j = cand[q];
        if (math_.keeps(u, static_cast<double>(lb[j]))) continue;
        js[g] = j;
        rows[g++] = C.row(j);
      }
      T c2s[4];
      squared_distances_to_each<Arch>(x, rows, g, d, c2s);
      tally.evals += g;
      for (std::size_t r = 0; r < g; ++r) {
        const std::size_t j = js[r];
        const T c2 = c2s[r];
        if (c2 < best || (c2 == best && j < a)) {
          lb[a] = lower_as_float(math_.lower(static_cast<double>(best)));
          lb[j] = std::numeric_limits<float>::infinity();
          a = j;
          best = c2;
          u = math_.upper(static_cast<double>(c2));
        } else {
          lb[j] = lower_as_float(math_.lower(static_cast<double>(c2)));
        }
      }
    }
    for (std::size_t q = 0; q < n_cand; ++q) rest = std::min(rest, lb[cand[q]]);
    // The row's l would be the smallest of its k bounds, often a stale one far below the
    // distance to its second nearest centroid (the l Hamerly gets from the kernel), and
    // the row would fail again next pass: the centroid holding the smallest bound is
    // computed exactly, a few times at most, until the smallest is one computed now (then
    // it is the second nearest's). Centroids outside the candidates lose to a for certain.
    if (a == a0) {
      std::size_t done[sharpen_steps];
      for (std::size_t step = 0; step < sharpen_steps && rest < std::numeric_limits<float>::infinity(); ++step) {
        const std::size_t j = index_of<Arch>(lb, k, rest);
        if (j == k ||  // (rest is always one of the bounds)
            std::find(cand.begin(), cand.begin() + n_cand, j) != cand.begin() + n_cand ||
            std::find(done, done + step, j) != done + step)
          break;
        done[step] = j;
        lb[j] = lower_as_float(math_.lower(static_cast<double>(squared_distance_for_bound<Arch>(x, C.row(j), d))));
        ++tally.evals;
        rest = min_of<Arch>(lb, k);
      }
    }
    this->relabel(worker, labels, i, a, tally);
    dist[i] = best;
    upper_[i] = u;
    // l: the old l (still a bound for every centroid but a0) or the smallest k bound of
    // the others, whichever is larger; then a0's own, if the row left it.
    lower_[i] = std::max(lower_[i], static_cast<double>(rest));
    if (a != a0) lower_[i] = std::min(lower_[i], static_cast<double>(lb[a0]));
  }

  // Exponion's search of row i (u exact, dist[i] its loss against its centroid a):
  // the smallest prefix of a's neighbours whose outer radius clears u + s(a), in half
  // distances (s(a) itself a half distance); canonical distances four centroids at a
  // time; lowest index among equals, as the kernel.
  void search_ball(MatrixView<const T> C, std::size_t worker, std::int32_t* labels, T* dist, std::size_t i,
                   Tally& tally) {
    const std::size_t a = static_cast<std::size_t>(labels[i]), levels = prefix_.size();
    const double u = upper_[i], reach = u + sep_[a];
    // A search that the last annuli built for a say would reach a quarter of the
    // centroids is not worth building them again for (unclustered data): the kernel.
    if (static_cast<double>(quarter_at_start_[a]) <= reach) {
      this->queue(worker, i);
      return;
    }
    const Neighbour* nb = annuli(C, a);
    const float* rad = radius_.data() + a * levels;
    std::size_t p = 0;
    while (static_cast<double>(rad[p]) <= reach) ++p;  // rad[levels - 1] is +inf
    const std::size_t m = prefix_[p];
    if (4 * m > k_) {
      this->queue(worker, i);
      return;
    }
    const T* x = this->row(worker, i);
    const std::size_t d = this->P_.d;
    T best = dist[i], second = std::numeric_limits<T>::infinity();
    std::size_t best_c = a;
    const auto consider = [&](T c2, std::size_t c) {
      if (c2 < best || (c2 == best && c < best_c)) {
        second = best;
        best = c2;
        best_c = c;
      } else if (c2 < second) {
        second = c2;
      }
    };
    squared_distances_listed<Arch>(
        x, d, m, [&](std::size_t q) { return C.row(nb[q].index); },
        [&](std::size_t q, T c2) { consider(c2, nb[q].index); });
    tally.evals += m;
    // Every centroid beyond the prefix: at least 2 rad[p] from a, so 2 rad[p] - u from x.
    const double outside = BoundMath::sub_down(2.0 * static_cast<double>(rad[p]), u);
    const double best_upper = math_.upper(static_cast<double>(best));
    if (!math_.keeps(best_upper, outside)) {  // the margins ate the ball's slack: all of them
      this->queue(worker, i);
      return;
    }
    this->relabel(worker, labels, i, best_c, tally);
    dist[i] = best;
    upper_[i] = best_upper;
    lower_[i] = std::min(math_.lower(static_cast<double>(second)), outside);
  }

  std::vector<double> lower_;  // per row: lower bound on the distance to any other centroid
  std::vector<std::uint8_t> slot_;  // per row: the snapshot its bounds refer to
  std::size_t ring_;                // snapshots kept
  std::vector<T> history_;          // ring_ x k x d: the centroids of recent passes
  std::vector<std::size_t> slot_pass_;  // per snapshot: its pass (0: none yet)
  std::vector<double> moved_by_;        // ring_ x k: distance moved since each snapshot
  std::vector<double> others_moved_;    // ring_ x k: the largest of the others' moves
  std::vector<char> expiring_;          // per snapshot: replaced next pass
  std::size_t pass_ = 0, now_ = 0;      // passes seen; the current pass's snapshot
  std::vector<double> sep_;
  std::vector<PerWorker<std::vector<Failed>>> failed_;
  // Elkan: whether failed rows search their k bounds (rows of at least
  // elkan_min_row_bytes; below, computing a row's k distances in the kernel costs less
  // than reading and writing its k bounds, and the row goes there, as in Hamerly's:
  // measured, float64 d = 128, k = 1000, n = 50 000: searching computed 5 % of Lloyd's
  // distances and took longer than Lloyd).
  static constexpr std::size_t elkan_min_row_bytes = 2048;
  bool searches_bounds_;
  // Elkan only: per row its k bounds (as of the row's snapshot; +inf for its own
  // centroid), per snapshot the centroids' moves as floats rounded up, the k x k lower
  // bounds of half the centroid distances, per worker a candidate list.
  std::unique_ptr<float[]> each_;
  std::vector<std::uint8_t> each_slot_;  // per row: the snapshot of its k bounds, or no_slot
  static constexpr std::uint8_t no_slot = 0xff;
  std::vector<float> moved_f_;
  std::vector<float> half_;
  std::vector<PerWorker<std::vector<std::size_t>>> candidates_;
  // Exponion only: per centroid its k - 1 others in annuli, the annuli's sizes
  // (prefix_[p] nearest, the same for every centroid) and radii, the pass they were
  // built for (0: never) and a lock for building them.
  std::vector<Neighbour> neighbours_;
  std::vector<std::size_t> prefix_;
  std::vector<float> radius_;
  std::unique_ptr<std::atomic<std::size_t>[]> built_;
  std::unique_ptr<std::mutex[]> build_lock_;
  std::vector<float> quarter_radius_;    // per centroid, from its last annuli
  std::vector<float> quarter_at_start_;                   // the same, at the start of the pass
  std::size_t pause_ = 2;             // length of the next such pause
  bool heavy_before_ = false;   // Elkan: the last bounded pass computed over a quarter
  bool paused_before_ = false;  // Elkan: it has paused its bounds in this fit
};

template <class T, class Arch = default_arch>
using Hamerly = HamerlyBounds<T, Arch, OnFail::kernel>;
template <class T, class Arch = default_arch>
using Exponion = HamerlyBounds<T, Arch, OnFail::ball>;
template <class T, class Arch = default_arch>
using Elkan = HamerlyBounds<T, Arch, OnFail::per_centroid>;

}  // namespace detail
}  // namespace lloyd
