// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Distributed k-means over MPI: each process (rank) holds some of the rows, and the
// ranks together fit one model, as KMeans::fit would on all the rows at once.
//
// Optional: only a program that includes this header needs MPI (CMake: link the target
// lloyd::mpi, created when find_package(MPI) succeeds); lloyd.hpp does not include it.
//
// Per Lloyd iteration each rank labels its own rows with the same kernels as a
// single-process fit (and the same bounded algorithms: their bounds are per row), sums
// its rows per cluster, and the ranks add those sums: k (d + 2) doubles (sums, weights,
// counts). Every decision (convergence, empty clusters, stopping) is taken from summed
// values only, so all ranks take the same ones. Sums over ranks use a fixed order (a
// binomial tree towards rank 0, then a broadcast), not MPI_Allreduce, whose order of
// addition MPI leaves to the implementation: the same rows split the same way give
// bit-identical results run after run, and every rank holds the same bits.

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "init.hpp"
#include "kmeans.hpp"
#include "matrix.hpp"
#include "params.hpp"

namespace lloyd {
namespace mpi {
namespace detail {

template <class T>
MPI_Datatype datatype();
template <>
inline MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

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

  /// Every rank's items, concatenated in rank order (items: trivially copyable).
  template <class U>
  std::vector<U> allgatherv(const std::vector<U>& local) {
    static_assert(std::is_trivially_copyable<U>::value, "allgatherv needs trivially copyable values");
    const std::vector<std::uint64_t> counts = allgather<std::uint64_t>(local.size());
    std::uint64_t total = 0;
    std::vector<int> bytes(counts.size()), displs(counts.size());
    for (std::size_t r = 0; r < counts.size(); ++r) {
      const std::uint64_t b = counts[r] * sizeof(U), at = total * sizeof(U);
      if (b > static_cast<std::uint64_t>(INT_MAX) || at > static_cast<std::uint64_t>(INT_MAX))
        throw std::length_error("lloyd::mpi: more than 2 GiB to gather in one exchange");
      bytes[r] = static_cast<int>(b);
      displs[r] = static_cast<int>(at);
      total += counts[r];
    }
    std::vector<U> all(static_cast<std::size_t>(total));
    check(MPI_Allgatherv(local.data(), static_cast<int>(local.size() * sizeof(U)), MPI_BYTE, all.data(), bytes.data(),
                         displs.data(), MPI_BYTE, comm_),
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
  /// problem (local_error non-empty): the first such rank's message, naming the rank.
  /// Every rank must call it at the same point.
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
    const std::string prefix = "lloyd: ";
    if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
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

/// The rows of a distributed fit: this rank's rows, where they sit among all rows.
template <class T>
struct Shard {
  const ::lloyd::detail::Problem<T>& P;
  std::vector<std::uint64_t> rows_of;  ///< rows of each rank
  std::vector<std::uint64_t> first_of;  ///< global index of each rank's first row
  std::size_t total_rows = 0;
  std::size_t offset() const noexcept { return first_of[static_cast<std::size_t>(rank)]; }
  int rank = 0;

  /// The rank holding global row g.
  int owner(std::uint64_t g) const noexcept {
    int r = 0;
    while (r + 1 < static_cast<int>(first_of.size()) &&
           (g >= first_of[static_cast<std::size_t>(r)] + rows_of[static_cast<std::size_t>(r)]))
      ++r;
    return r;
  }
};

/// Rows of all ranks, given by global index, as one matrix identical on every rank.
template <class T>
Matrix<T> rows_by_index(Comm& comm, const Shard<T>& S, const std::vector<std::uint64_t>& index) {
  const std::size_t d = S.P.d;
  std::vector<T> mine;
  const std::uint64_t lo = S.offset(), hi = lo + S.P.n;
  for (std::uint64_t g : index)
    if (g >= lo && g < hi) {
      const T* x = S.P.X.row(static_cast<std::size_t>(g - lo));
      mine.insert(mine.end(), x, x + d);
    }
  const std::vector<T> all = comm.allgatherv(mine);
  // all = rank 0's rows (in the order of `index`), then rank 1's, ...
  std::vector<std::size_t> next(S.rows_of.size(), 0), start(S.rows_of.size(), 0);
  for (std::uint64_t g : index) ++next[static_cast<std::size_t>(S.owner(g))];
  for (std::size_t r = 1; r < start.size(); ++r) start[r] = start[r - 1] + next[r - 1];
  std::fill(next.begin(), next.end(), std::size_t(0));
  Matrix<T> out(index.size(), d);
  for (std::size_t c = 0; c < index.size(); ++c) {
    const std::size_t r = static_cast<std::size_t>(S.owner(index[c]));
    std::copy_n(all.data() + (start[r] + next[r]++) * d, d, out.row(c));
  }
  return out;
}

/// The global row whose cumulative weight first exceeds r (r in [0, total weight)):
/// what a single process would pick from all the rows, found by rank then locally.
template <class T>
std::uint64_t row_by_weight(Comm& comm, const Shard<T>& S, double r) {
  double local = 0;
  for (std::size_t i = 0; i < S.P.n; ++i) local += static_cast<double>(S.P.weight(i));
  const std::vector<double> per_rank = comm.allgather(local);
  std::size_t owner = per_rank.size();
  for (std::size_t q = 0; q < per_rank.size(); ++q) {
    if (!(per_rank[q] > 0)) continue;
    owner = q;
    if (r < per_rank[q]) break;
    r -= per_rank[q];  // rounding may leave r past the last rank: its last row is taken
  }
  std::uint64_t pick = 0;
  if (static_cast<int>(owner) == comm.rank()) {
    double acc = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < S.P.n; ++i) {
      const double w = static_cast<double>(S.P.weight(i));
      if (w <= 0) continue;
      acc += w;
      last = i;
      if (acc > r) break;
    }
    pick = S.offset() + last;
  }
  comm.broadcast(&pick, 1, static_cast<int>(owner));
  return pick;
}

/// k distinct rows drawn with probability proportional to weight, as random_seeding
/// does on one process (keys log(u) / w, u from the row's global index): the same rows
/// whatever the number of ranks.
template <class T>
Matrix<T> random_rows(Comm& comm, const Shard<T>& S, std::size_t k, ::lloyd::detail::Rng& rng) {
  struct Key {
    double key;
    std::uint64_t index;
  };
  const std::uint64_t stream = rng.next();
  std::vector<Key> keys(S.P.n);
  for (std::size_t i = 0; i < S.P.n; ++i) {
    const double w = static_cast<double>(S.P.weight(i));
    const std::uint64_t g = S.offset() + i;
    const double u = ::lloyd::detail::hashed_uniform(stream, 0, g);
    keys[i] = {w > 0 ? std::log(u) / w : -std::numeric_limits<double>::infinity(), g};
  }
  auto before = [](const Key& a, const Key& b) { return a.key > b.key || (a.key == b.key && a.index < b.index); };
  const std::size_t top = std::min(k, keys.size());
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(top), keys.end(), before);
  keys.resize(top);
  std::vector<Key> all = comm.allgatherv(keys);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
  std::vector<std::uint64_t> index(k);
  for (std::size_t c = 0; c < k; ++c) index[c] = all[c].index;
  return rows_by_index(comm, S, index);
}

/// k-means|| over the ranks (see lloyd::detail::kmeans_parallel_seeding): the first
/// candidate drawn by weight; in each of `rounds` rounds every rank keeps each of its
/// rows with probability min(1, l w D^2 / potential) (potential summed over the ranks,
/// draws from the row's global index); the ranks exchange the rows kept; finally the
/// candidates, weighted by the rows nearest to each (summed over the ranks), are reduced
/// to k centroids by weighted greedy k-means++, run identically on every rank.
template <class T, class Arch>
Matrix<T> kmeans_parallel(Comm& comm, const Shard<T>& S, std::size_t k, ::lloyd::detail::Rng& rng,
                          ::lloyd::detail::ThreadPool& pool, int rounds = 5) {
  namespace ld = ::lloyd::detail;
  const ld::Problem<T>& P = S.P;
  const std::size_t n = P.n, d = P.d;
  const double oversampling = std::max(1.0, 0.5 * static_cast<double>(k));
  const ld::Chunking chunks(n, 2048, 1024);
  std::vector<double> closest(n, std::numeric_limits<double>::infinity());
  std::vector<std::uint32_t> nearest(n, 0);
  std::vector<double> chunk_pot(chunks.count());
  std::vector<unsigned char> is_candidate(n, 0);
  std::vector<T> cand;  // candidate rows, m x d, identical on every rank
  std::size_t m = 0;

  ld::AssignKernel<T, Arch> kernel(d, P.mean.data());
  std::vector<typename ld::AssignKernel<T, Arch>::Workspace> ws(pool.size());
  // closest/nearest of the local rows against the candidates [first, m).
  auto absorb = [&](std::size_t first) {
    const std::size_t fresh = m - first;
    const MatrixView<const T> C(cand.data() + first * d, fresh, d);
    ld::absorb_candidates<T, Arch>(P, chunks, kernel, ws, pool, C, first, closest, nearest, chunk_pot);
  };
  auto add_rows = [&](const Matrix<T>& rows) {
    for (std::size_t c = 0; c < rows.rows(); ++c) cand.insert(cand.end(), rows.row(c), rows.row(c) + d);
    m += rows.rows();
  };
  auto mark = [&](std::uint64_t g) {
    if (g >= S.offset() && g < S.offset() + n) is_candidate[static_cast<std::size_t>(g - S.offset())] = 1;
  };

  double total_weight = 0;
  for (std::size_t i = 0; i < n; ++i) total_weight += static_cast<double>(P.weight(i));
  total_weight = comm.sum(total_weight);
  const std::uint64_t first = row_by_weight(comm, S, rng.uniform() * total_weight);
  const std::uint64_t stream = rng.next();
  mark(first);
  add_rows(rows_by_index(comm, S, {first}));
  absorb(0);
  for (int round = 0; round < rounds; ++round) {
    double pot = 0;
    for (double v : chunk_pot) pot += v;
    pot = comm.sum(pot);
    if (!(pot > 0)) break;  // every row is on a candidate
    std::vector<T> picked;
    for (std::size_t i = 0; i < n; ++i) {
      const double prob = oversampling * static_cast<double>(P.weight(i)) * closest[i] / pot;
      if (prob > 0 && !is_candidate[i] &&
          ld::hashed_uniform(stream, static_cast<std::uint64_t>(round), S.offset() + i) <= prob) {
        is_candidate[i] = 1;
        picked.insert(picked.end(), P.X.row(i), P.X.row(i) + d);
      }
    }
    const std::vector<T> all = comm.allgatherv(picked);
    if (all.empty()) continue;
    const std::size_t before = m;
    cand.insert(cand.end(), all.begin(), all.end());
    m += all.size() / d;
    absorb(before);
  }
  // Too few candidates (few distinct rows): pad with the first rows not yet taken.
  if (m < k) {
    std::vector<std::uint64_t> spare;
    for (std::size_t i = 0; i < n && spare.size() < k - m; ++i)
      if (!is_candidate[i]) spare.push_back(S.offset() + i);
    std::vector<std::uint64_t> all = comm.allgatherv(spare);
    all.resize(std::min(all.size(), k - m));  // rank order = global order
    for (std::uint64_t g : all) mark(g);
    const std::size_t before = m;
    add_rows(rows_by_index(comm, S, all));
    absorb(before);
  }
  // Weights of the candidates: the rows nearest to each, summed over the ranks.
  std::vector<double> weight(m, 0.0);
  for (std::size_t i = 0; i < n; ++i) weight[nearest[i]] += static_cast<double>(P.weight(i));
  comm.sum_in_place(weight.data(), m);
  std::vector<T> w(m);
  for (std::size_t c = 0; c < m; ++c) w[c] = weight[c] > 0 ? static_cast<T>(weight[c]) : std::numeric_limits<T>::min();
  const MatrixView<const T> C(cand.data(), m, d);
  const ld::Problem<T> Q = ld::make_problem<T>(C, w.data(), pool);
  return ld::kmeans_plusplus_seeding<T, Arch>(Q, k, rng, pool).centroids;
}

/// The Agreement of detail::iterate over MPI, with the global relocation of rows into
/// empty clusters.
template <class T>
class Collective final : public ::lloyd::detail::Agreement<T> {
 public:
  Collective(Comm& comm, const Shard<T>& shard, Metric metric) : comm_(comm), S_(shard), metric_(metric) {}

