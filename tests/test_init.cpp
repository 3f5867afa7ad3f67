#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "helpers.hpp"

TEMPLATE_TEST_CASE("k-means++ picks k distinct rows and copies them", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(500, 7, 0.0, 1.0, 1);
  for (std::size_t k : {1u, 2u, 10u, 100u, 500u}) {
    const auto s = lloyd::kmeans_plusplus<TestType>(X, k, 42);
    REQUIRE(s.centroids.rows() == k);
    REQUIRE(s.centroids.cols() == 7);
    REQUIRE(s.indices.size() == k);
    REQUIRE(std::set<std::size_t>(s.indices.begin(), s.indices.end()).size() == k);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < 7; ++j) REQUIRE(s.centroids(c, j) == X(s.indices[c], j));
  }
}

TEMPLATE_TEST_CASE("greedy k-means++ picks the same rows whether it keeps the trials' distances or recomputes, "
                   "with or without bounds", "[init]", float, double) {
  using K = lloyd::detail::GreedyKMeansPlusPlus<TestType>;
  // d = 3 (awkward for SIMD) to 33, weights with zeros, k = 1 and k = n included.
  // (tests/golden checks the picks against those recorded before any change.)
  std::size_t skipped = 0;
  for (std::size_t d : {3u, 16u, 33u}) {
    const auto X = lloyd::make_blobs<TestType>(700, d, 6, 2.0, d).X;
    std::vector<TestType> w(X.rows());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = TestType(i % 7 == 0 ? 0 : 1 + i % 3);
    for (std::size_t k : {1u, 5u, 40u, 100u, 700u}) {  // trials 2, 3, 5, 6, 8: every remainder of 4
      for (const TestType* weights : {static_cast<const TestType*>(nullptr), static_cast<const TestType*>(w.data())}) {
        if (weights && k == 700) continue;  // fewer rows of positive weight than k
        lloyd::detail::ThreadPool pool(2);
        const auto P = lloyd::detail::make_problem<TestType>(X, weights, pool);
        lloyd::detail::Rng r1(11), r2(11);
        K keeping(P, k, 0, pool, K::Keep::always, K::Bounds::never),
            recomputing(P, k, 0, pool, K::Keep::never, K::Bounds::never);
        const auto kept = keeping.run(r1);
        const auto again = recomputing.run(r2);
        REQUIRE(kept.indices == again.indices);
        const double p1 = keeping.potential(), p2 = recomputing.potential();
        REQUIRE(std::memcmp(&p1, &p2, sizeof p1) == 0);  // every row's distance, the same bits
        REQUIRE(lloyd_test::identical(kept.centroids, again.centroids));
        for (auto keep : {K::Keep::always, K::Keep::never}) {  // the bounds skip rows: the same bits
          lloyd::detail::Rng r3(11);
          K bounded(P, k, 0, pool, keep, K::Bounds::always);
          const auto b = bounded.run(r3);
          REQUIRE(b.indices == kept.indices);
          const double p3 = bounded.potential();
          REQUIRE(std::memcmp(&p1, &p3, sizeof p1) == 0);
          REQUIRE(lloyd_test::identical(b.centroids, kept.centroids));
          REQUIRE(keeping.rows_skipped() == 0);
          skipped += bounded.rows_skipped();
        }
      }
    }
  }
  REQUIRE(skipped > 0);
}

TEMPLATE_TEST_CASE("k-means++ seeds one centroid per well-separated blob", "[init]", float, double) {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const auto b = lloyd::make_blobs<TestType>(2000, 5, 8, 0.01, 100 + seed);
    const auto s = lloyd::kmeans_plusplus<TestType>(b.X, 8, seed);
    std::set<std::int32_t> blobs;
    for (auto i : s.indices) blobs.insert(b.y[i]);
    REQUIRE(blobs.size() == 8);
  }
}

TEMPLATE_TEST_CASE("k-means++ is deterministic for a seed, whatever the thread count", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(3000, 9, -1.0, 1.0, 2);
  const auto a = lloyd::kmeans_plusplus<TestType>(X, 20, 7, nullptr, 1);
  const auto b = lloyd::kmeans_plusplus<TestType>(X, 20, 7, nullptr, 2);
  const auto c = lloyd::kmeans_plusplus<TestType>(X, 20, 7, nullptr, 3);
  REQUIRE(a.indices == b.indices);
  REQUIRE(a.indices == c.indices);
  const auto d = lloyd::kmeans_plusplus<TestType>(X, 20, 8, nullptr, 2);
  REQUIRE(a.indices != d.indices);
}

