// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Distributed k-means over MPI: each process (rank) holds some of the rows, and the
// ranks together fit one model, as KMeans::fit would on all the rows at once.
//
// Optional: only a program that includes this header needs MPI (CMake: link the target
// lloyd::mpi, created when find_package(MPI) succeeds); lloyd.hpp does not include it.
//
// This header holds only communication: the fit itself is the single-process pipeline
// (detail/pipeline.hpp), run on every rank over this rank's rows, with MpiExchange as
// its Exchange (detail/exchange.hpp); the communicator wrapper is mpi/comm.hpp. Per
// Lloyd iteration each rank labels its own rows with the same kernels and algorithms as
// one process, and the ranks add their cluster sums: k (d + 2) doubles. Every decision is taken from summed values, so all ranks take
// the same ones. Sums over ranks use a fixed order (a binomial tree towards rank 0, then
// a broadcast), not MPI_Allreduce, whose order of addition MPI leaves open: the same
// rows split the same way give bit-identical results run after run, on every rank.

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/exchange.hpp"
#include "detail/pipeline.hpp"
#include "matrix.hpp"
#include "mpi/comm.hpp"
#include "params.hpp"
#include "result.hpp"

namespace lloyd {
namespace mpi {
namespace detail {

/// The Exchange of a distributed fit (detail/exchange.hpp): every operation over the
/// ranks of `comm`.
template <class T>
class MpiExchange final : public ::lloyd::detail::Exchange<T> {
 public:
  explicit MpiExchange(Comm& comm) : comm_(comm) {}

  // What each rank can check alone (any failure makes every rank throw); then the shape
  // of all the rows and what must be the same everywhere: the options, the overload
  // called, the starting centroids.
  ::lloyd::detail::InputShape agree_on_input(MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
                                             const T* weights, std::size_t n_weights) override {
    namespace ld = ::lloyd::detail;
    bool any_positive = false;
    checked([&] {
      ld::check_params(p);
      // (All zero is allowed here: some other rank may hold positive weights.)
      if (weights) any_positive = ld::check_weights(weights, n_weights, X.rows(), false);
      ld::check_finite(X, "local_rows");
    });
    struct Shape {
      std::uint64_t rows, cols, options;
    };
    const auto shapes = comm_.allgather(Shape{X.rows(), X.cols(), options_fingerprint(p, initial, weights)});
    ld::InputShape all;
    int d_rank = -1;
    for (std::size_t r = 0; r < shapes.size(); ++r) {
      if (shapes[r].options != shapes[0].options)
        ld::throw_invalid("rank ", r, " called mpi::fit with other Params or another overload (initial centroids, "
                          "weights) than rank 0: every rank must pass the same options");
      if (static_cast<int>(r) == comm_.rank()) all.first_row = all.total_rows;
      all.total_rows += shapes[r].rows;
      if (shapes[r].rows == 0) continue;
      if (d_rank < 0) {
        all.cols = shapes[r].cols;
        d_rank = static_cast<int>(r);
      } else if (shapes[r].cols != all.cols) {
        ld::throw_invalid("local_rows of rank ", r, " has ", shapes[r].cols, " columns but rank ", d_rank, "'s has ",
                          all.cols, ": every rank must hold rows of the same features");
      }
    }
    if (all.total_rows == 0)
      ld::throw_invalid("local_rows: all ", shapes.size(), " ranks have 0 rows: cannot cluster empty data");
    if (all.cols == 0) ld::throw_invalid("local_rows has 0 columns: need at least one feature");
    ld::check_cluster_count<T>(p.n_clusters, all.total_rows, "all ranks");
    if (weights && !comm_.any(any_positive))
      ld::throw_invalid("sample_weight: every weight on every rank is 0; at least one must be positive");
    if (initial) {
      checked([&] { ld::check_initial_centroids(*initial, p.n_clusters, all.cols); });
      const std::vector<std::uint64_t> prints = comm_.allgather(fingerprint(*initial));
      for (std::size_t r = 1; r < prints.size(); ++r)
        if (prints[r] != prints[0])
          ld::throw_invalid("initial_centroids of rank ", r, " differ from rank 0's: every rank must pass the same");
    }
    return all;
  }

  void checked(const std::function<void()>& local_checks) override {
    std::string error;
    try {
      local_checks();
    } catch (const ::lloyd::detail::InvalidArgument& e) {
      error = e.reason();
    } catch (const std::exception& e) {
      error = e.what();
    }
    comm_.agree_on_error(error);
  }
  const char* rows_name() const noexcept override { return "local_rows"; }

  double sum(double local) override { return comm_.sum(local); }
  std::size_t sum(std::size_t local) override { return comm_.sum(local); }
  double max(double local) override { return comm_.max(local); }
  bool any(bool local) override { return comm_.any(local); }
  void sum_in_place(double* v, std::size_t count) override { comm_.sum_in_place(v, count); }

  // The local totals packed into one buffer of k (d + 2) doubles (counts are exact in
  // double up to 2^53), summed, unpacked.
  const ::lloyd::detail::ClusterTotals& totals(const ::lloyd::detail::ClusterTotals& local,
                                               ::lloyd::detail::ClusterTotals& out) override {
    const std::size_t k = local.weight.size(), kd = local.sums.size();
    packed_.assign(local.sums.begin(), local.sums.end());
    packed_.insert(packed_.end(), local.weight.begin(), local.weight.end());
    for (std::size_t c = 0; c < k; ++c) packed_.push_back(static_cast<double>(local.members[c]));
    comm_.sum_in_place(packed_.data(), packed_.size());
    out.sums.assign(packed_.begin(), packed_.begin() + static_cast<std::ptrdiff_t>(kd));
    out.weight.assign(packed_.begin() + static_cast<std::ptrdiff_t>(kd), packed_.begin() + static_cast<std::ptrdiff_t>(kd + k));
    out.members.resize(k);
    for (std::size_t c = 0; c < k; ++c) out.members[c] = static_cast<std::size_t>(packed_[kd + k + c]);
    return out;
  }
  std::vector<unsigned char> gather(const void* bytes, std::size_t size) override { return comm_.allgatherv(bytes, size); }

