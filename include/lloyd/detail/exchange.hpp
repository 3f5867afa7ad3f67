// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The seam between one process and many: everything the processes of a fit must agree
// on, as one interface. The fit pipeline (pipeline.hpp), the seedings (seeding.hpp),
// the Lloyd steps (steps.hpp) and the relocation of empty clusters (relocate.hpp) are
// written once, against Exchange; a single-process fit passes LocalExchange, whose
// every operation is the identity (its rows are all the rows), and lloyd/mpi.hpp
// implements it over MPI.
//
// Contract of an implementation (every process calls every operation, in the same
// order, with arguments of the same shape):
//  - sums are added in a fixed order, so every process gets the same bits, run after
//    run, whatever the number of threads;
//  - gather() returns the bytes of every process, concatenated in process order; global
//    row indices number the rows of process 0 first, then process 1's, and so on;
//  - agree_on_input() and checked() make every process throw the same
//    std::invalid_argument when any process found a problem (none may deadlock).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"
#include "checks.hpp"
#include "random.hpp"

namespace lloyd {
namespace detail {

/// The shape of all the rows of a fit, as every process sees it after agree_on_input().
struct InputShape {
  std::size_t total_rows = 0;   ///< rows of all processes
  std::size_t cols = 0;         ///< features (the same everywhere)
  std::uint64_t first_row = 0;  ///< global index of this process's first row
};

/// Per-cluster totals of one update: weighted feature sums (k x d), weights and counts.
struct ClusterTotals {
  std::vector<double> sums;
  std::vector<double> weight;
  std::vector<std::size_t> members;
};

template <class T>
class Exchange {
 public:
  virtual ~Exchange() = default;

  /// Validates the options and this process's input (rows, weights, starting
  /// centroids, which may be null), agrees on them with the others, and returns the
  /// shape of all the rows. Throws std::invalid_argument (the same on every process).
  virtual InputShape agree_on_input(MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
                                    const T* weights, std::size_t n_weights) = 0;
  /// Runs checks of this process's data; if any process's checks throw, every process
  /// throws the same std::invalid_argument.
  virtual void checked(const std::function<void()>& local_checks) = 0;
  /// What the rows are called in messages ("X", "local_rows").
  virtual const char* rows_name() const noexcept = 0;

  virtual double sum(double local) = 0;
  virtual std::size_t sum(std::size_t local) = 0;
  virtual double max(double local) = 0;
  virtual bool any(bool local) = 0;
  /// Element-wise sums of v[0..count) over the processes, in place.
  virtual void sum_in_place(double* v, std::size_t count) = 0;
  /// The cluster totals over all processes: `local` itself for one process, else
  /// `scratch` filled with the sums (local stays as it is: it may be re-summed in part).
  virtual const ClusterTotals& totals(const ClusterTotals& local, ClusterTotals& scratch) = 0;
  /// The bytes of every process, concatenated in process order.
  virtual std::vector<unsigned char> gather(const void* bytes, std::size_t size) = 0;

  /// One uniform in (0, 1] per local row, for the random draws of seedings. One process
  /// draws them in row order from rng; many draw each from (a stream of rng, the row's
  /// global index), so that the draw does not depend on how the rows are split.
  virtual void row_uniforms(Rng& rng, std::uint64_t first_row, std::size_t n, double* out) = 0;
  /// Whether greedy k-means++ may run (it needs one exchange per centroid: a
  /// distributed fit seeds with k-means|| instead).
  virtual bool greedy_seeding() const noexcept = 0;
  /// Whether this process prints the verbose lines (one process does).
  virtual bool lead() const noexcept = 0;
};

/// Every process's items, concatenated in process order (items: trivially copyable).
template <class U, class T>
std::vector<U> gather(Exchange<T>& ex, const std::vector<U>& local) {
  static_assert(std::is_trivially_copyable<U>::value, "gather needs trivially copyable items");
  const std::vector<unsigned char> bytes = ex.gather(local.data(), local.size() * sizeof(U));
  std::vector<U> all(bytes.size() / sizeof(U));
  if (!all.empty()) std::memcpy(all.data(), bytes.data(), bytes.size());
  return all;
}

/// The exchange of a single-process fit: its rows are all the rows; every operation is
/// the identity.
template <class T>
class LocalExchange final : public Exchange<T> {
 public:
  InputShape agree_on_input(MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
                            const T* weights, std::size_t n_weights) override {
    check_params(p);
    check_data_shape(X, p.n_clusters);
    if (weights) check_weights(weights, n_weights, X.rows());
    if (initial) check_initial_centroids(*initial, p.n_clusters, X.cols());
    return {X.rows(), X.cols(), 0};
  }
  void checked(const std::function<void()>& local_checks) override { local_checks(); }
  const char* rows_name() const noexcept override { return "X"; }

  double sum(double local) override { return local; }
  std::size_t sum(std::size_t local) override { return local; }
  double max(double local) override { return local; }
  bool any(bool local) override { return local; }
  void sum_in_place(double*, std::size_t) override {}
  const ClusterTotals& totals(const ClusterTotals& local, ClusterTotals&) override { return local; }
  std::vector<unsigned char> gather(const void* bytes, std::size_t size) override {
    if (size == 0) return {};  // (bytes may be null then)
    const auto* b = static_cast<const unsigned char*>(bytes);
    return std::vector<unsigned char>(b, b + size);
  }

  void row_uniforms(Rng& rng, std::uint64_t, std::size_t n, double* out) override {
    for (std::size_t i = 0; i < n; ++i) out[i] = rng.uniform_open0();
  }
  bool greedy_seeding() const noexcept override { return true; }
  bool lead() const noexcept override { return true; }
};

}  // namespace detail
}  // namespace lloyd