TEMPLATE_TEST_CASE("seeding never picks rows of weight zero while others remain", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(400, 3, 0.0, 1.0, 3);
  std::vector<TestType> w(400, TestType(0));
  for (std::size_t i = 0; i < 400; i += 4) w[i] = TestType(1);  // 100 rows of weight 1
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const auto s = lloyd::kmeans_plusplus<TestType>(X, 30, seed, &w);
    for (auto i : s.indices) REQUIRE(w[i] > 0);
    const auto r = lloyd::random_rows<TestType>(X, 30, seed, &w);
    for (auto i : r.indices) REQUIRE(w[i] > 0);
    REQUIRE(std::set<std::size_t>(r.indices.begin(), r.indices.end()).size() == 30);
  }
}

TEMPLATE_TEST_CASE("with fewer distinct rows than k, k-means++ still returns distinct indices", "[init]", float, double) {
  lloyd::Matrix<TestType> X(50, 2);
  for (std::size_t i = 0; i < 50; ++i) X(i, 0) = static_cast<TestType>(i % 3);  // 3 distinct rows
  const auto s = lloyd::kmeans_plusplus<TestType>(X, 6, 1);
  REQUIRE(std::set<std::size_t>(s.indices.begin(), s.indices.end()).size() == 6);
  std::set<TestType> values;
  for (std::size_t c = 0; c < 6; ++c) values.insert(s.centroids(c, 0));
  REQUIRE(values.size() == 3);  // every distinct row is used before any repeats
}

TEMPLATE_TEST_CASE("random seeding draws distinct rows, deterministically", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(300, 4, 0.0, 1.0, 4);
  const auto a = lloyd::random_rows<TestType>(X, 300, 9);
  REQUIRE(std::set<std::size_t>(a.indices.begin(), a.indices.end()).size() == 300);
  const auto b = lloyd::random_rows<TestType>(X, 25, 9);
  const auto c = lloyd::random_rows<TestType>(X, 25, 9);
  REQUIRE(b.indices == c.indices);
  const auto d = lloyd::random_rows<TestType>(X, 25, 10);
  REQUIRE(b.indices != d.indices);
}

TEMPLATE_TEST_CASE("k-means|| picks k distinct rows, deterministically for any thread count", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(6000, 9, -1.0, 1.0, 21);
  for (std::size_t k : {1u, 7u, 64u, 300u}) {
    const auto a = lloyd::kmeans_parallel<TestType>(X, k, 5, nullptr, 1);
    REQUIRE(a.indices.size() == k);
    REQUIRE(std::set<std::size_t>(a.indices.begin(), a.indices.end()).size() == k);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < 9; ++j) REQUIRE(a.centroids(c, j) == X(a.indices[c], j));
    for (int threads : {2, 3}) REQUIRE(lloyd::kmeans_parallel<TestType>(X, k, 5, nullptr, threads).indices == a.indices);
    if (k > 1) REQUIRE(lloyd::kmeans_parallel<TestType>(X, k, 6, nullptr, 2).indices != a.indices);
  }
}

