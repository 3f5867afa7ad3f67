// The exact accelerated algorithms return Lloyd's result bit for bit: same labels,
// centroids, inertia and iteration count from the same starting centroids.
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <initializer_list>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "helpers.hpp"

namespace {

const char* name(lloyd::Algorithm a) {
  switch (a) {
    case lloyd::Algorithm::Lloyd: return "Lloyd";
    case lloyd::Algorithm::Elkan: return "Elkan";
    case lloyd::Algorithm::Hamerly: return "Hamerly";
    case lloyd::Algorithm::Yinyang: return "Yinyang";
    case lloyd::Algorithm::Exponion: return "Exponion";
    default: return "Auto";
  }
}

template <class T>
lloyd::Result<T> run(lloyd::MatrixView<const T> X, const lloyd::Matrix<T>& init, lloyd::Algorithm a, int max_iter,
                     bool fixed, const std::vector<T>* w = nullptr, int threads = 0) {
  lloyd::Params p;
  p.n_clusters = init.rows();
  p.algorithm = a;
  p.max_iter = max_iter;
  p.run_till_max_iter = fixed;
  p.tol = 0;
  p.n_threads = threads;
  lloyd::KMeans<T> km(p);
  return w ? km.fit(X, init, *w) : km.fit(X, init);
}

// A fit to convergence (tol 0) that records each iteration's distance evaluations.
template <class T>
lloyd::Result<T> run_counting(const lloyd::Matrix<T>& X, const lloyd::Matrix<T>& init, lloyd::Algorithm a,
                              int max_iter, std::vector<std::size_t>& evaluations) {
  lloyd::Params p;
  p.n_clusters = init.rows();
  p.algorithm = a;
  p.max_iter = max_iter;
  p.tol = 0;
  p.on_iteration = [&](const lloyd::IterationStats& s) { evaluations.push_back(s.distance_evaluations); };
  return lloyd::KMeans<T>(p).fit(X, init);
}

template <class T>
void require_same(const lloyd::Result<T>& a, const lloyd::Result<T>& b) {
  REQUIRE(a.n_iter == b.n_iter);
  REQUIRE(a.converged == b.converged);
  REQUIRE(a.labels == b.labels);
  REQUIRE(a.centroids == b.centroids);
  REQUIRE(a.inertia == b.inertia);
}

const lloyd::Algorithm bounded[] = {lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan, lloyd::Algorithm::Yinyang,
                                    lloyd::Algorithm::Exponion, lloyd::Algorithm::Auto};

}  // namespace

TEMPLATE_TEST_CASE("bounded algorithms reproduce Lloyd on blobs and noise, d = 2..256", "[algorithms]", float, double) {
  struct Case {
    std::size_t n, d, k;
    bool blobs;
  };
  const Case cases[] = {{3000, 2, 20, true},  {3000, 2, 20, false}, {2500, 7, 40, true},  {2500, 16, 9, false},
                        {2000, 33, 64, true}, {2000, 64, 30, false}, {1200, 256, 25, true}, {1500, 129, 70, false}};
  for (std::size_t ci = 0; ci < std::size(cases); ++ci) {
    const Case& c = cases[ci];
    const auto X = c.blobs ? lloyd::make_blobs<TestType>(c.n, c.d, c.k, 2.0, c.n + c.d).X
                           : lloyd::make_uniform<TestType>(c.n, c.d, 0.0, 1.0, c.n + c.d);
    const auto init = lloyd::random_rows<TestType>(X, c.k, 3).centroids;  // a poor start: many iterations
    for (bool fixed : {true, false}) {
      // Under AddressSanitizer (10x slower) float and double share the cases' first 12
      // iterations, and one case runs to convergence (float: blobs at d = 2, double:
      // blobs at d = 7).
      if (lloyd_test::under_asan &&
          (fixed ? !lloyd_test::asan_share<TestType>(ci) : ci != (std::is_same<TestType, double>::value ? 2u : 0u)))
        continue;
      const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, fixed ? 12 : 300, fixed);
      for (auto a : bounded) {
        INFO(name(a) << " n=" << c.n << " d=" << c.d << " k=" << c.k << (c.blobs ? " blobs" : " uniform")
                     << (fixed ? " fixed iterations" : " to convergence"));
        require_same(run<TestType>(X, init, a, fixed ? 12 : 300, fixed), ref);
      }
    }
  }
}