  double sum(double local) override { return comm_.sum(local); }
  std::size_t sum(std::size_t local) override { return comm_.sum(local); }
  bool any(bool local) override { return comm_.any(local); }
  void sum_in_place(double* v, std::size_t count) override { comm_.sum_in_place(v, count); }

  // The rows a single process would move (LloydSteps::relocate on all rows): the
  // farthest first (ties: lower global index), never a cluster's last row. Each rank
  // offers its farthest candidates; if the merged list runs past what some rank
  // offered before the empty clusters are filled, all ranks ask for twice as many.
  std::size_t relocate(const std::vector<std::size_t>& empty, const std::vector<std::size_t>& members,
                       std::int32_t* labels, const T* dist) override {
    struct Cand {
      double dist;
      std::uint64_t index;
      std::int64_t label;
    };
    auto before = [](const Cand& a, const Cand& b) { return a.dist > b.dist || (a.dist == b.dist && a.index < b.index); };
    const ::lloyd::detail::Problem<T>& P = S_.P;
    std::vector<Cand> local;
    for (std::size_t i = 0; i < P.n; ++i)
      if ((metric_ == Metric::Dot || dist[i] > 0) && P.weight(i) > 0)
        local.push_back({static_cast<double>(dist[i]), S_.offset() + i, labels[i]});
    std::size_t offer = 4 * empty.size() + 64;
    for (;;) {
      const std::size_t mine = std::min(offer, local.size());
      std::partial_sort(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(mine), local.end(), before);
      const std::vector<Cand> offered = comm_.allgatherv(std::vector<Cand>(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(mine)));
      const std::vector<unsigned char> more = comm_.allgather<unsigned char>(local.size() > mine ? 1 : 0);
      // The last candidate offered by each rank that holds more: nothing past the
      // earliest of them may be used before those ranks offer more.
      bool limited = false;
      Cand limit{};
      {
        std::size_t at = 0;
        const std::vector<std::uint64_t> counts = comm_.allgather<std::uint64_t>(mine);
        for (std::size_t r = 0; r < counts.size(); ++r) {
          if (more[r] && counts[r] > 0) {
            const Cand& last = offered[at + counts[r] - 1];
            if (!limited || before(last, limit)) limit = last;
            limited = true;
          }
          at += counts[r];
        }
      }
      std::vector<Cand> merged = offered;
      std::sort(merged.begin(), merged.end(), before);
      std::vector<std::size_t> count = members;
      std::vector<std::pair<std::uint64_t, std::int32_t>> moves;
      for (const Cand& c : merged) {
        if (moves.size() == empty.size() || (limited && before(limit, c))) break;
        const std::size_t old = static_cast<std::size_t>(c.label);
        if (count[old] <= 1) continue;
        --count[old];
        moves.emplace_back(c.index, static_cast<std::int32_t>(empty[moves.size()]));
      }
      // Short of rows while some rank holds candidates it did not offer: ask for more.
      if (moves.size() < empty.size() && limited) {
        offer *= 2;
        continue;
      }
      for (const auto& mv : moves)
        if (mv.first >= S_.offset() && mv.first < S_.offset() + P.n)
          labels[static_cast<std::size_t>(mv.first - S_.offset())] = mv.second;
      return moves.size();
    }
  }

