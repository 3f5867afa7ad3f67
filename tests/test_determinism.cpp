// Same seed, same data: bit-identical results for every algorithm, metric and seeding,
// for n_threads = 1, 2, 3, 8 (under AddressSanitizer 3 only, and float and double
// sharing the combinations of the first test), and run after run.
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <vector>

#include "helpers.hpp"

namespace {

template <class T>
void require_identical(const lloyd::Result<T>& a, const lloyd::Result<T>& b) {
  REQUIRE(a.centroids == b.centroids);
  REQUIRE(a.labels == b.labels);
  REQUIRE(a.inertia == b.inertia);
  REQUIRE(a.n_iter == b.n_iter);
  REQUIRE(a.converged == b.converged);
}

}  // namespace

TEMPLATE_TEST_CASE("every algorithm, metric and seeding is deterministic across threads and runs", "[determinism]",
                   float, double) {
  const auto X = lloyd::make_blobs<TestType>(9000, 10, 30, 3.0, 5).X;
  std::vector<TestType> w(X.rows());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<TestType>(0.5 + double(i % 4));
  const lloyd::Algorithm algorithms[] = {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan,
                                         lloyd::Algorithm::Yinyang, lloyd::Algorithm::Exponion, lloyd::Algorithm::Auto};
  const lloyd::Metric metrics[] = {lloyd::Metric::SquaredEuclidean, lloyd::Metric::Cosine, lloyd::Metric::Dot};
  const lloyd::Init inits[] = {lloyd::Init::KMeansPlusPlus, lloyd::Init::Random, lloyd::Init::KMeansParallel};
  int combo = 0;
  for (auto a : algorithms)
    for (auto m : metrics) {
      const auto init = inits[combo % 3];
      if (!lloyd_test::asan_share<TestType>(static_cast<std::size_t>(combo++))) continue;
      lloyd::Params p;
      p.n_clusters = 30;
      p.seed = 77;
      p.algorithm = a;
      p.metric = m;
      p.init = init;
      p.max_iter = 25;
      p.n_threads = 1;
      const auto ref = lloyd::KMeans<TestType>(p).fit(X, w);
      for (int threads : lloyd_test::thread_sweep({1, 2, 3, 8})) {
        p.n_threads = threads;
        INFO("algorithm " << int(a) << " metric " << int(m) << " init " << int(init) << " threads " << threads);
        require_identical(lloyd::KMeans<TestType>(p).fit(X, w), ref);
      }
    }
}

TEMPLATE_TEST_CASE("mini-batch, fit_batch and the seedings alone are deterministic across threads", "[determinism]",
                   float, double) {
  const auto X = lloyd::make_blobs<TestType>(12000, 6, 15, 2.0, 6).X;
  lloyd::MiniBatchParams mp;
  mp.n_clusters = 15;
  mp.seed = 3;
  mp.batch_size = 500;
  mp.n_threads = 1;
  const auto mref = lloyd::MiniBatchKMeans<TestType>(mp).fit(X);
  lloyd::Params p;
  p.n_clusters = 5;
  p.seed = 9;
  p.n_threads = 1;
  const auto bref = lloyd::fit_batch<TestType>(X, 4, p);
  const auto kpp = lloyd::kmeans_plusplus<TestType>(X, 15, 4, nullptr, 1);
  const auto kpar = lloyd::kmeans_parallel<TestType>(X, 15, 4, nullptr, 1);
  for (int threads : lloyd_test::thread_sweep({2, 3, 8})) {
    mp.n_threads = threads;
    require_identical(lloyd::MiniBatchKMeans<TestType>(mp).fit(X), mref);
    p.n_threads = threads;
    const auto b = lloyd::fit_batch<TestType>(X, 4, p);
    for (std::size_t i = 0; i < 4; ++i) require_identical(b[i], bref[i]);
    REQUIRE(lloyd::kmeans_plusplus<TestType>(X, 15, 4, nullptr, threads).indices == kpp.indices);
    REQUIRE(lloyd::kmeans_parallel<TestType>(X, 15, 4, nullptr, threads).indices == kpar.indices);
  }
}