TEMPLATE_TEST_CASE("Exponion's ball searches reproduce Lloyd at low d and many centroids", "[algorithms]", float,
                   double) {
  // k from 150 to 400 at d = 1..3: failed rows search balls of 1 to 64 centroids (the
  // annuli) instead of going through the kernel; clustered and uniform data, rows far
  // from the origin (relative error of the canonical distances), 1 and 2 threads. Under
  // AddressSanitizer float and double share the cases.
  struct Case {
    std::size_t n, d, k;
    bool blobs;
    double offset;
  };
  const Case cases[] = {{6000, 2, 300, true, 0.0}, {5000, 1, 150, false, 0.0}, {8000, 3, 400, true, 1e3},
                        {6000, 2, 257, false, -50.0}};
  for (std::size_t ci = 0; ci < std::size(cases); ++ci) {
    if (!lloyd_test::asan_share<TestType>(ci)) continue;  // under AddressSanitizer
    const Case& c = cases[ci];
    auto X = c.blobs ? lloyd::make_blobs<TestType>(c.n, c.d, c.k / 3, 1.0, c.n + c.d).X
                     : lloyd::make_uniform<TestType>(c.n, c.d, 0.0, 1.0, c.n + c.d);
    for (std::size_t i = 0; i < c.n; ++i)
      for (std::size_t j = 0; j < c.d; ++j) X(i, j) = static_cast<TestType>(X(i, j) + c.offset);
    const auto init = lloyd::random_rows<TestType>(X, c.k, 5).centroids;
    const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 200, false);
    for (int threads : {1, 2}) {
      INFO("n=" << c.n << " d=" << c.d << " k=" << c.k << " threads " << threads);
      const auto r = run<TestType>(X, init, lloyd::Algorithm::Exponion, 200, false, nullptr, threads);
      require_same(r, ref);
      REQUIRE(r.distance_evaluations < ref.distance_evaluations / 4);  // the bounds did their work
    }
  }
}

TEMPLATE_TEST_CASE("Elkan's per-centroid searches reproduce Lloyd at high d", "[algorithms]", float, double) {
  // Rows of 2 KiB or more: Elkan's failed rows search their k bounds (below, they go
  // through the kernel as in Hamerly's). Clustered data (few candidates), uniform data
  // (many: some rows still go to the kernel), k = 1, k = n, d not a multiple of the SIMD
  // width, rows far from the origin, duplicate rows, weights with zeros, a starting
  // centroid far from everything (relocated), 1 and 2 threads (the same work). Cosine:
  // test_metrics.cpp. Under AddressSanitizer (10x slower) the clustered n = 2500 case,
  // the second thread count and the comparison with Hamerly are left out, and float
  // and double share the other cases.
  struct Case {
    std::size_t n, d, k;
    bool blobs;
    double offset;
  };
  const Case cases[] = {{2500, 520, 40, true, 0.0}, {1200, 513, 150, false, 0.0}, {300, 523, 300, true, 0.0},
                        {500, 519, 1, true, 0.0}, {2000, 600, 25, true, 1e3}};
  for (std::size_t ci = 0; ci < std::size(cases); ++ci) {
    const Case& c = cases[ci];
    if (lloyd_test::under_asan && (c.n == 2500 || !lloyd_test::asan_share<TestType>(ci))) continue;
    auto X = c.blobs ? lloyd::make_blobs<TestType>(c.n, c.d, std::max<std::size_t>(1, c.k / 2), 2.0, c.n + c.d).X
                     : lloyd::make_uniform<TestType>(c.n, c.d, 0.0, 1.0, c.n + c.d);
    for (std::size_t i = 0; i < c.n; ++i)
      for (std::size_t j = 0; j < c.d; ++j)
        X(i, j) = static_cast<TestType>((i % 10 == 9 ? X(i - 1, j) : X(i, j)) + c.offset);
    auto init = lloyd::random_rows<TestType>(X, c.k, 3).centroids;
    if (c.k > 2)
      for (std::size_t j = 0; j < c.d; ++j) init(c.k - 1, j) = static_cast<TestType>(c.offset + 500);
    std::vector<TestType> w(c.n);
    for (std::size_t i = 0; i < c.n; ++i) w[i] = static_cast<TestType>(i % 7 == 3 ? 0.0 : 1.0 + double(i % 3));
    INFO("n=" << c.n << " d=" << c.d << " k=" << c.k);
    const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 100, false, &w);
    const auto one = run<TestType>(X, init, lloyd::Algorithm::Elkan, 100, false, &w, 1);
    require_same(one, ref);
    if (lloyd_test::under_asan) continue;
    const auto two = run<TestType>(X, init, lloyd::Algorithm::Elkan, 100, false, &w, 2);
    require_same(two, ref);
    REQUIRE(two.distance_evaluations == one.distance_evaluations);
    if (c.blobs && c.offset == 0.0 && c.k > 2 && c.k < c.n)  // the searches did their work: fewer distances than Hamerly's kernel rows
      REQUIRE(one.distance_evaluations <
              run<TestType>(X, init, lloyd::Algorithm::Hamerly, 100, false, &w, 1).distance_evaluations);
  }
}