 private:
  Comm& comm_;
  const Shard<T>& S_;
  Metric metric_;
};

// FNV-1a over the bytes of a matrix's values: to check that every rank passed the same
// starting centroids.
template <class T>
std::uint64_t fingerprint(MatrixView<const T> A) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j) {
      unsigned char bytes[sizeof(T)];
      const T v = A(i, j);
      std::memcpy(bytes, &v, sizeof(T));
      for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ull;
    }
  return h;
}

// What every rank must agree on before any other exchange: the Params that steer the
// fit (not the callbacks, verbose or thread counts) and which overload was called.
template <class T>
std::uint64_t options_fingerprint(const Params& p, const void* initial, const T* weights) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const auto& v) {
    unsigned char bytes[sizeof(v)];
    std::memcpy(bytes, &v, sizeof(v));
    for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ull;
  };
  mix(static_cast<std::uint64_t>(p.n_clusters));
  mix(p.max_iter);
  mix(p.tol);
  mix(p.inertia_tol);
  mix(p.run_till_max_iter);
  mix(static_cast<int>(p.init));
  mix(static_cast<int>(p.algorithm));
  mix(static_cast<int>(p.metric));
  mix(p.n_init);
  mix(static_cast<std::uint64_t>(p.seed));
  mix(static_cast<std::uint64_t>(p.max_memory_bytes));
  mix(initial != nullptr);
  mix(weights != nullptr);
  return h;
}

