// Distributed fit (lloyd/mpi.hpp) against the single-process fit on the concatenated
// rows. Run under mpiexec with 1, 2 and 3 ranks (tests/CMakeLists.txt). Every rank runs
// every test case in the same order; each one generates the whole data set, keeps its
// own shard, and compares with KMeans on all the rows.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>
#include <lloyd/mpi.hpp>

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

int rank_of(MPI_Comm comm = MPI_COMM_WORLD) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}
int size_of(MPI_Comm comm = MPI_COMM_WORLD) {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

// Rows [first, first + count) of rank r when n rows are cut unevenly: rank r's share
// is proportional to (r + 1) (rank 0 smallest), or 0 for the rank `empty_rank`.
struct Range {
  std::size_t first, count;
};
Range shard_of(std::size_t n, int rank, int size, int empty_rank = -1) {
  std::vector<std::size_t> share(static_cast<std::size_t>(size));
  std::size_t total = 0;
  for (int r = 0; r < size; ++r) total += share[static_cast<std::size_t>(r)] = (r == empty_rank && size > 1) ? 0 : static_cast<std::size_t>(r + 1);
  std::vector<std::size_t> count(static_cast<std::size_t>(size));
  std::size_t given = 0;
  for (int r = 0; r < size; ++r) {
    count[static_cast<std::size_t>(r)] = n * share[static_cast<std::size_t>(r)] / total;
    given += count[static_cast<std::size_t>(r)];
  }
  // What rounding left goes to the last rank that takes rows.
  for (int r = size - 1; r >= 0; --r)
    if (share[static_cast<std::size_t>(r)] > 0) {
      count[static_cast<std::size_t>(r)] += n - given;
      break;
    }
  std::size_t first = 0;
  for (int r = 0; r < rank; ++r) first += count[static_cast<std::size_t>(r)];
  return {first, count[static_cast<std::size_t>(rank)]};
}

template <class T>
lloyd::MatrixView<const T> rows_of(const lloyd::Matrix<T>& X, Range r) {
  return X.view().rows_range(r.first, r.count);
}

template <class T>
double max_relative_difference(const lloyd::Matrix<T>& A, const lloyd::Matrix<T>& B) {
  REQUIRE(A.rows() == B.rows());
  REQUIRE(A.cols() == B.cols());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j) scale = std::max(scale, std::abs(static_cast<double>(B(i, j))));
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(A(i, j)) - static_cast<double>(B(i, j))) / std::max(scale, 1e-300));
  return worst;
}

template <class T>
bool same_bits(const lloyd::Matrix<T>& A, const lloyd::Matrix<T>& B) {
  if (A.rows() != B.rows() || A.cols() != B.cols()) return false;
  for (std::size_t i = 0; i < A.rows(); ++i)
    if (std::memcmp(A.row(i), B.row(i), A.cols() * sizeof(T)) != 0) return false;
  return true;
}