TEMPLATE_TEST_CASE("Elkan's bounds set from the kernel's scores reproduce Lloyd", "[algorithms]", float, double) {
  // A row that has too many candidates goes through the kernel and comes back with its k
  // bounds set from its scores; on overlapping blobs many such rows later change label
  // through those bounds (bounds set 5 % too high fail this test). Rows of 2 KiB.
  const std::size_t n = 3000, d = 2048 / sizeof(TestType) + 3, k = 12;
  for (double spread : {10.0, 20.0}) {
    if (lloyd_test::under_asan && spread > 10.0) continue;
    const auto X = lloyd::make_blobs<TestType>(n, d, 6, spread, n + d).X;
    const auto init = lloyd::random_rows<TestType>(X, k, 3).centroids;
    INFO("spread=" << spread);
    const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 300, false);
    REQUIRE(ref.n_iter > 5);
    const auto elkan = run<TestType>(X, init, lloyd::Algorithm::Elkan, 300, false, nullptr, 2);
    require_same(elkan, ref);
    REQUIRE(elkan.distance_evaluations < ref.distance_evaluations);
    // Two snapshots kept (as at large k d): every pass brings the bounds set in the last
    // one forward (not subtracting how far the centroids moved fails this).
    using Elkan = lloyd::detail::Elkan<TestType>;
    const std::size_t kept = Elkan::snapshot_bytes;
    Elkan::snapshot_bytes = 0;
    const auto two = run<TestType>(X, init, lloyd::Algorithm::Elkan, 300, false, nullptr, 2);
    Elkan::snapshot_bytes = kept;
    require_same(two, ref);
  }
}

TEMPLATE_TEST_CASE("bounded algorithms reproduce Lloyd through pauses of their bounds", "[algorithms]", float, double) {
  // Uniform noise: in 64-d most rows fail Hamerly's bounds, so Hamerly and Exponion pause
  // them; in rows of 2400 bytes Elkan's searches compute most of the distances, so it
  // pauses them too. A pause is Lloyd's fused passes, then one full pass of the
  // algorithm's own that sets the bounds again. The test needs a pause: a pass after the
  // first that computed exactly Lloyd's n x k distances (the algorithms' own full passes
  // also compute the rows' distances to their centroids here, on_iteration being set).
  const auto check = [](std::size_t n, std::size_t d, std::size_t k, std::initializer_list<lloyd::Algorithm> algorithms) {
    const auto X = lloyd::make_uniform<TestType>(n, d, 0.0, 1.0, n + d);
    const auto init = lloyd::random_rows<TestType>(X, k, 5).centroids;
    const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 100, false);
    for (const auto a : algorithms) {
      INFO(name(a) << " d = " << d);
      std::vector<std::size_t> evaluations;
      const auto r = run_counting<TestType>(X, init, a, 100, evaluations);
      require_same(r, ref);
      REQUIRE(std::find(evaluations.begin() + 1, evaluations.end(), n * k) != evaluations.end());
    }
  };
  check(2000, 64, 30, {lloyd::Algorithm::Hamerly, lloyd::Algorithm::Exponion});
  check(1000, 2400 / sizeof(TestType), 10, {lloyd::Algorithm::Elkan});
}

