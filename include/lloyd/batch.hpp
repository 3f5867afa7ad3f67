// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Batched clustering, as flash-kmeans does for many small problems: B independent
// n x d problems stored one after another, fitted in one call.

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "detail/checks.hpp"
#include "detail/parallel.hpp"
#include "kmeans.hpp"
#include "matrix.hpp"
#include "params.hpp"

namespace lloyd {

/// Fits B = batch_count independent problems stored one after another in `stacked`
/// (B * n rows of d features: problem b is rows [b * n, (b + 1) * n)). Problem b is
/// fitted exactly as KMeans<T>(p with seed = p.seed + b).fit(its rows) would be, so each
/// result is reproducible on its own. Small problems run in parallel, one per thread;
/// large ones one after another, each on all threads (the results are the same either
/// way). Bad input in problem b throws std::invalid_argument naming b.
template <class Given = detail::deduced, class Arch = detail::default_arch, class M,
          std::enable_if_t<detail::is_matrix<M>::value, int> = 0, class S = detail::scalar_for_t<Given, M>>
std::vector<Result<S>> fit_batch(const M& stacked_rows, std::size_t batch_count, const Params& p) {
  using T = S;
  const MatrixView<const T> stacked(stacked_rows);
  if (batch_count == 0) detail::throw_invalid("batch_count=0: need at least one problem");
  if (stacked.rows() % batch_count != 0)
    detail::throw_invalid("stacked has ", stacked.rows(), " rows, not a multiple of batch_count=", batch_count);
  detail::check_params(p);
  const std::size_t n = stacked.rows() / batch_count;
  const std::size_t threads = detail::resolve_thread_count(p.n_threads);
  // Work of one Lloyd pass over one problem; small ones gain nothing from more threads.
  const bool across = batch_count > 1 && threads > 1 && n * p.n_clusters * stacked.cols() < (std::size_t(1) << 24);
  std::vector<Result<T>> results(batch_count);
  std::vector<std::exception_ptr> errors(batch_count);
  auto fit_one = [&](std::size_t b, int inner_threads) {
    try {
      Params pb = p;
      pb.seed = p.seed + b;
      pb.n_threads = inner_threads;
      results[b] = KMeans<T, Arch>(pb).fit(stacked.rows_range(b * n, n));
    } catch (...) {
      errors[b] = std::current_exception();
    }
  };
  if (across) {
    detail::ThreadPool pool(std::min(threads, batch_count));
    pool.parallel_for(batch_count, [&](std::size_t b, std::size_t) { fit_one(b, 1); });
  } else {
    for (std::size_t b = 0; b < batch_count; ++b) fit_one(b, p.n_threads);
  }
  // The lowest-numbered failure, whatever the order the problems ran in.
  for (std::size_t b = 0; b < batch_count; ++b) {
    if (!errors[b]) continue;
    try {
      std::rethrow_exception(errors[b]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("lloyd::fit_batch: problem " + std::to_string(b) + ": " + e.what());
    }
  }
  return results;
}

/// fit_batch over a raw buffer of batch_count x n x d values (C order, rows packed).
template <class T, class Arch = detail::default_arch>
std::vector<Result<T>> fit_batch(const T* data, std::size_t batch_count, std::size_t n, std::size_t d, const Params& p) {
  return fit_batch<T, Arch>(MatrixView<const T>(data, batch_count * n, d), batch_count, p);
}

}  // namespace lloyd