// Whether every rank holds the same bytes.
bool same_on_all_ranks(const void* data, std::size_t bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  std::uint64_t lo = 0, hi = 0;
  MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

template <class T>
bool result_same_on_all_ranks(const lloyd::Result<T>& r) {
  std::vector<T> flat;
  for (std::size_t i = 0; i < r.centroids.rows(); ++i) flat.insert(flat.end(), r.centroids.row(i), r.centroids.row(i) + r.centroids.cols());
  const double scalars[3] = {r.inertia, static_cast<double>(r.n_iter), r.converged ? 1.0 : 0.0};
  return same_on_all_ranks(flat.data(), flat.size() * sizeof(T)) && same_on_all_ranks(scalars, sizeof(scalars));
}

// The distributed fit from `start` equals KMeans::fit on all the rows from `start`.
template <class T>
void check_matches_single_process(const lloyd::Matrix<T>& X, const lloyd::Params& p, const lloyd::Matrix<T>& start,
                                  Range mine, const std::vector<T>* weights = nullptr, double tolerance = 1e-12) {
  lloyd::KMeans<T> km(p);
  const lloyd::Result<T> ref = weights ? km.fit(X, start, *weights) : km.fit(X, start);
  lloyd::Result<T> r;
  if (weights) {
    const std::vector<T> local(weights->begin() + static_cast<std::ptrdiff_t>(mine.first),
                               weights->begin() + static_cast<std::ptrdiff_t>(mine.first + mine.count));
    r = lloyd::mpi::fit<T>(MPI_COMM_WORLD, rows_of(X, mine), p, start, local);
  } else {
    r = lloyd::mpi::fit<T>(MPI_COMM_WORLD, rows_of(X, mine), p, start);
  }
  CHECK(max_relative_difference(r.centroids, ref.centroids) <= tolerance);
  REQUIRE(r.labels.size() == mine.count);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < mine.count; ++i) differ += r.labels[i] != ref.labels[mine.first + i];
  CHECK(differ == 0);
  CHECK(r.n_iter == ref.n_iter);
  CHECK(r.converged == ref.converged);
  CHECK(std::abs(r.inertia - ref.inertia) <= tolerance * std::abs(ref.inertia) + 1e-300);
  CHECK(r.algorithm == ref.algorithm);
  CHECK(result_same_on_all_ranks(r));
}

template <class T>
lloyd::Matrix<T> first_rows(const lloyd::Matrix<T>& X, std::size_t k) {
  lloyd::Matrix<T> C(k, X.cols());
  for (std::size_t c = 0; c < k; ++c) std::copy_n(X.row(c * 7 % X.rows()), X.cols(), C.row(c));
  return C;
}

}  // namespace

TEST_CASE("mpi: same centroids and labels as the single-process fit, uneven shards", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(3001, 7, 6, 1.5, 11);
  const lloyd::Matrix<double> start = first_rows(blobs.X, 6);
  lloyd::Params p;
  p.n_clusters = 6;
  p.n_threads = 2;
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of());
  SECTION("default tolerance") { check_matches_single_process(blobs.X, p, start, mine); }
  SECTION("fixed 25 iterations") {
    p.run_till_max_iter = true;
    p.max_iter = 25;
    check_matches_single_process(blobs.X, p, start, mine);
  }
  SECTION("inertia_tol") {
    p.tol = 0;
    p.inertia_tol = 1e-3;
    check_matches_single_process(blobs.X, p, start, mine);
  }
}

TEST_CASE("mpi: a rank without rows", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(2000, 5, 4, 1.0, 3);
  const lloyd::Matrix<double> start = first_rows(blobs.X, 4);
  lloyd::Params p;
  p.n_clusters = 4;
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of(), /*empty_rank=*/1);
  check_matches_single_process(blobs.X, p, start, mine);
  // Seeded fits work too, with the empty rank's view having no columns at all.
  lloyd::MatrixView<const double> local = mine.count ? rows_of(blobs.X, mine) : lloyd::MatrixView<const double>(nullptr, 0, 0);
  p.seed = 5;
  const auto r = lloyd::mpi::fit<double>(MPI_COMM_WORLD, local, p);
  CHECK(r.labels.size() == mine.count);
  CHECK(r.centroids.rows() == 4);
  CHECK(result_same_on_all_ranks(r));
}

TEST_CASE("mpi: every algorithm and metric matches the single-process fit", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(2500, 24, 40, 2.0, 17);
  const lloyd::Matrix<double> start = first_rows(blobs.X, 40);
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of());
  for (auto algorithm : {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan,
                         lloyd::Algorithm::Yinyang, lloyd::Algorithm::Exponion, lloyd::Algorithm::Auto}) {
    for (auto metric : {lloyd::Metric::SquaredEuclidean, lloyd::Metric::Cosine, lloyd::Metric::Dot}) {
      if (metric == lloyd::Metric::Dot && algorithm != lloyd::Algorithm::Lloyd) continue;
      CAPTURE(static_cast<int>(algorithm), static_cast<int>(metric));
      lloyd::Params p;
      p.n_clusters = 40;
      p.algorithm = algorithm;
      p.metric = metric;
      p.max_iter = metric == lloyd::Metric::Dot ? 5 : 300;
      check_matches_single_process(blobs.X, p, start, mine);
    }
  }
}

