// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// One fit, as stages, used by every entry point (KMeans::fit, mpi::fit):
//
//   agree_on_input -> working rows -> column statistics -> rescale -> n_init runs -> Result
//   (validate)       (cosine: unit   (mean, variance,     (2^e when   (seed, iterate;  (units back,
//                     rows, no copy) bound of |x|)         squares     keep the best)   model state)
//                                                          would overflow)
//
// Each stage talks to the other processes of a distributed fit only through the
// Exchange (exchange.hpp); a single-process fit passes LocalExchange.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "../result.hpp"
#include "exchange.hpp"
#include "parallel.hpp"
#include "problem.hpp"
#include "random.hpp"
#include "run.hpp"
#include "seeding.hpp"
#include "steps.hpp"
#include "stopwatch.hpp"
#include "working_rows.hpp"

namespace lloyd {
namespace detail {

/// What a fit leaves: the Result, and what predict() needs to reproduce its labels.
template <class T>
struct FitOutcome {
  Result<T> result;
  Matrix<T> work_centroids;  ///< the centroids in the fit's working units
  std::vector<T> mean;       ///< the kernel's centring shift (P.mean)
  int scale = 0;             ///< the fit ran on X x 2^scale
};

/// The seeded runs (or the k = n shortcut), best kept.
template <class T, class Arch>
RunResult<T> best_run(Exchange<T>& ex, const Problem<T>& P, const Params& p, const MatrixView<const T>* initial,
                      ThreadPool& pool, const Stopwatch& clock) {
  const std::size_t k = p.n_clusters;
  RunResult<T> best;
  if (k == P.total_rows) {
    // Every row is a centroid. Labels still come from the assignment so that
    // duplicate rows share the lowest index, exactly as predict() would do.
    std::vector<std::uint64_t> all(P.total_rows);
    for (std::size_t g = 0; g < all.size(); ++g) all[g] = g;
    Matrix<T> C = rows_by_index(ex, P, all);
    LloydSteps<T, Arch> steps(P, k, pool);
    best.labels.assign(P.n, -1);
    std::vector<T> dist(P.n);
    best.inertia = ex.sum(steps.assign(C, best.labels.data(), dist.data()).inertia);
    best.centroids = std::move(C);
    best.converged = true;
    return best;
  }
  Params run_params = p;
  run_params.verbose = p.verbose && ex.lead();
  const int runs = initial ? 1 : p.n_init;
  std::size_t evaluations = 0;
  for (int run = 0; run < runs; ++run) {
    Rng rng(p.seed, static_cast<std::uint64_t>(run));
    Matrix<T> C0 = initial ? Matrix<T>(*initial) : seed_centroids<T, Arch>(ex, P, p.init, k, rng, pool);
    if (run_params.verbose)
      std::fprintf(stderr, "Initialization complete (run %d of %d, %.3f s)\n", run + 1, runs, clock.seconds());
    auto r = run_kmeans<T, Arch>(P, std::move(C0), run_params, pool, run, clock, ex);
    evaluations += r.evaluations;
    if (run == 0 || r.inertia < best.inertia) best = std::move(r);
  }
  best.evaluations = evaluations;
  return best;
}

/// The Result in the caller's units, and the model state in the working units.
template <class T>
FitOutcome<T> outcome(RunResult<T> best, const Problem<T>& P, Metric metric, int scale) {
  // Cosine: the loss summed was |x - c|^2 of unit vectors = 2 (1 - cos).
  if (metric == Metric::Cosine) best.inertia /= 2;
  FitOutcome<T> out;
  out.work_centroids = best.centroids;
  out.mean = P.mean;
  out.scale = scale;
  if (scale != 0) {
    best.centroids = scaled_copy<T>(best.centroids, -scale);
    if (metric != Metric::Cosine) best.inertia = std::ldexp(best.inertia, -2 * scale);
  }
  Result<T>& r = out.result;
  r.centroids = std::move(best.centroids);
  r.labels = std::move(best.labels);
  r.inertia = best.inertia;
  r.n_iter = best.n_iter;
  r.converged = best.converged;
  r.distance_evaluations = best.evaluations;
  r.algorithm = best.algorithm;
  return out;
}

/// The whole fit of the rows X of this process (the others' through `ex`), from the
/// given starting centroids or seeded per Params; `pool_for(threads)` provides the
/// workers once the input is checked.
template <class T, class Arch>
FitOutcome<T> fit_pipeline(Exchange<T>& ex, MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
                           const T* weights, std::size_t n_weights,
                           const std::function<ThreadPool&(std::size_t)>& pool_for) {
  const InputShape shape = ex.agree_on_input(X, p, initial, weights, n_weights);
  // A process without rows may pass any column count; give it the others'.
  if (X.rows() == 0) X = MatrixView<const T>(X.data(), 0, shape.cols, shape.cols);
  WorkingRows<T> work(X, initial);
  const bool cosine = p.metric == Metric::Cosine;
  if (cosine) ex.checked([&] { check_finite(X, ex.rows_name()); });
  const Stopwatch clock;
  ThreadPool& pool =
      pool_for(fit_threads(p.n_threads, X.rows(), shape.cols, p.n_clusters));
  // Cosine: unit rows computed where they are read (one UnitScale per row, no copy).
  Problem<T> P = make_problem(work.rows(), weights, pool, ex, shape, cosine);
  if (cosine) ex.checked([&] { work.normalize_initial(); });
  const int scale = safe_scale_exponent(P, pool, ex);
  if (scale != 0) {
    work.scale(scale);
    P = make_problem(work.rows(), weights, pool, ex, shape);
  }
  P.metric = p.metric;
  RunResult<T> best = best_run<T, Arch>(ex, P, p, work.initial(), pool, clock);
  return outcome(std::move(best), P, p.metric, scale);
}

}  // namespace detail
}  // namespace lloyd
