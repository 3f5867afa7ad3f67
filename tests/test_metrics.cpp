// Cosine (spherical k-means) and Dot (max inner product) metrics.
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <vector>

#include "helpers.hpp"

using Catch::Matchers::Contains;

namespace {

double dot(const double* a, const double* b, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

// Blobs of directions: each row is a blob point scaled by a random factor in [0.2, 20].
lloyd::Blobs<double> direction_blobs(std::size_t n, std::size_t d, std::size_t k, std::uint64_t seed) {
  auto b = lloyd::make_blobs<double>(n, d, k, 0.4, seed);
  lloyd::detail::Rng rng(seed + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double s = 0.2 * std::pow(100.0, rng.uniform());
    for (std::size_t j = 0; j < d; ++j) b.X(i, j) *= s;
  }
  return b;
}

lloyd::Params metric_params(std::size_t k, lloyd::Metric m) {
  lloyd::Params p;
  p.n_clusters = k;
  p.metric = m;
  p.seed = 3;
  p.n_init = 3;
  return p;
}

}  // namespace

TEST_CASE("cosine k-means clusters directions whatever the row lengths", "[metrics]") {
  const auto b = direction_blobs(3000, 6, 5, 21);
  lloyd::KMeans<double> km(metric_params(5, lloyd::Metric::Cosine));
  const auto r = km.fit(b.X);
  REQUIRE(lloyd_test::same_partition(r.labels, b.y));
  for (std::size_t c = 0; c < 5; ++c) REQUIRE(std::abs(dot(r.centroids.row(c), r.centroids.row(c), 6) - 1) < 1e-12);
  // Labels are the most cosine-similar centroids; inertia is the sum of 1 - cos.
  double inertia = 0;
  for (std::size_t i = 0; i < 3000; ++i) {
    const double norm = std::sqrt(dot(b.X.row(i), b.X.row(i), 6));
    std::size_t best = 0;
    for (std::size_t c = 1; c < 5; ++c)
      if (dot(b.X.row(i), r.centroids.row(c), 6) > dot(b.X.row(i), r.centroids.row(best), 6)) best = c;
    REQUIRE(r.labels[i] == static_cast<std::int32_t>(best));
    inertia += 1 - dot(b.X.row(i), r.centroids.row(best), 6) / norm;
  }
  REQUIRE(lloyd_test::close_rel(r.inertia, inertia, 1e-9));
  REQUIRE(km.predict(b.X) == r.labels);
  REQUIRE(lloyd_test::close_rel(km.score(b.X), -r.inertia, 1e-9));
  const auto D = km.transform(b.X);
  for (std::size_t i = 0; i < 3000; i += 97) {
    const double norm = std::sqrt(dot(b.X.row(i), b.X.row(i), 6));
    for (std::size_t c = 0; c < 5; ++c)
      REQUIRE(std::abs(D(i, c) - (1 - dot(b.X.row(i), r.centroids.row(c), 6) / norm)) < 1e-12);
  }
}

TEST_CASE("cosine k-means ignores row scale", "[metrics]") {
  const auto b = direction_blobs(2000, 5, 4, 5);
  lloyd::Matrix<double> scaled(b.X);
  for (std::size_t i = 0; i < 2000; ++i)
    for (std::size_t j = 0; j < 5; ++j) scaled(i, j) *= 3.0 + double(i % 5);
  const auto p = metric_params(4, lloyd::Metric::Cosine);
  const auto a = lloyd::KMeans<double>(p).fit(b.X);
  const auto s = lloyd::KMeans<double>(p).fit(scaled);
  REQUIRE(a.labels == s.labels);
  REQUIRE(lloyd_test::max_abs_diff<double>(a.centroids, s.centroids) < 1e-12);
}

TEMPLATE_TEST_CASE("bounded algorithms reproduce Lloyd under the cosine metric", "[metrics][algorithms]", float, double) {
  // d = 12: every bounded algorithm on its kernel path; d = 530 (rows of 2 KiB or more):
  // Elkan searches its per-centroid bounds, here on the unit rows.
  struct Shape {
    std::size_t n, d, k;
    bool blobs;
  };
  for (const Shape sh : {Shape{4000, 12, 40, false}, Shape{1500, 530, 30, true}}) {
    const auto X = sh.blobs ? lloyd::make_blobs<TestType>(sh.n, sh.d, 20, 2.0, 4).X
                            : lloyd::make_uniform<TestType>(sh.n, sh.d, -1.0, 1.0, 8);
    const auto init = lloyd::random_rows<TestType>(X, sh.k, sh.blobs ? 6 : 2).centroids;
    lloyd::Params p;
    p.n_clusters = sh.k;
    p.metric = lloyd::Metric::Cosine;
    p.algorithm = lloyd::Algorithm::Lloyd;
    const auto ref = lloyd::KMeans<TestType>(p).fit(X, init);
    for (auto a : {lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan, lloyd::Algorithm::Yinyang,
                   lloyd::Algorithm::Exponion}) {
      if (sh.blobs && a != lloyd::Algorithm::Elkan) continue;  // at d = 530 the others run their d = 12 paths
      INFO("d=" << sh.d << " algorithm=" << lloyd::to_string(a));
      p.algorithm = a;
      const auto r = lloyd::KMeans<TestType>(p).fit(X, init);
      REQUIRE(r.labels == ref.labels);
      REQUIRE(r.centroids == ref.centroids);
      REQUIRE(r.inertia == ref.inertia);
    }
  }
}

TEMPLATE_TEST_CASE("cosine reads the rows in place: rows scaled by powers of 2 give bit-identical fits",
                   "[metrics][algorithms]", float, double) {
  // The fit keeps one scale per row and computes the unit rows where it reads them
  // (no normalised copy): every reader (kernel blocks, cluster sums, bounds, both
  // seedings, relocation) must see the same unit values whatever the rows' lengths.
  // Awkward shapes: d not a multiple of the SIMD width, k = 1, k beyond the direct
  // kernel, k = n, fewer rows than one kernel block; weights with zeros.
  const int span = sizeof(TestType) == 4 ? 100 : 900;
  struct Shape {
    std::size_t n, d, k;
  };
  for (const Shape sh : {Shape{700, 13, 9}, Shape{3000, 37, 40}, Shape{257, 5, 1}, Shape{60, 3, 60}, Shape{40, 70, 6}}) {
    const auto X = lloyd::make_blobs<TestType>(sh.n, sh.d, std::max<std::size_t>(1, sh.k / 2), 2.0, sh.n).X;
    lloyd::Matrix<TestType> Y(X);
    lloyd::detail::Rng rng(sh.d);
    for (std::size_t i = 0; i < sh.n; ++i) {
      const int e = static_cast<int>(rng.below(2 * span + 1)) - span;
      for (std::size_t j = 0; j < sh.d; ++j) Y(i, j) = std::ldexp(X(i, j), e);
    }
    std::vector<TestType> w(sh.n);
    for (std::size_t i = 0; i < sh.n; ++i) w[i] = static_cast<TestType>(i % 7 == 3 ? 0 : 1 + i % 3);
    int combo = 0;
    for (auto init : {lloyd::Init::KMeansPlusPlus, lloyd::Init::KMeansParallel, lloyd::Init::Random})
      for (auto alg : {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan,
                       lloyd::Algorithm::Yinyang, lloyd::Algorithm::Exponion}) {
        if (lloyd_test::under_asan && combo++ % 3 != 0) continue;  // 5 of the 15 pairs: every init and algorithm
        lloyd::Params p;
        p.n_clusters = sh.k;
        p.metric = lloyd::Metric::Cosine;
        p.init = init;
        p.algorithm = alg;
        p.n_threads = 2;
        p.seed = 11;
        INFO("n=" << sh.n << " d=" << sh.d << " k=" << sh.k << " init=" << lloyd::to_string(init)
                  << " algorithm=" << lloyd::to_string(alg));
        lloyd::KMeans<TestType> a(p), b(p);
        const auto ra = a.fit(X), rb = b.fit(Y);
        REQUIRE(ra.labels == rb.labels);
        REQUIRE(ra.centroids == rb.centroids);
        REQUIRE(ra.inertia == rb.inertia);
        REQUIRE(ra.n_iter == rb.n_iter);
        REQUIRE(b.predict(Y) == rb.labels);
        const auto wa = lloyd::KMeans<TestType>(p).fit(X, w), wb = lloyd::KMeans<TestType>(p).fit(Y, w);
        REQUIRE(wa.labels == wb.labels);
        REQUIRE(wa.centroids == wb.centroids);
      }
  }
}

TEMPLATE_TEST_CASE("cosine labels match a fit of rows the caller normalised", "[metrics]", float, double) {
  // Before the rows were read in place, the fit copied X normalised and clustered the
  // copy: fitting a normalised copy is that path. The same labels, and centroids and
  // inertia to rounding.
  auto X = lloyd::make_blobs<TestType>(5000, 29, 12, 3.0, 4).X;
  lloyd::detail::Rng rng(9);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    const double s = 0.01 * std::pow(1e4, rng.uniform());
    for (std::size_t j = 0; j < X.cols(); ++j) X(i, j) = static_cast<TestType>(double(X(i, j)) * s);
  }
  const auto U = lloyd::detail::normalized_rows<TestType>(X, "X");
  for (auto alg : {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly}) {
    lloyd::Params p;
    p.n_clusters = 12;
    p.metric = lloyd::Metric::Cosine;
    p.algorithm = alg;
    p.seed = 2;
    const auto in_place = lloyd::KMeans<TestType>(p).fit(X);
    const auto copied = lloyd::KMeans<TestType>(p).fit(U);
    REQUIRE(in_place.labels == copied.labels);
    REQUIRE(lloyd_test::close_rel(in_place.inertia, copied.inertia, sizeof(TestType) == 4 ? 1e-4 : 1e-10));
    REQUIRE(lloyd_test::max_abs_diff<TestType>(in_place.centroids, copied.centroids) <
            (sizeof(TestType) == 4 ? 1e-5 : 1e-12));
  }
}