TEST_CASE("mpi: Auto's hand-over from Exponion to Yinyang is decided alike on every rank", "[mpi]") {
  // Uniform noise where Exponion's bounds save nothing (test_algorithms): the decision
  // reads distance counts summed over the ranks, so every rank hands over at the same
  // pass, a rank without rows too.
  const auto noise = lloyd::make_uniform<double>(6000, 64, 0.0, 1.0, 5);
  const lloyd::Matrix<double> start = lloyd::random_rows<double>(noise, 150, 3).centroids;
  lloyd::Params p;
  p.n_clusters = 150;
  p.tol = 0;
  for (int empty_rank : {-1, 1}) {
    CAPTURE(empty_rank);
    const Range mine = shard_of(noise.rows(), rank_of(), size_of(), empty_rank);
    check_matches_single_process(noise, p, start, mine);
    lloyd::MatrixView<const double> local = mine.count ? rows_of(noise, mine) : lloyd::MatrixView<const double>(nullptr, 0, 0);
    CHECK(lloyd::mpi::fit<double>(MPI_COMM_WORLD, local, p, start).algorithm == lloyd::Algorithm::Yinyang);
  }
}

TEST_CASE("mpi: sample weights, some zero", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(1800, 9, 5, 1.2, 23);
  std::vector<double> w(blobs.X.rows());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = i % 5 == 0 ? 0.0 : 0.5 + static_cast<double>(i % 7);
  lloyd::Params p;
  p.n_clusters = 5;
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of());
  check_matches_single_process(blobs.X, p, first_rows(blobs.X, 5), mine, &w);
  // Every weight of rank 0 is 0 (allowed: other ranks hold positive ones).
  if (size_of() > 1) {
    const Range first = shard_of(blobs.X.rows(), 0, size_of());
    std::fill_n(w.begin() + static_cast<std::ptrdiff_t>(first.first), first.count, 0.0);
    check_matches_single_process(blobs.X, p, first_rows(blobs.X, 5), mine, &w);
  }
}

TEST_CASE("mpi: empty clusters are refilled as a single process would", "[mpi]") {
  // Two starting centroids far from every row: each iteration's first update finds them
  // empty and moves the farthest rows into them.
  const auto blobs = lloyd::make_blobs<double>(1500, 4, 5, 1.0, 29);
  lloyd::Matrix<double> start = first_rows(blobs.X, 6);
  for (std::size_t j = 0; j < 4; ++j) {
    start(4, j) = 1e4;
    start(5, j) = -1e4;
  }
  lloyd::Params p;
  p.n_clusters = 6;
  p.algorithm = lloyd::Algorithm::Lloyd;
  check_matches_single_process(blobs.X, p, start, shard_of(blobs.X.rows(), rank_of(), size_of()));
  p.algorithm = lloyd::Algorithm::Hamerly;
  check_matches_single_process(blobs.X, p, start, shard_of(blobs.X.rows(), rank_of(), size_of(), 0));
}

TEST_CASE("mpi: float data near the float maximum are rescaled as in a single process", "[mpi]") {
  auto blobs = lloyd::make_blobs<float>(1200, 6, 3, 1.0, 31);
  for (std::size_t i = 0; i < blobs.X.rows(); ++i)
    for (std::size_t j = 0; j < 6; ++j) blobs.X(i, j) *= 1e30f;
  lloyd::Params p;
  p.n_clusters = 3;
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of());
  const lloyd::Matrix<float> start = first_rows(blobs.X, 3);
  lloyd::KMeans<float> km(p);
  const auto ref = km.fit(blobs.X, start);
  const auto r = lloyd::mpi::fit<float>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, start);
  CHECK(std::isfinite(r.inertia));
  CHECK(max_relative_difference(r.centroids, ref.centroids) <= 1e-5);
  for (std::size_t i = 0; i < mine.count; ++i) CHECK(r.labels[i] == ref.labels[mine.first + i]);
}