TEMPLATE_TEST_CASE("k-means|| gives the same bits whether its bounds skip rows or not", "[init]", float, double) {
  using KP = lloyd::detail::KMeansParallel<TestType>;
  // d = 3 and 17 (not multiples of the SIMD width) and 64; n = 150 with k = n, n below
  // one chunk (2048 rows) and above; weights with zeros; unit rows (Metric::Cosine).
  std::size_t skipped = 0, single = 0;
  for (std::size_t d : {3u, 17u, 64u})
    for (std::size_t n : {150u, 1500u, 7000u})
      for (std::size_t k : {1u, 9u, 150u}) {
        const auto X = lloyd::make_blobs<TestType>(n, d, 40, 1.0, n + d).X;
        std::vector<TestType> w(n);
        for (std::size_t i = 0; i < n; ++i) w[i] = TestType(i % 5 == 0 ? 0 : 1 + i % 4);
        for (int variant = 0; variant < 3; ++variant) {
          if (variant == 1 && k == n) continue;  // fewer rows of positive weight than k
          lloyd::detail::ThreadPool pool(2);
          lloyd::detail::LocalExchange<TestType> ex;
          const auto P = lloyd::detail::make_problem<TestType>(X, variant == 1 ? w.data() : nullptr, pool, ex,
                                                               lloyd::detail::InputShape{n, d, 0}, variant == 2);
          lloyd::detail::Rng r1(5), r2(5);
          KP bounded(ex, P, pool, true), plain(ex, P, pool, false);
          const auto a = bounded.run(k, r1, 0, 5);
          const auto b = plain.run(k, r2, 0, 5);
          REQUIRE(a.indices == b.indices);
          REQUIRE(lloyd_test::identical(a.centroids, b.centroids));
          REQUIRE(plain.rows_skipped() == 0);
          REQUIRE(plain.rows_single() == 0);
          skipped += bounded.rows_skipped();
          single += bounded.rows_single();
        }
      }
  REQUIRE(skipped > 0);  // the bounds did skip rows (blobs: most rows are near a candidate)
  REQUIRE(single > 0);   // and left rows one distance (to their candidate's nearest new one)
}

TEMPLATE_TEST_CASE("k-means||'s reduction of its candidates picks what greedy k-means++ picks", "[init]", float,
                   double) {
  // CandidateKMeansPlusPlus skips the distances its bounds prove useless and keeps the
  // points in its own order; the choices must be greedy k-means++'s on the same weighted
  // points. d = 1, 7, 19 (not multiples of the SIMD width) and 64; m below one piece of
  // 256 and above; k = 1, k = m; weights; few distinct points.
  using CK = lloyd::detail::CandidateKMeansPlusPlus<TestType>;
  std::size_t ci = 0;
  for (std::size_t d : {1u, 7u, 19u, 64u})
    for (std::size_t m : {40u, 700u, 2000u})
      for (std::size_t k : {std::size_t(1), std::size_t(25), std::size_t(m / 3), m}) {
        if (!lloyd_test::asan_share<TestType>(ci++)) continue;  // under AddressSanitizer
        auto Y = lloyd::make_blobs<TestType>(m, d, std::max<std::size_t>(1, m / 3), 0.5, m + d + k).X;
        if (k == 25)  // few distinct points: every point one of 10
          for (std::size_t i = 10; i < m; ++i)
            for (std::size_t j = 0; j < d; ++j) Y(i, j) = Y(i % 10, j);
        std::vector<TestType> w(m);  // all different: no two trials tie exactly (ties may break either way)
        for (std::size_t i = 0; i < m; ++i) w[i] = TestType(1 + static_cast<double>((i * 7) % m) / static_cast<double>(m));
        lloyd::detail::ThreadPool one(1), three(3);
        const auto P = lloyd::detail::make_problem<TestType>(Y, w.data(), one);
        lloyd::detail::Rng r0(k + 1), r1(k + 1), r3(k + 1);
        const auto greedy = lloyd::detail::kmeans_plusplus_seeding<TestType>(P, k, r0, one);
        CK a(Y, w.data(), k, 0, one), b(Y, w.data(), k, 0, three);
        const std::vector<std::size_t> picks = a.run(r1);
        INFO("d = " << d << ", m = " << m << ", k = " << k);
        REQUIRE(picks == greedy.indices);
        REQUIRE(b.run(r3) == picks);
        REQUIRE(a.distances_computed() == b.distances_computed());
      }
  // On well-separated blobs, one centroid each, the bounds spare the distances of the
  // blobs already covered (about half of m + (k - 1) m trials, the count without them).
  const std::size_t m = 1200, k = 300, trials = 2 + static_cast<std::size_t>(std::log(double(k)));
  const auto Y = lloyd::make_blobs<TestType>(m, 19, k, 0.01, 9).X;
  const std::vector<TestType> w(m, TestType(1));
  lloyd::detail::ThreadPool pool(2);
  lloyd::detail::Rng rng(3);
  CK c(Y, w.data(), k, 0, pool);
  c.run(rng);
  INFO("distances computed " << c.distances_computed() << " of " << m + (k - 1) * m * trials);
  REQUIRE(c.distances_computed() < (m + (k - 1) * m * trials) * 3 / 4);
}

