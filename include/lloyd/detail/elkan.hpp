// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Elkan's algorithm (C. Elkan, "Using the triangle inequality to accelerate k-means",
// ICML 2003), scikit-learn's "elkan": per row an upper bound u on the distance to its
// centroid and one lower bound per centroid (n x k floats). Each iteration also bounds
// the distances between centroids: a centroid j is examined for a row only while u is
// at least both its lower bound and half the distance between j and the row's centroid.
// The n x k bounds must be rewritten every iteration, so Elkan pays off for moderate k
// and larger d; Algorithm::Auto weighs that.
//
// Bounds are on exact distances, rounded outward (the floats rounded down), compared
// with BoundMath's margin, so the labels are exactly those of Lloyd's full pass.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bounded.hpp"  // and through it the kernel, the bound arithmetic, the partitions

namespace lloyd {
namespace detail {

template <class T, class Arch = default_arch>
class Elkan : public BoundedAssigner<Elkan<T, Arch>, T, Arch> {
  using Base = BoundedAssigner<Elkan<T, Arch>, T, Arch>;
  friend Base;
  using typename Base::Tally;

 public:
  /// Bytes of bounds Elkan keeps for n rows and k centroids.
  static std::size_t memory_bytes(std::size_t n, std::size_t k) noexcept {
    return n * (k * sizeof(float) + sizeof(double)) + k * k * sizeof(float);
  }

  Elkan(const Problem<T>& P, std::size_t k, ThreadPool& pool)
      : Base(P, k, pool, partition::bounded_tasks(P.n)), lower_(P.n * k), candidates_(pool.size()) {}

 private:
  using Base::k_;
  using Base::math_;
  using Base::P_;
  using Base::upper_;

  static constexpr bool rebuild_sets_distances = true;

  bool prepare(MatrixView<const T> C) {
    if (!this->bounds_valid()) return true;
    centroid_separation<T>(this->kernel_, C, this->pool_, &half_, sep_);
    return false;
  }

  void shifts_changed() {
    shift_f_.resize(k_);
    for (std::size_t c = 0; c < k_; ++c) shift_f_[c] = shift_as_float(this->shifts()[c]);
  }

  // Every centroid's bound becomes the row's lower bound on its second-nearest distance
  // (valid for all; each sharpens when that centroid's distance is computed).
  void rebuilt(std::size_t worker, std::size_t i, std::size_t a, double /*best*/, double second,
               MatrixView<const T> C, T* dist, bool /*with_distances*/, Tally& /*tally*/) {
    std::fill_n(lower_.data() + i * k_, k_, lower_as_float(BoundMath::lower_from_sq(second)));
    this->exact_upper(C, worker, i, a, dist);
  }

  // Smallest z with u (1 + g) < z (1 - g), as a float rounded up.
  float threshold(double u) const noexcept {
    const double g = math_.relative_error();
    return shift_as_float(u * (1 + g) / (1 - g) * (1 + 0x1p-40));
  }

  // Indices j < k (ascending) with max(l[j], h[j]) <= thr, into out[0, count); out holds
  // k entries (no push_back in this loop: it is the hottest of Elkan's).
  static std::size_t collect_candidates(const float* l, const float* h, float thr, std::size_t k,
                                        std::size_t* LLOYD_RESTRICT out) {
    using V = simd<float, Arch>;
    constexpr std::size_t W = V::size;
    std::size_t count = 0;
    const V tv(thr);
    alignas(64) float z[W];
    std::size_t j = 0;
    for (; j + W <= k; j += W) {
      const V lv = V::load_unaligned(l + j), hv = V::load_unaligned(h + j);
      const V v = xsimd::select(lv > hv, lv, hv);
      if (xsimd::any(v <= tv)) {
        v.store_aligned(z);
        for (std::size_t q = 0; q < W; ++q)
          if (z[q] <= thr) out[count++] = j + q;
      }
    }
    for (; j < k; ++j)
      if ((l[j] > h[j] ? l[j] : h[j]) <= thr) out[count++] = j;
    return count;
  }

  void bounded_rows(MatrixView<const T> C, std::size_t b, std::size_t e, std::size_t worker, std::int32_t* labels,
                    T* dist, bool with_distances, Tally& task_tally) {
    Tally tally;  // a local copy: kept in registers through the loop
    std::vector<std::size_t>& cand = candidates_[worker];
    cand.resize(k_);
    const std::size_t d = P_.d, k = k_;
    for (std::size_t i = b; i < e; ++i) {
      const T* x = this->row(worker, i);
      std::size_t a = static_cast<std::size_t>(labels[i]);
      float* lb = lower_.data() + i * k;
      double u = upper_[i];
      if (this->moved()) {
        u = BoundMath::add_up(u, this->shifts()[a]);
        decay_lower_bounds<Arch>(lb, shift_f_.data(), k);
      }
      bool tight = false;
      T best_c2 = T(0);
      if (!math_.keeps(u, sep_[a])) {
        // Candidates: centroids j with max(l_j, half(a, j)) not clearly above u, found
        // with SIMD compares in float (threshold rounded up: never misses one); each is
        // then checked exactly, in index order, as u shrinks.
        const std::size_t n_cand = collect_candidates(lb, half_.data() + a * k, threshold(u), k, cand.data());
        for (std::size_t q = 0; q < n_cand; ++q) {
          const std::size_t j = cand[q];
          if (j == a) continue;
          const double z = std::max(static_cast<double>(lb[j]), static_cast<double>(half_[a * k + j]));
          if (math_.keeps(u, z)) continue;
          if (!tight) {
            best_c2 = squared_distance<Arch>(x, C.row(a), d);
            ++tally.evals;
            u = math_.upper(static_cast<double>(best_c2));
            tight = true;
            if (math_.keeps(u, z)) continue;
          }
          const T c2 = squared_distance<Arch>(x, C.row(j), d);
          ++tally.evals;
          lb[j] = lower_as_float(math_.lower(static_cast<double>(c2)));
          if (c2 < best_c2 || (c2 == best_c2 && j < a)) {
            lb[a] = lower_as_float(math_.lower(static_cast<double>(best_c2)));
            a = j;
            best_c2 = c2;
            u = math_.upper(static_cast<double>(c2));
          }
        }
      }
      upper_[i] = u;
      this->relabel(worker, labels, i, a, tally);
      if (tight)
        dist[i] = best_c2;
      else if (with_distances)
        this->exact_distance(C, worker, i, a, dist, tally);
    }
    task_tally.changed += tally.changed;
    task_tally.evals += tally.evals;
  }

  std::vector<float> lower_;  // n x k
  std::vector<float> half_;   // k x k lower bounds of half the centroid distances
  std::vector<double> sep_;
  std::vector<float> shift_f_;
  std::vector<std::vector<std::size_t>> candidates_;  // per worker
};

}  // namespace detail
}  // namespace lloyd