TEST_CASE("mpi: k = number of rows of all ranks", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(9, 3, 2, 1.0, 37);
  lloyd::Params p;
  p.n_clusters = 9;
  const Range mine = shard_of(9, rank_of(), size_of());
  const auto r = lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
  CHECK(r.inertia == 0.0);
  CHECK(max_relative_difference(r.centroids, blobs.X) == 0.0);
  for (std::size_t i = 0; i < mine.count; ++i) CHECK(r.labels[i] == static_cast<std::int32_t>(mine.first + i));
}

TEST_CASE("mpi: seeded fits are deterministic and find the blobs", "[mpi]") {
  const auto blobs = lloyd::make_blobs<float>(6000, 16, 12, 0.5, 41);
  const Range mine = shard_of(blobs.X.rows(), rank_of(), size_of());
  for (auto init : {lloyd::Init::KMeansPlusPlus, lloyd::Init::Random, lloyd::Init::KMeansParallel}) {
    CAPTURE(static_cast<int>(init));
    lloyd::Params p;
    p.n_clusters = 12;
    p.init = init;
    p.n_init = init == lloyd::Init::Random ? 4 : 1;
    p.seed = 99;
    const auto a = lloyd::mpi::fit<float>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
    const auto b = lloyd::mpi::fit<float>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
    CHECK(same_bits(a.centroids, b.centroids));
    CHECK(a.labels == b.labels);
    CHECK(std::memcmp(&a.inertia, &b.inertia, sizeof(double)) == 0);
    CHECK(result_same_on_all_ranks(a));
    // Well separated blobs: k-means|| finds each one (the best of several random starts).
    lloyd::KMeans<float> km(p);
    const double single = km.fit(blobs.X).inertia;
    if (init != lloyd::Init::Random) CHECK(a.inertia <= 1.0001 * single);
    CHECK(a.inertia <= 1.5 * single);
  }
}

TEST_CASE("mpi: Init::Random picks the same rows whatever the number of ranks", "[mpi]") {
  // Rank 0 alone (a communicator of one) against all ranks: same start, same result.
  const auto blobs = lloyd::make_blobs<double>(1000, 5, 8, 3.0, 43);
  lloyd::Params p;
  p.n_clusters = 8;
  p.init = lloyd::Init::Random;
  p.seed = 7;
  MPI_Comm alone;
  MPI_Comm_split(MPI_COMM_WORLD, rank_of() == 0 ? 0 : MPI_UNDEFINED, 0, &alone);
  const auto all = lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, shard_of(1000, rank_of(), size_of())), p);
  if (rank_of() == 0) {
    const auto one = lloyd::mpi::fit<double>(alone, blobs.X, p);
    CHECK(max_relative_difference(all.centroids, one.centroids) <= 1e-12);
    CHECK(all.n_iter == one.n_iter);
    MPI_Comm_free(&alone);
  }
}

