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

TEMPLATE_TEST_CASE("mini-batch from given centroids: fit(X, C) and start_from(C) use them as they are",
                   "[minibatch]", float, double) {
  using T = TestType;
  const auto blobs = lloyd::make_blobs<T>(2000, 7, 5, 0.5, 4);
  const auto& X = blobs.X;
  auto p = mb_params(5, 3);
  p.reassignment_ratio = 0;  // no reassignment: each step's move is the plain batch mean
  // Starting centroids: the first row of each blob.
  lloyd::Matrix<T> C(5, 7);
  for (std::size_t c = 0; c < 5; ++c)
    for (std::size_t i = 0; i < X.rows(); ++i)
      if (blobs.y[i] == static_cast<std::int32_t>(c)) {
        std::copy_n(X.row(i), 7, C.row(c));
        break;
      }

  lloyd::MiniBatchKMeans<T> a(p);
  a.start_from(C);
  REQUIRE(a.n_steps() == 0);
  REQUIRE(std::memcmp(a.centroids().data(), C.data(), sizeof(T) * C.size()) == 0);
  REQUIRE(a.counts() == std::vector<double>(5, 0.0));
  std::vector<std::int32_t> nearest(X.rows());
  lloyd::detail::reference_assign<T>(X, C, nearest.data(), nullptr);
  REQUIRE(a.predict(X) == nearest);

  // One partial_fit from zero counts: every centroid becomes the mean of its rows.
  const auto labels = a.predict(X);
  a.partial_fit(X);
  std::vector<double> sum(5 * 7, 0.0), count(5, 0.0);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    const auto c = static_cast<std::size_t>(labels[i]);
    count[c] += 1;
    for (std::size_t j = 0; j < 7; ++j) sum[c * 7 + j] += static_cast<double>(X(i, j));
  }
  for (std::size_t c = 0; c < 5; ++c) {
    REQUIRE(a.counts()[c] == count[c]);
    for (std::size_t j = 0; j < 7; ++j)
      REQUIRE(static_cast<double>(a.centroids()(c, j)) == Approx(sum[c * 7 + j] / count[c]).epsilon(1e-5));
  }

  // fit(X, C) starts from C: from the blobs' own rows it finds the blobs; the same call
  // gives the same bits; the result's labels and inertia are labels_and_inertia(X).
  lloyd::MiniBatchKMeans<T> b(p);
  const auto r = b.fit(X, C);
  REQUIRE(lloyd_test::same_partition(r.labels, blobs.y));
  const auto r2 = lloyd::MiniBatchKMeans<T>(p).fit(X, C);
  REQUIRE(std::memcmp(r.centroids.data(), r2.centroids.data(), sizeof(T) * r.centroids.size()) == 0);
  const auto [labels_b, inertia_b] = b.labels_and_inertia(X);
  REQUIRE(labels_b == r.labels);
  REQUIRE(std::memcmp(&inertia_b, &r.inertia, sizeof(double)) == 0);
  REQUIRE(b.score(X) == -r.inertia);

  // Bad starting centroids: one clear error each.
  REQUIRE_THROWS_WITH(lloyd::MiniBatchKMeans<T>(p).fit(X, lloyd::Matrix<T>(4, 7)),
                      Contains("initial_centroids is 4 x 7, expected n_clusters x n_features = 5 x 7"));
  REQUIRE_THROWS_WITH(lloyd::MiniBatchKMeans<T>(p).fit(X, lloyd::Matrix<T>(5, 6)), Contains("5 x 6"));
  auto nan = C;
  nan(2, 3) = std::numeric_limits<T>::quiet_NaN();
  REQUIRE_THROWS_WITH(lloyd::MiniBatchKMeans<T>(p).start_from(nan), Contains("initial_centroids(2, 3)"));
  lloyd::MiniBatchKMeans<T> c(p);
  c.start_from(C);
  REQUIRE_THROWS_WITH(c.partial_fit(lloyd::Matrix<T>(10, 6)), Contains("batch has 6 columns"));
}

TEMPLATE_TEST_CASE("mini-batch labels_and_inertia and weighted score agree with a brute-force sum", "[minibatch]",
                   float, double) {
  using T = TestType;
  const auto X = lloyd::make_blobs<T>(1500, 13, 4, 1.0, 8).X;  // d = 13: not a SIMD width
  lloyd::MiniBatchKMeans<T> m(mb_params(4, 1));
  m.fit(X);
  std::vector<T> w(X.rows());
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<T>(0.25 * double(i % 7));
  const auto [labels, inertia] = m.labels_and_inertia(X, w);
  REQUIRE(labels == m.predict(X));
  double expect = 0, plain = 0;
  for (std::size_t i = 0; i < X.rows(); ++i) {
    double d2 = 0;
    for (std::size_t j = 0; j < X.cols(); ++j) {
      const double t = double(X(i, j)) - double(m.centroids()(static_cast<std::size_t>(labels[i]), j));
      d2 += t * t;
    }
    expect += double(w[i]) * d2;
    plain += d2;
  }
  REQUIRE(inertia == Approx(expect).epsilon(1e-5));
  REQUIRE(-m.score(X, w) == inertia);
  REQUIRE(-m.score(X) == Approx(plain).epsilon(1e-5));
  REQUIRE_THROWS_WITH(m.score(X, std::vector<T>(3, T(1))), Contains("sample_weight has 3 values"));
}