template <class T, class Arch>
Result<T> fit(MPI_Comm user_comm, MatrixView<const T> X, const Params& p, const MatrixView<const T>* initial,
              const T* weights, std::size_t n_weights) {
  namespace ld = ::lloyd::detail;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized)
    throw std::logic_error("lloyd::mpi::fit: MPI is not initialized (call MPI_Init first) or already finalized");
  const OwnComm own(user_comm);
  Comm comm(own.get());
  const ld::Stopwatch clock;

  // 1. What each rank can check alone; any failure makes every rank throw.
  std::string error;
  bool any_positive = false;
  try {
    ld::check_params(p);
    // (All zero is allowed here: some other rank may hold positive weights.)
    if (weights) any_positive = ld::check_weights(weights, n_weights, X.rows(), false);
    ld::check_finite(X, "local_rows");
  } catch (const std::exception& e) {
    error = e.what();
  }
  comm.agree_on_error(error);

  // 2. The shape of the whole data set (the same conclusions on every rank), and what
  // must be the same everywhere: the options and which overload was called.
  struct Shape {
    std::uint64_t rows, cols, options;
  };
  const std::vector<Shape> shapes = comm.allgather(Shape{X.rows(), X.cols(), options_fingerprint(p, initial, weights)});
  for (std::size_t r = 1; r < shapes.size(); ++r)
    if (shapes[r].options != shapes[0].options)
      ld::throw_invalid("rank ", r, " called mpi::fit with other Params or another overload (initial centroids, "
                        "weights) than rank 0: every rank must pass the same options");
  const std::size_t k = p.n_clusters;
  std::size_t N = 0, d = 0;
  int d_rank = -1;
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    N += shapes[r].rows;
    if (shapes[r].rows == 0) continue;
    if (d_rank < 0) {
      d = shapes[r].cols;
      d_rank = static_cast<int>(r);
    } else if (shapes[r].cols != d) {
      ld::throw_invalid("local_rows of rank ", r, " has ", shapes[r].cols, " columns but rank ", d_rank, "'s has ", d,
                        ": every rank must hold rows of the same features");
    }
  }
  if (N == 0) ld::throw_invalid("local_rows: all ", shapes.size(), " ranks have 0 rows: cannot cluster empty data");
  if (d == 0) ld::throw_invalid("local_rows has 0 columns: need at least one feature");
  ld::check_cluster_count<T>(k, N, "all ranks");
  if (weights && !comm.any(any_positive))
    ld::throw_invalid("sample_weight: every weight on every rank is 0; at least one must be positive");
  // An empty rank may pass any column count; give it the others'.
  if (X.rows() == 0) X = MatrixView<const T>(X.data(), 0, d, d);
  if (initial) {
    error.clear();
    try {
      ld::check_initial_centroids(*initial, k, d);
    } catch (const std::exception& e) {
      error = e.what();
    }
    comm.agree_on_error(error);
    const std::vector<std::uint64_t> prints = comm.allgather(fingerprint(*initial));
    for (std::size_t r = 1; r < prints.size(); ++r)
      if (prints[r] != prints[0])
        ld::throw_invalid("initial_centroids of rank ", r, " differ from rank 0's: every rank must pass the same");
  }

  // 3. Cosine: unit rows (and starting centroids).
  Matrix<T> unit_rows, unit_start;
  MatrixView<const T> unit_start_view;
  if (p.metric == Metric::Cosine) {
    error.clear();
    try {
      unit_rows = ld::normalized_rows<T>(X, "local_rows");
      if (initial) unit_start = ld::normalized_rows<T>(*initial, "initial_centroids");
    } catch (const std::exception& e) {
      error = e.what();
    }
    comm.agree_on_error(error);
    X = unit_rows.rows() ? MatrixView<const T>(unit_rows) : MatrixView<const T>(X.data(), 0, d, d);
    if (initial) {
      unit_start_view = unit_start;
      initial = &unit_start_view;
    }
  }

  // 4. Scale by a power of 2 if magnitudes would overflow or underflow in squares (the
  // rule of a single-process fit, from the largest |x| of all ranks).
  double max_abs = 0;
  for (std::size_t i = 0; i < X.rows(); ++i)
    for (std::size_t j = 0; j < d; ++j) max_abs = std::max(max_abs, std::abs(static_cast<double>(X(i, j))));
  max_abs = comm.max(max_abs);
  const int scale = ld::scale_exponent_for<T>(max_abs, d);
  Matrix<T> scaled_rows, scaled_start;
  MatrixView<const T> scaled_start_view;
  if (scale != 0) {
    scaled_rows = ld::scaled_copy<T>(X, scale);
    X = scaled_rows.rows() ? MatrixView<const T>(scaled_rows) : MatrixView<const T>(X.data(), 0, d, d);
    if (initial) {
      scaled_start = ld::scaled_copy<T>(*initial, scale);
      scaled_start_view = scaled_start;
      initial = &scaled_start_view;
    }
  }

  // 5. Global statistics: mean (the kernels' centring) and mean variance (tol's scale),
  // from sums of x - x0 (x0: the first row of the first rank that has rows).
  std::vector<double> origin(d);
  {
    std::vector<T> first_row(d, T(0));
    if (comm.rank() == d_rank) std::copy_n(X.row(0), d, first_row.data());
    comm.broadcast(first_row.data(), d, d_rank);
    for (std::size_t j = 0; j < d; ++j) origin[j] = static_cast<double>(first_row[j]);
  }
  std::vector<double> moments(2 * d, 0.0);
  for (std::size_t i = 0; i < X.rows(); ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const double v = static_cast<double>(X(i, j)) - origin[j];
      moments[j] += v;
      moments[d + j] += v * v;
    }
  comm.sum_in_place(moments.data(), moments.size());
  ld::Problem<T> P;
  P.X = X;
  P.weights = weights;
  P.n = X.rows();
  P.d = d;
  P.mean.resize(d);
  const double Nd = static_cast<double>(N);
  double var_sum = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double s1 = moments[j], s2 = moments[d + j];
    P.mean[j] = static_cast<T>(origin[j] + s1 / Nd);
    var_sum += std::max(0.0, (s2 - s1 * (s1 / Nd)) / Nd);
  }
  P.mean_variance = var_sum / static_cast<double>(d);
  P.total_weight = 0;
  for (std::size_t i = 0; i < P.n; ++i) P.total_weight += static_cast<double>(P.weight(i));
  P.abs_bound = max_abs;
  P.metric = p.metric;

  Shard<T> S{P, {}, {}, N, comm.rank()};
  for (const Shape& s : shapes) {
    S.first_of.push_back(S.rows_of.empty() ? 0 : S.first_of.back() + S.rows_of.back());
    S.rows_of.push_back(s.rows);
  }

  ld::ThreadPool pool(std::min(ld::resolve_thread_count(p.n_threads), std::max<std::size_t>(1, P.n / 64)));
  Collective<T> agree(comm, S, p.metric);
  Params run_params = p;
  run_params.verbose = p.verbose && comm.rank() == 0;

  ld::RunResult<T> best;
  std::size_t evaluations = 0;
  if (k == N) {
    // Every row is a centroid (in global order); labels from the assignment.
    std::vector<std::uint64_t> all(N);
    for (std::size_t g = 0; g < N; ++g) all[g] = g;
    Matrix<T> C = rows_by_index(comm, S, all);
    ld::LloydSteps<T, Arch> steps(P, k, pool);
    best.labels.assign(P.n, -1);
    std::vector<T> dist(P.n);
    best.inertia = comm.sum(steps.assign(C, best.labels.data(), dist.data()).inertia);
    best.centroids = std::move(C);
    best.converged = true;
  } else {
    const int runs = initial ? 1 : p.n_init;
    for (int run = 0; run < runs; ++run) {
      Matrix<T> C0;
      if (initial) {
        C0 = Matrix<T>(*initial);
      } else {
        ld::Rng rng(p.seed, static_cast<std::uint64_t>(run));
        C0 = p.init == Init::Random ? random_rows(comm, S, k, rng) : kmeans_parallel<T, Arch>(comm, S, k, rng, pool);
      }
      if (run_params.verbose)
        std::fprintf(stderr, "Initialization complete (run %d of %d, %d ranks, %.3f s)\n", run + 1, runs, comm.size(),
                     clock.seconds());
      auto r = ld::run_kmeans<T, Arch>(P, std::move(C0), run_params, pool, run, clock, &agree, N);
      evaluations += r.evaluations;
      if (run == 0 || r.inertia < best.inertia) best = std::move(r);
    }
  }

  if (p.metric == Metric::Cosine) best.inertia /= 2;
  if (scale != 0) {
    best.centroids = ld::scaled_copy<T>(best.centroids, -scale);
    if (p.metric != Metric::Cosine) best.inertia = std::ldexp(best.inertia, -2 * scale);
  }
  Result<T> result;
  result.centroids = std::move(best.centroids);
  result.labels = std::move(best.labels);
  result.inertia = best.inertia;
  result.n_iter = best.n_iter;
  result.converged = best.converged;
  result.distance_evaluations = evaluations;
  result.algorithm = best.algorithm;
  return result;
}

}  // namespace detail