  void row_uniforms(::lloyd::detail::Rng& rng, std::uint64_t first_row, std::size_t n, double* out) override {
    const std::uint64_t stream = rng.next();
    for (std::size_t i = 0; i < n; ++i) out[i] = ::lloyd::detail::hashed_uniform(stream, 0, first_row + i);
  }
  bool greedy_seeding() const noexcept override { return false; }
  bool lead() const noexcept override { return comm_.rank() == 0; }

 private:
  Comm& comm_;
  std::vector<double> packed_;
};

template <class T, class Arch>
Result<T> fit(MPI_Comm user_comm, MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
              const T* weights, std::size_t n_weights) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized)
    throw std::logic_error("lloyd::mpi::fit: MPI is not initialized (call MPI_Init first) or already finalized");
  const OwnComm own(user_comm);
  Comm comm(own.get());
  MpiExchange<T> ex(comm);
  std::unique_ptr<::lloyd::detail::ThreadPool> pool;
  auto pool_for = [&pool](std::size_t threads) -> ::lloyd::detail::ThreadPool& {
    pool = std::make_unique<::lloyd::detail::ThreadPool>(threads);
    return *pool;
  };
  return ::lloyd::detail::fit_pipeline<T, Arch>(ex, X, p, initial, weights, n_weights, pool_for).result;
}

template <class W, class = void>
struct is_weights : std::false_type {};
template <class W>
struct is_weights<W, std::void_t<decltype(std::data(std::declval<const W&>())), decltype(std::size(std::declval<const W&>()))>>
    : std::integral_constant<bool, !::lloyd::detail::is_matrix<W>::value> {};

}  // namespace detail

namespace ld = ::lloyd::detail;

/// Fits k-means to the rows of all ranks of `comm` together; this rank holds
/// `local_rows` (any number, zero included; the same columns on every rank). Every rank
/// of the communicator must call it, with the same Params. Matrix arguments may be
/// Matrix<T> or MatrixView<const T>, in any combination; T is deduced or given
/// (fit<float>(...)).
///
/// Seeding: Init::Random draws k rows by weight (the same rows for any number of
/// ranks); every other Init runs k-means|| over the ranks (five rounds of sampling;
/// greedy k-means++ would need k rounds of communication).
///
/// Returns this rank's labels (one per local row); centroids, inertia, n_iter,
/// converged, distance_evaluations and algorithm are identical on every rank. Invalid
/// input on any rank (NaN, negative weights, mismatched columns, k larger than all the
/// rows) makes every rank throw the same std::invalid_argument, naming the rank. Params::
/// on_iteration runs on every rank (a stop requested on any rank stops all; an exception
/// it throws must be thrown on every rank alike); verbose lines come from rank 0 only.
/// Failures that only one rank sees after the checks (std::bad_alloc) cannot be agreed
/// on: the other ranks would wait; calling MPI_Abort on them is the caller's choice.
template <class T = ld::deduced, class Arch = ld::default_arch, class Rows,
          std::enable_if_t<ld::is_matrix<Rows>::value, int> = 0, class S = ld::scalar_for_t<T, Rows>>
Result<S> fit(MPI_Comm comm, const Rows& local_rows, const Params& p) {
  return detail::fit<S, Arch>(comm, MatrixView<const S>(local_rows), p, nullptr, nullptr, 0);
}

/// As above, from k x d starting centroids, which must be the same on every rank.
template <class T = ld::deduced, class Arch = ld::default_arch, class Rows, class Start,
          std::enable_if_t<ld::is_matrix<Rows>::value && ld::is_matrix<Start>::value, int> = 0,
          class S = ld::scalar_for_t<T, Rows>>
Result<S> fit(MPI_Comm comm, const Rows& local_rows, const Params& p, const Start& initial_centroids) {
  const MatrixView<const S> start(initial_centroids);
  return detail::fit<S, Arch>(comm, MatrixView<const S>(local_rows), p, &start, nullptr, 0);
}

/// Weighted: one non-negative weight per local row (some positive weight on some rank),
/// any contiguous range of T (std::vector<T>, std::array ...).
template <class T = ld::deduced, class Arch = ld::default_arch, class Rows, class W,
          std::enable_if_t<ld::is_matrix<Rows>::value && detail::is_weights<W>::value, int> = 0,
          class S = ld::scalar_for_t<T, Rows>>
Result<S> fit(MPI_Comm comm, const Rows& local_rows, const Params& p, const W& sample_weight) {
  return detail::fit<S, Arch>(comm, MatrixView<const S>(local_rows), p, nullptr, std::data(sample_weight),
                              std::size(sample_weight));
}

/// Weighted, from starting centroids (the same on every rank).
template <class T = ld::deduced, class Arch = ld::default_arch, class Rows, class Start, class W,
          std::enable_if_t<ld::is_matrix<Rows>::value && ld::is_matrix<Start>::value, int> = 0,
          class S = ld::scalar_for_t<T, Rows>>
Result<S> fit(MPI_Comm comm, const Rows& local_rows, const Params& p, const Start& initial_centroids,
              const W& sample_weight) {
  const MatrixView<const S> start(initial_centroids);
  return detail::fit<S, Arch>(comm, MatrixView<const S>(local_rows), p, &start, std::data(sample_weight),
                              std::size(sample_weight));
}

}  // namespace mpi
}  // namespace lloyd
