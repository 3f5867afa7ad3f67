// Golden results of distributed fits (lloyd/mpi.hpp) on 1, 2 and 3 ranks with uneven
// shards (see golden.hpp): the labels of all ranks are gathered on rank 0 and hashed
// with the centroids, inertia, n_iter and converged. Run under mpiexec.
//
// golden_mpi FILE            compare with FILE (one file per rank count)
// golden_mpi --record FILE   write FILE
#include "golden.hpp"

#include <lloyd/mpi.hpp>
#include <mpi.h>

#include <string>
#include <vector>

namespace {

using lloyd::Algorithm;
using lloyd::Init;
using lloyd::Metric;

int rank_of() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size_of() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Rank r holds a share proportional to r + 1 of the rows.
std::pair<std::size_t, std::size_t> shard(std::size_t n) {
  const int size = size_of(), rank = rank_of();
  const std::size_t total = static_cast<std::size_t>(size * (size + 1) / 2);
  std::size_t first = 0;
  for (int r = 0; r < rank; ++r) first += n * static_cast<std::size_t>(r + 1) / total;
  const std::size_t count = rank == size - 1 ? n - first : n * static_cast<std::size_t>(rank + 1) / total;
  return {first, count};
}

template <class T>
std::uint64_t gathered_hash(const lloyd::Result<T>& r) {
  const int size = size_of();
  int mine = static_cast<int>(r.labels.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int total = 0;
  for (int q = 0; q < size; ++q) {
    displs[static_cast<std::size_t>(q)] = total;
    total += counts[static_cast<std::size_t>(q)];
  }
  std::vector<std::int32_t> all(static_cast<std::size_t>(total));
  MPI_Gatherv(r.labels.data(), mine, MPI_INT32_T, all.data(), counts.data(), displs.data(), MPI_INT32_T, 0,
              MPI_COMM_WORLD);
  return golden::hash_result<T>(r.centroids, all, r.inertia, r.n_iter, r.converged);
}

template <class T>
void distributed(golden::Book& book) {
  const std::string t = std::string(sizeof(T) == 4 ? "f32" : "f64") + ".r" + std::to_string(size_of()) + ".";
  const auto blobs = lloyd::make_blobs<T>(4001, 11, 8, 1.5, 21);
  const auto [first, count] = shard(blobs.X.rows());
  const lloyd::MatrixView<const T> mine(blobs.X.row(first), count, blobs.X.cols(), blobs.X.stride());
  std::vector<T> w(count);
  for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>((first + i) % 5 == 2 ? 0.0 : 0.5 + 0.3 * ((first + i) % 7));
  lloyd::Matrix<T> C0(8, 11);
  for (std::size_t c = 0; c < 8; ++c)
    for (std::size_t j = 0; j < 11; ++j) C0(c, j) = c < 6 ? blobs.X(c * 311, j) : static_cast<T>(500.0 + c + j);

  auto put = [&](const std::string& name, const lloyd::Result<T>& r) {
    const std::uint64_t h = gathered_hash(r);
    if (rank_of() == 0) book.put(t + name, h);
  };
  for (Algorithm a : {Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Elkan, Algorithm::Yinyang}) {
    lloyd::Params p;
    p.n_clusters = 8;
    p.algorithm = a;
    p.n_threads = 1;
    put("start.alg" + std::to_string(static_cast<int>(a)), lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p, lloyd::MatrixView<const T>(C0)));
  }
  for (Init init : {Init::KMeansPlusPlus, Init::Random}) {
    lloyd::Params p;
    p.n_clusters = 8;
    p.seed = 6;
    p.init = init;
    p.n_threads = 2;
    put("seeded.init" + std::to_string(static_cast<int>(init)), lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p));
    put("weighted.init" + std::to_string(static_cast<int>(init)), lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p, w));
    p.metric = Metric::Cosine;
    put("cosine.init" + std::to_string(static_cast<int>(init)), lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p));
    p.metric = Metric::Dot;
    put("dot.init" + std::to_string(static_cast<int>(init)), lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p));
  }
  {
    lloyd::Params p;
    p.n_clusters = 8;
    p.seed = 2;
    p.n_init = 3;
    put("n_init3", lloyd::mpi::fit<T>(MPI_COMM_WORLD, mine, p));
    lloyd::Matrix<T> big(count, 11);
    for (std::size_t i = 0; i < count; ++i)
      for (std::size_t j = 0; j < 11; ++j) big(i, j) = static_cast<T>(static_cast<double>(mine(i, j)) * 1e30);
    p.n_init = 1;
    put("scaled", lloyd::mpi::fit<T>(MPI_COMM_WORLD, lloyd::MatrixView<const T>(big), p));
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const bool record = argc == 3 && std::string(argv[1]) == "--record";
  int rc = 2;
  if (argc == 2 || record) {
    golden::Book book;
    distributed<float>(book);
    distributed<double>(book);
    rc = rank_of() == 0 ? book.finish(argv[argc - 1], record) : 0;
  } else {
    std::fprintf(stderr, "usage: golden_mpi [--record] FILE\n");
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return rc;
}
