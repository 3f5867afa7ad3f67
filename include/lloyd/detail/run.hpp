// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// One seeded run: picks the assignment algorithm and iterates.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>

#include "../matrix.hpp"
#include "../params.hpp"
#include "hamerly.hpp"
#include "iterate.hpp"
#include "parallel.hpp"
#include "problem.hpp"
#include "yinyang.hpp"

namespace lloyd {
namespace detail {

/// bounds_deferred_passes(): bounds would never pay, Lloyd's pass throughout.
inline constexpr std::size_t never_bounds = std::numeric_limits<std::size_t>::max();

/// Passes before a bounded algorithm's bounds start (BoundedAssigner::defer_bounds), by
/// the number of centroids and columns; never_bounds: Lloyd runs instead. With few
/// centroids Lloyd's full pass is too cheap for bounds to pay, measured on this
/// project's 2-core AVX-512 machine (bench/bench_grid, fits to convergence from one start,
/// float32 and float64): with fewer than 8 centroids (k = 3, d = 128, uniform noise:
/// Hamerly 1.7x slower than Lloyd) and with fewer than 16 below d = 128 (k = 10: Elkan
/// and Hamerly 1.5-2.3x slower on uniform noise at d = 2 and 8, 1.1-1.5x at d = 32). With 8 to 15
/// centroids from d = 128 on, the first passes move most rows and fits on clustered data
/// end within a few passes, where bounds only cost (1.2-1.35x Lloyd's time from the first
/// pass, 0.95-1.05x from the ninth: blobs, d = 128 to 784, k = 3 to 15, 3 to 5
/// iterations), while on long fits Hamerly's bounds from the ninth pass took 0.65-0.85 of
/// Lloyd's time (uniform noise, d = 128 and 256, k = 8 to 15; 0.92-1.14 at d = 784).
/// Algorithm::Auto follows this rule, and so does a bounded algorithm asked for by name
/// unless bounds_follow_cost is false.
inline std::size_t bounds_deferred_passes(std::size_t k, std::size_t d) noexcept {
  if (k < 8 || (k < 16 && d < 128)) return never_bounds;
  return k < 16 ? 8 : 0;
}

/// Whether a bounded algorithm asked for by name waits as bounds_deferred_passes() says
/// (the default: it is then not held back by bounds that cannot pay). The tests turn it
/// off (tests/helpers.hpp) so that a named algorithm keeps bounds from its second pass
/// at any k and d, which is what their exactness checks exercise. Not to be changed while
/// a fit runs.
inline bool bounds_follow_cost = true;

/// The memory Algorithm::Auto lets bounds take (Elkan's aside, see resolve_algorithm):
/// max(1/8 of the data, 64 MiB), and never more than max_memory_bytes.
template <class T>
std::size_t auto_memory_budget(std::size_t n, std::size_t d, std::size_t max_memory_bytes) noexcept {
  return std::min(max_memory_bytes, std::max(n * d * sizeof(T) / 8, std::size_t(64) << 20));
}

/// The algorithm to run: Auto resolved from (n, k, d), and a bounded algorithm whose
/// bounds exceed max_memory_bytes replaced by one that fits (Elkan -> Yinyang ->
/// Hamerly -> Lloyd, Exponion -> Hamerly). T only sizes the rule; the choice never depends on the threads.
template <class T>
Algorithm resolve_algorithm(Algorithm wanted, std::size_t n, std::size_t k, std::size_t d,
                            std::size_t max_memory_bytes) {
  Algorithm a = wanted;
  if (a == Algorithm::Auto) {
    // From measurements on this project's 2-core AVX-512 machine (README, "Choosing an
    // algorithm", and bench/bench_grid: fits to convergence from one start, d = 2 to 784,
    // k = 10 to 1000, blobs and uniform noise, float32 and float64, random and k-means++
    // starts): Lloyd where bounds never start (bounds_deferred_passes()) and with fewer
    // than 16 rows per centroid (the per-pass work between centroids, k^2 d, is then a
    // large share of Lloyd's n k d); Hamerly where they start late (8 to 15 centroids
    // from d = 128: Exponion and Elkan were no faster than Hamerly there). In float32 at small k d
    // (d <= 8, k = 100) Lloyd was also up to 1.4x faster than Hamerly from random starts,
    // but Hamerly 2-2.6x faster than Lloyd from k-means++ starts: Hamerly is kept there.
    // Exponion was the fastest or close from rows of 256 bytes on (d >= 32 in float64,
    // 64 in float32; up to 3x Hamerly at d = 128, k = 1000), Hamerly below (a distance
    // costs less there than Exponion's neighbour lists). Bounds must fit in max(1/8 of
    // the data, 64 MiB): choosing for the user never multiplies the memory a large fit
    // needs; but from rows of 2 KiB on, Elkan (which searches its n x k bounds there)
    // where they take at most twice the data, as scikit-learn's Elkan keeps n x k
    // distances: on Fashion-MNIST (d = 784, from the same start) Elkan took 1.3-1.5x
    // less time than Exponion at k = 100 and 2.5-3.7x less at k = 1000 (Yinyang 1.5-2x),
    // float32 and float64; as fast on the grid's d = 784 rows; 1.1-1.2x slower on
    // synthetic blobs at d = 256.
    const std::size_t data_bytes = n * d * sizeof(T), floor = std::size_t(64) << 20;
    const std::size_t quiet_budget = auto_memory_budget<T>(n, d, max_memory_bytes);
    const std::size_t elkan_budget = std::min(max_memory_bytes, std::max(2 * data_bytes, floor));
    const std::size_t deferred = bounds_deferred_passes(k, d);
    const bool cheap_pass = deferred == never_bounds || n < 16 * k;
    if (cheap_pass || Hamerly<T>::memory_bytes(n, k, d) > quiet_budget)
      a = Algorithm::Lloyd;
    else if (deferred > 0)  // few centroids: Exponion's rings and Elkan's k bounds add nothing to two
      a = Algorithm::Hamerly;
    else if (Elkan<T>::searches_bounds(d) && Elkan<T>::memory_bytes(n, k, d) <= elkan_budget)
      a = Algorithm::Elkan;
    else if (d * sizeof(T) >= 256 && Exponion<T>::memory_bytes(n, k, d) <= quiet_budget)
      a = Algorithm::Exponion;
    else
      a = Algorithm::Hamerly;
  }
  if (a == Algorithm::Exponion && Exponion<T>::memory_bytes(n, k, d) > max_memory_bytes) a = Algorithm::Hamerly;
  if (a == Algorithm::Elkan && Elkan<T>::memory_bytes(n, k, d) > max_memory_bytes) a = Algorithm::Yinyang;
  if (a == Algorithm::Yinyang && Yinyang<T>::memory_bytes(n, k) > max_memory_bytes) a = Algorithm::Hamerly;
  if (a == Algorithm::Hamerly && Hamerly<T>::memory_bytes(n, k, d) > max_memory_bytes) a = Algorithm::Lloyd;
  return a;
}

/// Auto's Exponion, which hands over to Yinyang where its bounds save nothing: where each
/// of the fit's first `watched` passes computed at least 95 % of Lloyd's distances (summed
/// over the processes, so that all take the same decision), Yinyang runs the rest of
/// the fit, from a full pass of its own (it needs no state of Exponion's: the labels are
/// the same whichever computes them, so the result is the same bits). On uniform noise
/// at d = 128, k = 1000 (bench_grid, float64), Exponion's annuli computed 0.97-1.00 of
/// Lloyd's distances in each of its bounded passes, and the fit took 1.81 s with
/// Exponion, 1.57 s with Yinyang, whose group bounds skipped 41 % of them; wherever
/// Exponion's bounds start to pay within the first ten passes (blobs at any d; uniform
/// noise at d = 32 or k = 100: a bounded pass at 0.45-0.90 by the tenth), Yinyang was
/// 1.3-2.2x slower than Exponion and no hand-over happens. Yinyang's bounds must fit the
/// budget Auto gives Exponion's (auto_memory_budget), or there is no hand-over either.
template <class T, class Arch>
class ExponionThenYinyang {
 public:
  static constexpr int watched = 10;     // passes watched before the decision
  static constexpr double futile = 0.95;  // share of Lloyd's distances a watched pass computed at least