/// Fits k-means to the rows of all ranks of `comm` together; this rank holds
/// `local_rows` (any number, zero included; the same columns on every rank). Every rank
/// of the communicator must call it, with the same Params.
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
template <class T, class Arch = ::lloyd::detail::default_arch>
Result<T> fit(MPI_Comm comm, MatrixView<const T> local_rows, const Params& p) {
  return detail::fit<T, Arch>(comm, local_rows, p, nullptr, nullptr, 0);
}

/// As above, from k x d starting centroids, which must be the same on every rank.
template <class T, class Arch = ::lloyd::detail::default_arch>
Result<T> fit(MPI_Comm comm, MatrixView<const T> local_rows, const Params& p, MatrixView<const T> initial_centroids) {
  return detail::fit<T, Arch>(comm, local_rows, p, &initial_centroids, nullptr, 0);
}

/// Weighted: one non-negative weight per local row (some positive weight on some rank).
template <class T, class Arch = ::lloyd::detail::default_arch>
Result<T> fit(MPI_Comm comm, MatrixView<const T> local_rows, const Params& p, const std::vector<T>& sample_weight) {
  return detail::fit<T, Arch>(comm, local_rows, p, nullptr, sample_weight.data(), sample_weight.size());
}

/// Weighted, from starting centroids (the same on every rank).
template <class T, class Arch = ::lloyd::detail::default_arch>
Result<T> fit(MPI_Comm comm, MatrixView<const T> local_rows, const Params& p, MatrixView<const T> initial_centroids,
              const std::vector<T>& sample_weight) {
  return detail::fit<T, Arch>(comm, local_rows, p, &initial_centroids, sample_weight.data(), sample_weight.size());
}

/// Matrix<T> arguments (the template parameter T cannot be deduced through the
/// conversion to MatrixView).
template <class T>
Result<T> fit(MPI_Comm comm, const Matrix<T>& local_rows, const Params& p) {
  return fit<T>(comm, MatrixView<const T>(local_rows), p);
}
template <class T>
Result<T> fit(MPI_Comm comm, const Matrix<T>& local_rows, const Params& p, const Matrix<T>& initial_centroids) {
  return fit<T>(comm, MatrixView<const T>(local_rows), p, MatrixView<const T>(initial_centroids));
}
template <class T>
Result<T> fit(MPI_Comm comm, const Matrix<T>& local_rows, const Params& p, const std::vector<T>& sample_weight) {
  return fit<T>(comm, MatrixView<const T>(local_rows), p, sample_weight);
}
template <class T>
Result<T> fit(MPI_Comm comm, const Matrix<T>& local_rows, const Params& p, const Matrix<T>& initial_centroids,
              const std::vector<T>& sample_weight) {
  return fit<T>(comm, MatrixView<const T>(local_rows), p, MatrixView<const T>(initial_centroids), sample_weight);
}

}  // namespace mpi
}  // namespace lloyd