TEMPLATE_TEST_CASE("dot metric assigns by largest inner product and averages", "[metrics]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(2500, 9, -1.0, 1.0, 4);
  const std::size_t k = 12;
  auto p = metric_params(k, lloyd::Metric::Dot);
  p.tol = 0;
  p.n_init = 1;
  lloyd::KMeans<TestType> km(p);
  const auto r = km.fit(X);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    double best = -1e300;
    for (std::size_t c = 0; c < k; ++c) {
      double s = 0;
      for (std::size_t j = 0; j < 9; ++j) s += double(X(i, j)) * double(r.centroids(c, j));
      best = std::max(best, s);
    }
    double mine = 0;
    for (std::size_t j = 0; j < 9; ++j) mine += double(X(i, j)) * double(r.centroids(static_cast<std::size_t>(r.labels[i]), j));
    REQUIRE(mine >= best - 64 * lloyd_test::eps_of<TestType>() * (1 + std::abs(best)));
  }
  REQUIRE(km.predict(X) == r.labels);
  const auto D = km.transform(X);
  for (std::size_t i = 0; i < X.rows(); i += 50) {
    const auto row = D.row(i);
    REQUIRE(std::min_element(row, row + k) - row == r.labels[i]);
  }
  // The algorithm request is moot for Dot: bounds need a metric, Lloyd runs.
  p.algorithm = lloyd::Algorithm::Hamerly;
  const auto h = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(h.centroids == r.centroids);
  REQUIRE(h.labels == r.labels);
}