TEMPLATE_TEST_CASE("With 8 to 15 centroids from d = 128 bounds start at the ninth pass", "[algorithms]", float,
                   double) {
  // Uniform noise, d = 128, k = 10: Auto picks Hamerly; its first eight passes are full
  // ones (the first seven Lloyd's: exactly n x k distances), bounded ones after. So do
  // the bounded algorithms asked for by name under the library's default rule; with the
  // tests' setting (helpers.hpp) their bounds start at the second pass.
  const std::size_t n = 3000, d = 128, k = 10;
  const auto X = lloyd::make_uniform<TestType>(n, d, 0.0, 1.0, 77);
  const auto init = lloyd::random_rows<TestType>(X, k, 5).centroids;
  const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 300, false);
  REQUIRE(ref.n_iter > 12);
  for (bool by_default : {true, false}) {
    for (const auto a : bounded) {
      if (!by_default && a == lloyd::Algorithm::Auto) continue;  // Auto always waits
      INFO(name(a) << (by_default ? " (the default rule)" : " (the tests' setting)"));
      std::vector<std::size_t> evaluations;
      const auto r = [&] {
        const lloyd_test::DefaultBoundsRule rule(by_default);
        return run_counting<TestType>(X, init, a, 300, evaluations);
      }();
      require_same(r, ref);
      REQUIRE(r.algorithm == (a == lloyd::Algorithm::Auto ? lloyd::Algorithm::Hamerly : a));
      REQUIRE(evaluations.size() > 12);
      const std::size_t lloyd_passes = by_default ? 7 : 0;
      for (std::size_t it = 0; it < lloyd_passes; ++it) REQUIRE(evaluations[it] == n * k);
      REQUIRE(evaluations[lloyd_passes] >= n * k);  // the algorithm's own full pass
      REQUIRE(*std::min_element(evaluations.begin() + lloyd_passes + 1, evaluations.end()) < n * k);
    }
  }
}

TEMPLATE_TEST_CASE("Where bounds cannot pay, bounded algorithms asked for by name run Lloyd", "[algorithms]", float,
                   double) {
  // Under the default rule: fewer than 8 centroids, or fewer than 16 below d = 128. Every
  // pass then computes n x k distances and Result::algorithm says Lloyd; 16 centroids at
  // d = 8 keep bounds from the second pass. With the tests' setting (helpers.hpp) the
  // algorithms keep their bounds at k = 10 too, which the other tests rely on.
  struct Case {
    std::size_t d, k;
    bool lloyd;
  };
  const std::size_t n = 2000;
  for (const Case c : {Case{8, 10, true}, Case{128, 7, true}, Case{127, 15, true}, Case{8, 16, false}}) {
    const auto X = lloyd::make_blobs<TestType>(n, c.d, c.k, 1.0, 9).X;
    const auto init = lloyd::random_rows<TestType>(X, c.k, 2).centroids;
    const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 100, false);
    for (const auto a : bounded) {
      if (a == lloyd::Algorithm::Auto) continue;
      for (bool by_default : {true, false}) {
        INFO(name(a) << " d = " << c.d << " k = " << c.k << (by_default ? " (the default rule)" : " (the tests' setting)"));
        std::vector<std::size_t> evaluations;
        const auto r = [&] {
          const lloyd_test::DefaultBoundsRule rule(by_default);
          return run_counting<TestType>(X, init, a, 100, evaluations);
        }();
        require_same(r, ref);
        REQUIRE(evaluations.size() > 1);
        const bool lloyd = by_default && c.lloyd;
        REQUIRE(r.algorithm == (lloyd ? lloyd::Algorithm::Lloyd : a));
        if (lloyd)
          REQUIRE(std::all_of(evaluations.begin(), evaluations.end(), [&](std::size_t e) { return e == n * c.k; }));
        else
          REQUIRE(evaluations[1] < n * c.k);
      }
    }
  }
}