TEST_CASE("mpi: bad input on one rank makes every rank throw the same exception", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(400, 3, 2, 1.0, 47);
  const int last = size_of() - 1;
  const Range mine = shard_of(400, rank_of(), size_of());
  lloyd::Params p;
  p.n_clusters = 2;
  auto message_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  auto expect_same_everywhere = [&](const std::string& what, const std::string& contains) {
    CAPTURE(what);
    CHECK(what.find(contains) != std::string::npos);
    CHECK(same_on_all_ranks(what.data(), what.size()));
  };

  SECTION("NaN in the last rank's rows") {
    lloyd::Matrix<double> local(mine.count, 3);
    for (std::size_t i = 0; i < mine.count; ++i) std::copy_n(blobs.X.row(mine.first + i), 3, local.row(i));
    if (rank_of() == last) local(mine.count / 2, 1) = std::numeric_limits<double>::quiet_NaN();
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, local, p); }),
                           "rank " + std::to_string(last) + ": local_rows(");
  }
  SECTION("a negative weight on the last rank") {
    std::vector<double> w(mine.count, 1.0);
    if (rank_of() == last) w.back() = -1;
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, w); }),
                           "sample_weight[");
  }
  SECTION("every weight on every rank is 0") {
    const std::vector<double> w(mine.count, 0.0);
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, w); }),
                           "every weight on every rank is 0");
  }
  SECTION("k larger than the rows of all ranks") {
    p.n_clusters = 401;
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p); }),
                           "n_clusters=401");
  }
  SECTION("k = 0") {
    p.n_clusters = 0;
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p); }),
                           "n_clusters=0");
  }
  SECTION("columns differ between ranks") {
    if (size_of() > 1) {
      lloyd::Matrix<double> local(mine.count, rank_of() == last ? 4 : 3);
      expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, local, p); }), "columns");
    }
  }
  SECTION("starting centroids differ between ranks") {
    if (size_of() > 1) {
      lloyd::Matrix<double> start = first_rows(blobs.X, 2);
      if (rank_of() == last) start(1, 2) += 1;
      expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, start); }),
                             "initial_centroids");
    }
  }
  SECTION("Params differ between ranks") {
    if (size_of() > 1) {
      if (rank_of() == last) p.max_iter = 7;
      expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p); }),
                             "other Params or another overload");
    }
  }
  SECTION("weights passed on some ranks only") {
    if (size_of() > 1) {
      const std::vector<double> w(mine.count, 1.0);
      expect_same_everywhere(message_of([&] {
                               if (rank_of() == last)
                                 lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, w);
                               else
                                 lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
                             }),
                             "other Params or another overload");
    }
  }
  SECTION("starting centroids of the wrong shape") {
    const lloyd::Matrix<double> start(3, 3);
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p, start); }),
                           "initial_centroids is 3 x 3");
  }
  SECTION("no rows anywhere") {
    const lloyd::Matrix<double> none(0, 3);
    expect_same_everywhere(message_of([&] { lloyd::mpi::fit<double>(MPI_COMM_WORLD, none, p); }), "0 rows");
  }
  // The communicator still works after the errors.
  int one = 1, total = 0;
  MPI_Allreduce(&one, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  CHECK(total == size_of());
}

TEST_CASE("mpi: a stop requested by on_iteration on one rank stops every rank", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(3000, 4, 8, 4.0, 53);
  lloyd::Params p;
  p.n_clusters = 8;
  p.run_till_max_iter = true;
  p.max_iter = 50;
  const int last = size_of() - 1;
  int seen = 0;
  p.on_iteration = [&](const lloyd::IterationStats& s) {
    seen = s.iteration;
    return rank_of() == last && s.iteration == 3;
  };
  const auto r = lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, shard_of(3000, rank_of(), size_of())), p);
  CHECK(r.n_iter == 3);
  CHECK(seen == 3);
  CHECK_FALSE(r.converged);
}

TEST_CASE("mpi: bit-identical results run after run", "[mpi]") {
  const auto blobs = lloyd::make_blobs<double>(5000, 33, 20, 2.0, 59);
  lloyd::Params p;
  p.n_clusters = 20;
  p.seed = 3;
  p.n_threads = 3;
  const Range mine = shard_of(5000, rank_of(), size_of());
  const auto a = lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
  p.n_threads = 1;  // threads per rank do not matter either
  const auto b = lloyd::mpi::fit<double>(MPI_COMM_WORLD, rows_of(blobs.X, mine), p);
  CHECK(same_bits(a.centroids, b.centroids));
  CHECK(a.labels == b.labels);
  CHECK(std::memcmp(&a.inertia, &b.inertia, sizeof(double)) == 0);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  // Bounded algorithms asked for by name keep bounds from their second pass at any k and
  // d, as in the other tests (tests/helpers.hpp): the shards' bounds are what is checked.
  lloyd::detail::bounds_follow_cost = false;
  const int failed = Catch::Session().run(argc, argv);
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
