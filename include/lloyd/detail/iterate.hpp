// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The iteration loop of one seeded run: assign, update, report, stop. Every decision is
// taken from values summed through the Exchange, so all processes of a distributed fit
// take the same ones (with one process the sums are the values themselves).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "assigner.hpp"
#include "exchange.hpp"
#include "problem.hpp"
#include "steps.hpp"
#include "stopwatch.hpp"

namespace lloyd {
namespace detail {

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

/// Lloyd's full assignment pass, as an assigner (assigner.hpp).
template <class T, class Arch>
struct LloydAssigner {
  LloydSteps<T, Arch>& steps;
  Assignment assign(MatrixView<const T> C, std::int32_t* labels, T* dist, bool for_update, bool with_distances) {
    return steps.assign(C, labels, dist, for_update, with_distances);
  }
  void centroids_moved(MatrixView<const T>, MatrixView<const T>, bool) {}
};

/// The stopping rules of Params (tol, inertia_tol, unchanged labels), iteration by
/// iteration, with their verbose lines.
class StoppingRules {
 public:
  StoppingRules(const Params& p, double mean_variance) : p_(p), tol_(p.tol * mean_variance) {}

  /// Whether the run has converged after iteration `it`.
  bool converged(int it, const Assignment& a, std::size_t relocated, double shift) {
    // Labels unchanged (and nothing relocated): the update reproduced the same centroids.
    same_labels_ = it > 1 && a.n_changed == 0 && relocated == 0;
    shift_ok_ = shift <= tol_;
    inertia_change_ = std::abs(a.inertia - prev_inertia_);
    inertia_ok_ = p_.inertia_tol > 0 && it > 1 && inertia_change_ < p_.inertia_tol;
    prev_inertia_ = a.inertia;
    shift_ = shift;
    return same_labels_ || shift_ok_ || inertia_ok_;
  }
  /// Whether the labels were already stable (no final relabelling needed).
  bool strict() const noexcept { return same_labels_; }

  void say_why(int it) const {
    if (shift_ok_ && !same_labels_)
      std::fprintf(stderr, "Converged at iteration %d: center shift %.6g within tolerance %.6g.\n", it, shift_, tol_);
    else if (inertia_ok_ && !same_labels_)
      std::fprintf(stderr, "Converged at iteration %d: inertia change %.6g below inertia_tol %.6g.\n", it,
                   inertia_change_, p_.inertia_tol);
    else
      std::fprintf(stderr, "Converged at iteration %d: strict convergence.\n", it);
  }

 private:
  const Params& p_;
  double tol_;
  double prev_inertia_ = std::numeric_limits<double>::quiet_NaN();
  double inertia_change_ = 0, shift_ = 0;
  bool same_labels_ = false, shift_ok_ = false, inertia_ok_ = false;
};

/// Iterations from `centroids` until a stopping rule holds (see Params), with `assigner`
/// labelling the rows (assigner.hpp) and `steps` updating the centroids. On return the
/// labels and inertia belong to the returned centroids. P holds this process's rows;
/// the inertia and counts are summed over the processes through `ex`.
template <class T, class Arch, class Assigner>
RunResult<T> iterate(const Problem<T>& P, Matrix<T> centroids, const Params& p, LloydSteps<T, Arch>& steps,
                     Assigner& assigner, int run, const Stopwatch& clock, Exchange<T>& ex) {
  RunResult<T> r;
  r.labels.assign(P.n, -1);
  std::vector<T> dist(P.n);
  Matrix<T> next(centroids.rows(), P.d);
  StoppingRules rules(p, P.mean_variance);
  bool strict = false;
  // The inertia of intermediate iterations is computed only if someone looks at it.
  const bool observed = p.verbose || static_cast<bool>(p.on_iteration) || p.inertia_tol > 0;
  for (int it = 1; it <= p.max_iter; ++it) {
    const double t0 = clock.seconds();
    auto a = assigner.assign(centroids, r.labels.data(), dist.data(), true, observed);
    steps.set_distances_valid(a.distances_valid);
    a.inertia = ex.sum(a.inertia);
    a.n_changed = ex.sum(a.n_changed);
    a.evaluations = ex.sum(a.evaluations);
    r.evaluations += a.evaluations;
    const auto u = steps.update(centroids, r.labels.data(), dist.data(), next, a.moves, ex);
    assigner.centroids_moved(centroids, next, u.n_relocated > 0);
    std::swap(centroids, next);
    r.n_iter = it;
    r.inertia = a.inertia;

    IterationStats s;
    s.iteration = it;
    s.run = run;
    s.inertia = a.inertia;
    s.center_shift = u.center_shift;
    s.n_changed = a.n_changed;
    s.n_relocated = u.n_relocated;
    s.distance_evaluations = a.evaluations;
    s.elapsed_seconds = clock.seconds();
    s.seconds = s.elapsed_seconds - t0;
    if (p.verbose) std::fprintf(stderr, "Iteration: %d, inertia: %.10g\n", it, a.inertia);
    r.converged = rules.converged(it, a, u.n_relocated, u.center_shift);
    const bool stop_requested = ex.any(p.on_iteration(s));
    if (!p.run_till_max_iter && r.converged) {
      strict = rules.strict();
      if (p.verbose) rules.say_why(it);
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
    r.inertia = ex.sum(a.inertia);
    r.evaluations += ex.sum(a.evaluations);
  } else if (!observed) {
    r.inertia = ex.sum(steps.distances(centroids, r.labels.data(), dist.data()));
  }
  r.centroids = std::move(centroids);
  return r;
}

}  // namespace detail
}  // namespace lloyd