TEMPLATE_TEST_CASE("bounded algorithms reproduce Lloyd with weights, ties and empty clusters", "[algorithms]", float,
                   double) {
  // Duplicate rows and duplicate starting centroids (exact ties), zero weights, and a
  // starting centroid far from everything (an empty cluster, relocated).
  auto X = lloyd::make_blobs<TestType>(1500, 5, 12, 1.5, 8).X;
  for (std::size_t i = 0; i < 100; ++i)
    for (std::size_t j = 0; j < 5; ++j) X(i + 100, j) = X(i, j);
  lloyd::Matrix<TestType> init = lloyd::random_rows<TestType>(X, 12, 4).centroids;
  for (std::size_t j = 0; j < 5; ++j) {
    init(3, j) = init(7, j);
    init(11, j) = TestType(1000);
  }
  std::vector<TestType> w(X.rows());
  for (std::size_t i = 0; i < X.rows(); ++i) w[i] = static_cast<TestType>(i % 5 == 0 ? 0.0 : 0.5 + double(i % 3));
  const auto ref = run<TestType>(X, init, lloyd::Algorithm::Lloyd, 300, false, &w);
  for (auto a : bounded) {
    INFO(name(a));
    require_same(run<TestType>(X, init, a, 300, false, &w), ref);
  }
}

TEMPLATE_TEST_CASE("bounded algorithms are deterministic across thread counts", "[algorithms][determinism]", float,
                   double) {
  const auto X = lloyd::make_blobs<TestType>(20000, 6, 50, 3.0, 77).X;
  const auto init = lloyd::random_rows<TestType>(X, 50, 1).centroids;
  for (std::size_t ai = 0; ai < std::size(bounded); ++ai) {
    if (!lloyd_test::asan_share<TestType>(ai)) continue;  // under AddressSanitizer
    const lloyd::Algorithm a = bounded[ai];
    const auto one = run<TestType>(X, init, a, 40, false, nullptr, 1);
    for (int threads : lloyd_test::thread_sweep({2, 3, 8})) {
      INFO(name(a) << " threads " << threads);
      const auto r = run<TestType>(X, init, a, 40, false, nullptr, threads);
      require_same(r, one);
      REQUIRE(r.distance_evaluations == one.distance_evaluations);  // the same work, not only the same answer
    }
  }
}

TEST_CASE("Auto keeps Elkan's n x k bounds within twice the data", "[algorithms]") {
  using lloyd::Algorithm;
  const auto pick = [](std::size_t n, std::size_t k, std::size_t d, std::size_t budget = std::size_t(1) << 30) {
    return lloyd::detail::resolve_algorithm<float>(Algorithm::Auto, n, k, d, budget);
  };
  // float32 rows of 2 KiB: bounds (n + k) k 4 bytes against twice the data, n 2048 bytes, or 64 MiB.
  REQUIRE(pick(70000, 1000, 784) == Algorithm::Elkan);     // 280 MB of bounds, 220 MB of data
  REQUIRE(pick(20000, 900, 512) == Algorithm::Elkan);      // 75.6 MB, 41 MB
  REQUIRE(pick(20000, 1000, 512) == Algorithm::Exponion);  // 84 MB > twice 41 MB
  REQUIRE(pick(15840, 990, 512) == Algorithm::Elkan);      // 66.6 MB > twice 32.4 MB, < 64 MiB
  REQUIRE(pick(70000, 1000, 784, std::size_t(200) << 20) == Algorithm::Exponion);  // max_memory_bytes
  REQUIRE(pick(70000, 1000, 511) == Algorithm::Exponion);  // rows under 2 KiB
}