TEMPLATE_TEST_CASE("k-means|| seeds one centroid per well-separated blob", "[init]", float, double) {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const auto b = lloyd::make_blobs<TestType>(5000, 6, 20, 0.01, 300 + seed);
    const auto s = lloyd::kmeans_parallel<TestType>(b.X, 20, seed);
    std::set<std::int32_t> blobs;
    for (auto i : s.indices) blobs.insert(b.y[i]);
    REQUIRE(blobs.size() == 20);
  }
}

TEMPLATE_TEST_CASE("k-means|| honours weights and copes with few distinct rows", "[init]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(2000, 3, 0.0, 1.0, 3);
  std::vector<TestType> w(2000, TestType(0));
  for (std::size_t i = 0; i < 2000; i += 5) w[i] = TestType(2);
  const auto s = lloyd::kmeans_parallel<TestType>(X, 40, 1, &w);
  for (auto i : s.indices) REQUIRE(w[i] > 0);

  lloyd::Matrix<TestType> Y(300, 2);
  for (std::size_t i = 0; i < 300; ++i) Y(i, 1) = static_cast<TestType>(i % 4);  // 4 distinct rows
  const auto t = lloyd::kmeans_parallel<TestType>(Y, 9, 2);
  REQUIRE(std::set<std::size_t>(t.indices.begin(), t.indices.end()).size() == 9);
}

TEMPLATE_TEST_CASE("fits seeded by k-means|| and Init::Auto converge like k-means++ ones", "[init][kmeans]", float, double) {
  const auto b = lloyd::make_blobs<TestType>(8000, 10, 150, 0.3, 77);
  lloyd::Params p;
  p.n_clusters = 150;
  p.seed = 1;
  p.init = lloyd::Init::KMeansPlusPlus;
  const auto pp = lloyd::KMeans<TestType>(p).fit(b.X);
  p.init = lloyd::Init::KMeansParallel;
  p.n_threads = 1;
  const auto par = lloyd::KMeans<TestType>(p).fit(b.X);
  p.n_threads = 2;
  REQUIRE(lloyd::KMeans<TestType>(p).fit(b.X).centroids == par.centroids);
  REQUIRE(par.inertia <= pp.inertia * 1.05);
  // Auto: k >= 128 and n >= 4 k, so k-means|| here; it is the default.
  p.init = lloyd::Init::Auto;
  REQUIRE(lloyd::KMeans<TestType>(p).fit(b.X).centroids == par.centroids);
  lloyd::Params defaults;
  defaults.n_clusters = 150;
  defaults.seed = 1;
  REQUIRE(lloyd::KMeans<TestType>(defaults).fit(b.X).centroids == par.centroids);
  // Below 4 rows a centroid, Auto (the default) is greedy k-means++.
  const auto few = lloyd::MatrixView<const TestType>(b.X.data(), 599, b.X.cols(), b.X.stride());
  p.init = lloyd::Init::KMeansPlusPlus;
  const auto few_pp = lloyd::KMeans<TestType>(p).fit(few);
  REQUIRE(lloyd::KMeans<TestType>(defaults).fit(few).centroids == few_pp.centroids);
}

TEST_CASE("seeding_for resolves Init::Auto and keeps every other Init", "[init]") {
  using lloyd::Init;
  REQUIRE(lloyd::Params{}.init == Init::Auto);
  REQUIRE(lloyd::MiniBatchParams{}.init == Init::Auto);
  STATIC_REQUIRE(lloyd::seeding_for(Init::Auto, 127, 1000000) == Init::KMeansPlusPlus);
  STATIC_REQUIRE(lloyd::seeding_for(Init::Auto, 128, 512) == Init::KMeansParallel);
  STATIC_REQUIRE(lloyd::seeding_for(Init::Auto, 128, 511) == Init::KMeansPlusPlus);
  for (Init init : {Init::KMeansPlusPlus, Init::Random, Init::KMeansParallel})
    REQUIRE(lloyd::seeding_for(init, 1000, 1000000) == init);
}