  ExponionThenYinyang(const Problem<T>& P, std::size_t k, ThreadPool& pool, LloydSteps<T, Arch>& steps,
                      Exchange<T>& ex, bool may_hand_over)
      : P_(P), k_(k), pool_(pool), steps_(steps), ex_(ex), watching_(may_hand_over) {
    exponion_.emplace(P, k, pool);
    exponion_->pause_with(steps);
  }

  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update, bool with_distances) {
    // Exponion gives way (its bounds go first) before a pass that an update follows; the
    // fit's final relabelling, if it comes next, stays Exponion's.
    if (futile_passes_ == watched && !yinyang_ && for_update) {
      exponion_.reset();
      yinyang_.emplace(P_, k_, pool_);
      yinyang_->pause_with(steps_);
    }
    if (yinyang_) return yinyang_->assign(C, labels, dist, for_update, with_distances);
    const Assignment a = exponion_->assign(C, labels, dist, for_update, with_distances);  // (a.moves: Exponion's)
    if (watching_ && for_update) {  // (every process takes part in the sum, on the same passes)
      const double share = static_cast<double>(ex_.sum(a.evaluations)) /
                           (static_cast<double>(P_.total_rows) * static_cast<double>(k_));
      // Stop watching once a pass saved distances, or after the last watched pass.
      watching_ = share >= futile && ++futile_passes_ < watched;
    }
    return a;
  }