TEST_CASE("Result::algorithm reports what ran", "[algorithms]") {
  const auto X = lloyd::make_blobs<float>(3000, 16, 40, 1.0, 2).X;
  lloyd::Params p;
  p.n_clusters = 40;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Hamerly);  // Auto, rows under 256 bytes
  p.n_clusters = 15;
  const auto line = lloyd::make_blobs<double>(3000, 2, 16, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(line).algorithm == lloyd::Algorithm::Lloyd);  // Auto, k < 16 below d = 128
  const auto d128 = lloyd::make_blobs<double>(3000, 128, 16, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(d128).algorithm == lloyd::Algorithm::Hamerly);  // Auto, 8 <= k < 16 at d = 128
  p.n_clusters = 7;
  REQUIRE(lloyd::KMeans<double>(p).fit(d128).algorithm == lloyd::Algorithm::Lloyd);  // Auto, k < 8
  p.n_clusters = 15;
  const auto d127 = lloyd::make_blobs<double>(3000, 127, 16, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(d127).algorithm == lloyd::Algorithm::Lloyd);  // Auto, k < 16 below d = 128
  p.n_clusters = 16;
  REQUIRE(lloyd::KMeans<double>(p).fit(line).algorithm == lloyd::Algorithm::Hamerly);  // Auto, k >= 16 at d = 2
  p.n_clusters = 188;
  REQUIRE(lloyd::KMeans<double>(p).fit(line).algorithm == lloyd::Algorithm::Lloyd);  // Auto, under 16 rows a centroid
  p.n_clusters = 16;
  p.max_memory_bytes = 3000 * 17 - 1;  // Hamerly's bounds do not fit
  REQUIRE(lloyd::KMeans<double>(p).fit(line).algorithm == lloyd::Algorithm::Lloyd);
  p.max_memory_bytes = std::size_t(1) << 30;
  p.n_clusters = 40;
  const auto wide = lloyd::make_blobs<float>(3000, 64, 40, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<float>(p).fit(wide).algorithm == lloyd::Algorithm::Exponion);  // Auto, rows of 256 bytes
  const auto wide32 = lloyd::make_blobs<double>(3000, 32, 40, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(wide32).algorithm == lloyd::Algorithm::Exponion);
  p.max_memory_bytes = 3000 * 17 + 40 * 40 * 8 - 1;  // Exponion's lists do not fit, Hamerly's bounds do
  REQUIRE(lloyd::KMeans<float>(p).fit(wide).algorithm == lloyd::Algorithm::Hamerly);
  p.max_memory_bytes = std::size_t(1) << 30;
  p.max_iter = 3;
  const auto long_f = lloyd::make_blobs<float>(3000, 512, 40, 1.0, 2).X;  // rows of 2 KiB: Elkan's, where they fit
  REQUIRE(lloyd::KMeans<float>(p).fit(long_f).algorithm == lloyd::Algorithm::Elkan);
  const auto long_d = lloyd::make_blobs<double>(3000, 256, 40, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(long_d).algorithm == lloyd::Algorithm::Elkan);
  const auto short_d = lloyd::make_blobs<double>(3000, 255, 40, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<double>(p).fit(short_d).algorithm == lloyd::Algorithm::Exponion);
  // Elkan's n x k bounds beyond max_memory_bytes, Exponion's fit: Exponion
  p.max_memory_bytes = 3000 * 17 + (3000 + 40) * 40 * 4 - 1;
  REQUIRE(lloyd::KMeans<float>(p).fit(long_f).algorithm == lloyd::Algorithm::Exponion);
  p.max_memory_bytes = std::size_t(1) << 30;
  p.max_iter = 300;
  p.algorithm = lloyd::Algorithm::Yinyang;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Yinyang);
  p.max_memory_bytes = 1024;  // Yinyang's bounds do not fit: Hamerly's neither: Lloyd
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Lloyd);
  p.max_memory_bytes = std::size_t(1) << 30;
  p.algorithm = lloyd::Algorithm::Exponion;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Exponion);
  // Exponion's k x k neighbour lists (40 x 40 x 8 bytes) do not fit, Hamerly's bounds do
  p.max_memory_bytes = 3000 * 17 + 40 * 40 * 8 - 1;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Hamerly);
  p.max_memory_bytes = std::size_t(1) << 30;
  // Elkan keeps n x k bounds only for rows of 2 KiB or more; below, Hamerly's two suffice
  p.algorithm = lloyd::Algorithm::Elkan;
  p.max_memory_bytes = 3000 * 17;
  p.max_iter = 3;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Elkan);
  const auto long_rows = lloyd::make_blobs<float>(3000, 520, 40, 1.0, 2).X;
  REQUIRE(lloyd::KMeans<float>(p).fit(long_rows).algorithm == lloyd::Algorithm::Hamerly);  // nor Yinyang's
  p.max_memory_bytes = 3000 * 17 + (3000 + 40) * 40 * 4;
  REQUIRE(lloyd::KMeans<float>(p).fit(long_rows).algorithm == lloyd::Algorithm::Elkan);
  p.max_iter = 300;
  p.algorithm = lloyd::Algorithm::Exponion;
  p.max_memory_bytes = std::size_t(1) << 30;
  p.metric = lloyd::Metric::Dot;
  REQUIRE(lloyd::KMeans<float>(p).fit(X).algorithm == lloyd::Algorithm::Lloyd);
}