TEST_CASE("cosine rejects zero rows", "[metrics][validation]") {
  auto X = lloyd::make_uniform<float>(50, 3, 0.0, 1.0, 1);
  for (std::size_t j = 0; j < 3; ++j) X(17, j) = 0;
  lloyd::Params p;
  p.n_clusters = 3;
  p.metric = lloyd::Metric::Cosine;
  REQUIRE_THROWS_WITH(lloyd::KMeans<float>(p).fit(X), Contains("X row 17 is all zeros"));
  REQUIRE_THROWS_WITH(lloyd::KMeans<float>(p).fit(lloyd::make_uniform<float>(50, 3, 0.1, 1.0, 2), lloyd::Matrix<float>(3, 3)),
                      Contains("initial_centroids row 0 is all zeros"));
}

TEMPLATE_TEST_CASE("cosine: predict reproduces fit's labels, also for huge and tiny rows", "[metrics]", float, double) {
  // Found by fuzz_kmeans: predict compared raw rows while fit compared normalised ones,
  // and rounding-level ties came out differently. Small integer rows have many such ties.
  lloyd::detail::Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 40, d = 2 + trial % 3;
    lloyd::Matrix<TestType> X(n, d);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<TestType>(int(rng.below(7)) - 3);
      X(i, 0) = X(i, 0) == 0 ? TestType(1) : X(i, 0);  // no zero rows
    }
    const double mag = trial % 4 == 0 ? (sizeof(TestType) == 4 ? 1e30 : 1e200) : trial % 4 == 1 ? 1e-30 : 1.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<TestType>(double(X(i, j)) * mag);
    lloyd::Params p;
    p.n_clusters = 1 + trial % 8;
    p.metric = lloyd::Metric::Cosine;
    p.seed = static_cast<std::uint64_t>(trial);
    lloyd::KMeans<TestType> km(p);
    const auto r = km.fit(X);
    INFO("trial " << trial);
    REQUIRE(km.predict(X) == r.labels);
    for (std::size_t c = 0; c < r.centroids.rows(); ++c)
      for (std::size_t j = 0; j < d; ++j) REQUIRE(std::isfinite(r.centroids(c, j)));
  }
}