  void centroids_moved(MatrixView<const T> C_old, MatrixView<const T> C_new, bool relocated) {
    if (yinyang_)
      yinyang_->centroids_moved(C_old, C_new, relocated);
    else
      exponion_->centroids_moved(C_old, C_new, relocated);
  }

  /// The algorithm running now.
  Algorithm algorithm() const noexcept { return yinyang_ ? Algorithm::Yinyang : Algorithm::Exponion; }

 private:
  const Problem<T>& P_;
  const std::size_t k_;
  ThreadPool& pool_;
  LloydSteps<T, Arch>& steps_;
  Exchange<T>& ex_;
  std::optional<Exponion<T, Arch>> exponion_;
  std::optional<Yinyang<T, Arch>> yinyang_;
  bool watching_;
  int futile_passes_ = 0;  // watched passes so far that saved under 5 % (watched: hand over)
};

/// Iterations of one seeded run from `centroids`, with the algorithm Params ask for
/// (chosen from the rows of all processes, P.total_rows: the same everywhere).
template <class T, class Arch = default_arch>
RunResult<T> run_kmeans(const Problem<T>& P, Matrix<T> centroids, const Params& p, ThreadPool& pool, int run,
                        const Stopwatch& clock, Exchange<T>& ex) {
  const std::size_t k = centroids.rows();
  LloydSteps<T, Arch> steps(P, k, pool);
  // Bounds need a metric: Metric::Dot always runs Lloyd.
  Algorithm algorithm = P.metric == Metric::Dot
                            ? Algorithm::Lloyd
                            : resolve_algorithm<T>(p.algorithm, P.total_rows, k, P.d, p.max_memory_bytes);
  const std::size_t deferred =
      p.algorithm == Algorithm::Auto || bounds_follow_cost ? bounds_deferred_passes(k, P.d) : 0;
  if (deferred == never_bounds) algorithm = Algorithm::Lloyd;
  const auto bounded = [&](auto&& assigner) {
    assigner.pause_with(steps);
    assigner.defer_bounds(deferred);
    return iterate(P, std::move(centroids), p, steps, assigner, run, clock, ex);
  };
  RunResult<T> r;
  switch (algorithm) {
    case Algorithm::Hamerly:
      r = bounded(Hamerly<T, Arch>(P, k, pool));
      break;
    case Algorithm::Elkan:
      r = bounded(Elkan<T, Arch>(P, k, pool));
      break;
    case Algorithm::Exponion:
      if (p.algorithm == Algorithm::Auto) {
        ExponionThenYinyang<T, Arch> assigner(
            P, k, pool, steps, ex,
            Yinyang<T>::memory_bytes(P.total_rows, k) <= auto_memory_budget<T>(P.total_rows, P.d, p.max_memory_bytes));
        r = iterate(P, std::move(centroids), p, steps, assigner, run, clock, ex);
        algorithm = assigner.algorithm();
      } else {
        r = bounded(Exponion<T, Arch>(P, k, pool));
      }
      break;
    case Algorithm::Yinyang:
      r = bounded(Yinyang<T, Arch>(P, k, pool));
      break;
    default: {
      LloydAssigner<T, Arch> assigner{steps};
      r = iterate(P, std::move(centroids), p, steps, assigner, run, clock, ex);
      break;
    }
  }
  r.algorithm = algorithm == Algorithm::Auto ? Algorithm::Lloyd : algorithm;
  return r;
}

}  // namespace detail
}  // namespace lloyd