TEST_CASE("Auto's Exponion hands over to Yinyang where its bounds save nothing", "[algorithms]") {
  // Uniform noise, 6000 x 64, k = 150, float64: Exponion's first ten passes each compute
  // over 95 % of Lloyd's distances, and Yinyang runs the rest; on overlapping blobs of the
  // same shape (a fit as long) Exponion's bounds pay within those passes and it keeps the
  // fit. Either way the result is Lloyd's, bit for bit, with any number of threads.
  const auto noise = lloyd::make_uniform<double>(6000, 64, 0.0, 1.0, 5);
  const auto blobs = lloyd::make_blobs<double>(6000, 64, 150, 8.0, 5).X;
  for (const auto* X : {&noise, &blobs}) {
    const auto init = lloyd::random_rows<double>(*X, 150, 3).centroids;
    const bool hands_over = X == &noise;
    INFO((hands_over ? "noise" : "blobs"));
    std::vector<std::size_t> evaluations;
    const auto ref = run<double>(*X, init, lloyd::Algorithm::Lloyd, 300, false);
    const auto a = run_counting<double>(*X, init, lloyd::Algorithm::Auto, 300, evaluations);
    REQUIRE(a.algorithm == (hands_over ? lloyd::Algorithm::Yinyang : lloyd::Algorithm::Exponion));
    REQUIRE(a.n_iter > 12);
    require_same(a, ref);
    // After the hand-over Yinyang's bounds skip distances (its first pass is full).
    if (hands_over) REQUIRE(*std::min_element(evaluations.begin() + 11, evaluations.end() - 1) < 6000 * 150 * 9 / 10);
    for (int threads : lloyd_test::thread_sweep({1, 3})) {
      INFO("threads " << threads);
      const auto t = run<double>(*X, init, lloyd::Algorithm::Auto, 300, false, nullptr, threads);
      require_same(t, a);
      REQUIRE(t.algorithm == a.algorithm);
    }
    // A fit of ten iterations ends before the hand-over (its final relabelling stays
    // Exponion's); one of eleven hands over for the eleventh.
    for (int iterations : {10, 11}) {
      INFO("max_iter " << iterations);
      const auto short_fit = run<double>(*X, init, lloyd::Algorithm::Auto, iterations, false);
      REQUIRE(short_fit.algorithm == (hands_over && iterations == 11 ? lloyd::Algorithm::Yinyang : lloyd::Algorithm::Exponion));
      require_same(short_fit, run<double>(*X, init, lloyd::Algorithm::Lloyd, iterations, false));
    }
    // Yinyang's bounds (6000 x (15 x 4 + 8) bytes) beyond max_memory_bytes, Exponion's
    // (6000 x 17 + 150 x 150 x 8) within: no hand-over.
    lloyd::Params p;
    p.n_clusters = 150;
    p.tol = 0;
    p.max_memory_bytes = 6000 * 17 + 150 * 150 * 8;
    const auto kept = lloyd::KMeans<double>(p).fit(*X, init);
    REQUIRE(kept.algorithm == lloyd::Algorithm::Exponion);
    require_same(kept, ref);
  }
}
