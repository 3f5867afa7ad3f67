// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// The MPI side of lloyd/mpi.hpp (included by it alone): a private communicator, the
// collectives a distributed fit needs, each with a fixed order of addition (a binomial
// tree towards rank 0, then a broadcast; not MPI_Allreduce, whose order MPI leaves open),
// error agreement, and the fingerprints ranks compare before they exchange anything.

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../matrix.hpp"
#include "../params.hpp"

namespace lloyd {
namespace mpi {
namespace detail {

inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("lloyd::mpi: ") + what + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}

/// A private duplicate of the user's communicator (our messages never meet theirs).
class OwnComm {
 public:
  explicit OwnComm(MPI_Comm comm) { check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup"); }
  ~OwnComm() { MPI_Comm_free(&comm_); }
  OwnComm(const OwnComm&) = delete;
  OwnComm& operator=(const OwnComm&) = delete;
  MPI_Comm get() const noexcept { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

/// The collectives a distributed fit needs, each with a fixed order of addition.
class Comm {
 public:
  explicit Comm(MPI_Comm comm) : comm_(comm) {
    check(MPI_Comm_rank(comm, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm, &size_), "MPI_Comm_size");
  }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

  /// Element-wise sums of v over the ranks, the same bits on every rank: rank r adds,
  /// in this order, the partial sums of ranks r + 1, r + 2, r + 4, ... (binomial tree),
  /// and rank 0's total is broadcast.
  void sum_in_place(double* v, std::size_t count) {
    if (size_ == 1 || count == 0) return;
    std::vector<double> incoming;
    for (int step = 1; step < size_; step <<= 1) {
      if (rank_ & step) {
        pieces(count, [&](std::size_t at, int len) {
          check(MPI_Send(v + at, len, MPI_DOUBLE, rank_ - step, tag, comm_), "MPI_Send");
        });
        break;
      }
      if (rank_ + step < size_) {
        incoming.resize(count);
        pieces(count, [&](std::size_t at, int len) {
          check(MPI_Recv(incoming.data() + at, len, MPI_DOUBLE, rank_ + step, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
        });
        for (std::size_t i = 0; i < count; ++i) v[i] += incoming[i];
      }
    }
    pieces(count, [&](std::size_t at, int len) { check(MPI_Bcast(v + at, len, MPI_DOUBLE, 0, comm_), "MPI_Bcast"); });
  }

  /// Sum over the ranks, added in rank order.
  double sum(double local) {
    const std::vector<double> all = allgather(local);
    double s = 0;
    for (double v : all) s += v;
    return s;
  }
  std::size_t sum(std::size_t local) {
    std::uint64_t in = local, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Allreduce");
    return static_cast<std::size_t>(out);
  }
  bool any(bool local) {
    int in = local ? 1 : 0, out = 0;
    check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, comm_), "MPI_Allreduce");
    return out != 0;
  }
  double max(double local) {
    double out = 0;
    check(MPI_Allreduce(&local, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
    return out;
  }

  /// One trivially copyable value from every rank, in rank order.
  template <class U>
  std::vector<U> allgather(const U& local) {
    static_assert(std::is_trivially_copyable<U>::value, "allgather needs trivially copyable values");
    std::vector<U> all(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&local, static_cast<int>(sizeof(U)), MPI_BYTE, all.data(), static_cast<int>(sizeof(U)), MPI_BYTE,
                        comm_),
          "MPI_Allgather");
    return all;
  }

  /// Every rank's bytes, concatenated in rank order.
  std::vector<unsigned char> allgatherv(const void* bytes, std::size_t size) {
    const std::vector<std::uint64_t> counts = allgather<std::uint64_t>(size);
    std::uint64_t total = 0;
    std::vector<int> sizes(counts.size()), displs(counts.size());
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (counts[r] > static_cast<std::uint64_t>(INT_MAX) || total > static_cast<std::uint64_t>(INT_MAX))
        throw std::length_error("lloyd::mpi: more than 2 GiB to gather in one exchange");
      sizes[r] = static_cast<int>(counts[r]);
      displs[r] = static_cast<int>(total);
      total += counts[r];
    }
    std::vector<unsigned char> all(static_cast<std::size_t>(total));
    check(MPI_Allgatherv(bytes, static_cast<int>(size), MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE,
                         comm_),
          "MPI_Allgatherv");
    return all;
  }

  /// `count` values of root's v copied to every rank.
  template <class U>
  void broadcast(U* v, std::size_t count, int root) {
    pieces(count * sizeof(U), [&](std::size_t at, int len) {
      check(MPI_Bcast(reinterpret_cast<char*>(v) + at, len, MPI_BYTE, root, comm_), "MPI_Bcast");
    });
  }

  /// Makes every rank throw the same std::invalid_argument when any rank found a
  /// problem (local_error non-empty: the reason, without the "lloyd: " prefix): the
  /// first such rank's reason, naming the rank. Every rank must call it at the same point.
  void agree_on_error(const std::string& local_error) {
    const int mine = local_error.empty() ? size_ : rank_;
    int first = size_;
    check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
    if (first == size_) return;
    std::uint64_t len = rank_ == first ? local_error.size() : 0;
    broadcast(&len, 1, first);
    std::string text(static_cast<std::size_t>(len), '\0');
    if (rank_ == first) text = local_error;
    if (len > 0) broadcast(&text[0], text.size(), first);
    throw std::invalid_argument("lloyd::mpi::fit: rank " + std::to_string(first) + ": " + text);
  }

 private:
  static constexpr int tag = 0x11d;
  // Calls f(offset, length) over [0, count) in pieces that fit an MPI int count.
  template <class F>
  static void pieces(std::size_t count, F&& f) {
    const std::size_t most = std::size_t(1) << 30;
    for (std::size_t at = 0; at < count; at += most) f(at, static_cast<int>(std::min(most, count - at)));
  }

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

// FNV-1a over bytes of values, in order: fingerprints ranks compare.
class Fnv {
 public:
  template <class V>
  void add(const V& v) noexcept {
    unsigned char bytes[sizeof(V)];
    std::memcpy(bytes, &v, sizeof(V));
    for (unsigned char b : bytes) h_ = (h_ ^ b) * 0x100000001b3ull;
  }
  std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

// A matrix's values: to check that every rank passed the same starting centroids.
template <class T>
std::uint64_t fingerprint(MatrixView<const T> A) {
  Fnv h;
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j) h.add(A(i, j));
  return h.value();
}

// What every rank must agree on before any other exchange: the Params that steer the
// fit (not the callbacks, verbose or thread counts) and which overload was called.
template <class T>
std::uint64_t options_fingerprint(const Params& p, const void* initial, const T* weights) {
  Fnv h;
  h.add(static_cast<std::uint64_t>(p.n_clusters));
  h.add(p.max_iter);
  h.add(p.tol);
  h.add(p.inertia_tol);
  h.add(p.run_till_max_iter);
  h.add(static_cast<int>(p.init));
  h.add(static_cast<int>(p.algorithm));
  h.add(static_cast<int>(p.metric));
  h.add(p.n_init);
  h.add(static_cast<std::uint64_t>(p.seed));
  h.add(static_cast<std::uint64_t>(p.max_memory_bytes));
  h.add(initial != nullptr);
  h.add(weights != nullptr);
  return h.value();
}

}  // namespace detail
}  // namespace mpi
}  // namespace lloyd
