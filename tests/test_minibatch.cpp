#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <cstring>
#include <vector>

#include "helpers.hpp"

using Catch::Matchers::Contains;

namespace {
lloyd::MiniBatchParams mb_params(std::size_t k, std::uint64_t seed = 0) {
  lloyd::MiniBatchParams p;
  p.n_clusters = k;
  p.seed = seed;
  p.batch_size = 256;
  return p;
}
}  // namespace

TEMPLATE_TEST_CASE("mini-batch recovers well-separated blobs and nears full k-means", "[minibatch]", float, double) {
  const auto b = lloyd::make_blobs<TestType>(20000, 8, 6, 0.5, 5);
  lloyd::MiniBatchKMeans<TestType> mb(mb_params(6, 2));
  const auto r = mb.fit(b.X);
  REQUIRE(lloyd_test::same_partition(r.labels, b.y));
  REQUIRE(mb.predict(b.X) == r.labels);
  REQUIRE(r.centroids == mb.centroids());
  lloyd::Params p;
  p.n_clusters = 6;
  p.seed = 2;
  const auto full = lloyd::KMeans<TestType>(p).fit(b.X);
  REQUIRE(r.inertia <= full.inertia * 1.01);
  REQUIRE(lloyd_test::close_rel(r.inertia, lloyd_test::reference_inertia<TestType>(b.X, r.centroids, r.labels), 1e-5));
  REQUIRE(lloyd_test::close_rel(mb.score(b.X), -r.inertia, 1e-5));
  double absorbed = 0;
  for (double c : mb.counts()) absorbed += c;
  REQUIRE(absorbed >= 256.0 * double(r.n_iter) * 0.99);
}

TEMPLATE_TEST_CASE("mini-batch is deterministic for a seed, whatever the thread count", "[minibatch][determinism]", float,
                   double) {
  const auto X = lloyd::make_blobs<TestType>(30000, 5, 20, 2.0, 9).X;
  auto p = mb_params(20, 4);
  p.n_threads = 1;
  const auto a = lloyd::MiniBatchKMeans<TestType>(p).fit(X);
  for (int threads : {2, 3}) {
    p.n_threads = threads;
    const auto b = lloyd::MiniBatchKMeans<TestType>(p).fit(X);
    REQUIRE(b.centroids == a.centroids);
    REQUIRE(b.labels == a.labels);
    REQUIRE(b.inertia == a.inertia);
    REQUIRE(b.n_iter == a.n_iter);
  }
  p.seed = 5;
  REQUIRE_FALSE(lloyd::MiniBatchKMeans<TestType>(p).fit(X).centroids == a.centroids);
}

TEMPLATE_TEST_CASE("partial_fit learns from a stream of chunks", "[minibatch]", float, double) {
  const auto b = lloyd::make_blobs<TestType>(24000, 4, 5, 0.4, 12);
  lloyd::MiniBatchKMeans<TestType> mb(mb_params(5, 3));
  REQUIRE_FALSE(mb.is_fitted());
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t start = 0; start < b.X.rows(); start += 1000)
      mb.partial_fit(b.X.view().rows_range(start, std::min<std::size_t>(1000, b.X.rows() - start)));
  REQUIRE(mb.is_fitted());
  REQUIRE(mb.n_steps() == 48);
  REQUIRE(lloyd_test::same_partition(mb.predict(b.X), b.y));
  REQUIRE_THROWS_WITH(mb.partial_fit(lloyd::Matrix<TestType>(10, 3)), Contains("3 columns"));
}

TEMPLATE_TEST_CASE("mini-batch with sample weights and reassignment of tiny clusters", "[minibatch]", float, double) {
  // Far too many clusters for two blobs: tiny clusters get reassigned now and then.
  const auto b = lloyd::make_blobs<TestType>(4000, 3, 2, 0.3, 1);
  std::vector<TestType> w(b.X.rows());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<TestType>(1 + i % 3);
  auto p = mb_params(30, 8);
  p.reassignment_ratio = 0.5;
  lloyd::MiniBatchKMeans<TestType> mb(p);
  const auto r = mb.fit(b.X, w);
  for (std::size_t c = 0; c < 30; ++c)
    for (std::size_t j = 0; j < 3; ++j) REQUIRE(std::isfinite(r.centroids(c, j)));
  double weighted = 0;
  for (std::size_t i = 0; i < w.size(); ++i)
    weighted += double(w[i]) * lloyd::detail::reference_squared_distance(
                                   b.X.row(i), r.centroids.row(static_cast<std::size_t>(r.labels[i])), 3);
  REQUIRE(lloyd_test::close_rel(r.inertia, weighted, 1e-5));
}

TEST_CASE("mini-batch rejects bad parameters and input", "[minibatch][validation]") {
  const auto X = lloyd::make_uniform<float>(100, 2, 0.0, 1.0, 1);
  auto with = [&](auto change) {
    auto p = mb_params(3);
    change(p);
    return lloyd::MiniBatchKMeans<float>(p);
  };
  REQUIRE_THROWS_WITH(with([](auto& p) { p.batch_size = 0; }).fit(X), Contains("batch_size=0"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_clusters = 0; }).fit(X), Contains("n_clusters=0"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_clusters = 101; }).fit(X), Contains("n_clusters=101"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.max_no_improvement = -1; }).fit(X), Contains("max_no_improvement=-1"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.reassignment_ratio = -0.1; }).fit(X), Contains("reassignment_ratio"));
  REQUIRE_THROWS_AS(with([](auto&) {}).predict(X), lloyd::NotFittedError);
  auto bad = X;
  bad(7, 1) = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_WITH(with([](auto&) {}).fit(bad), Contains("X(7, 1)"));
}

TEMPLATE_TEST_CASE("a mini-batch state restored into a new model predicts and scores alike", "[minibatch]", float,
                   double) {
  const auto X = lloyd::make_blobs<TestType>(3000, 9, 6, 1.0, 2).X;
  lloyd::MiniBatchParams p;
  p.n_clusters = 6;
  p.batch_size = 256;
  lloyd::MiniBatchKMeans<TestType> a(p);
  a.fit(X);
  lloyd::MiniBatchKMeans<TestType> b(p);
  REQUIRE_THROWS_AS(b.state(), lloyd::NotFittedError);
  b.set_state(a.state());
  REQUIRE(b.predict(X) == a.predict(X));
  const double sa = a.score(X), sb = b.score(X);
  REQUIRE(std::memcmp(&sa, &sb, sizeof sa) == 0);
  REQUIRE(b.counts() == a.counts());
  REQUIRE(b.n_steps() == a.n_steps());
  b.partial_fit(X);  // goes on from the restored centroids
  REQUIRE(b.n_steps() == a.n_steps() + 1);
  auto bad = a.state();
  bad.counts.pop_back();
  REQUIRE_THROWS_WITH(b.set_state(bad), Catch::Matchers::Contains("state.counts has 5 values for 6 centroids"));
  bad = a.state();
  bad.shift.push_back(TestType(0));
  REQUIRE_THROWS_WITH(b.set_state(bad), Catch::Matchers::Contains("state.shift has 10 values for 9 features"));
}
