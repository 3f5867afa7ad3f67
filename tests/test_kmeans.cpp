#include <catch2/catch.hpp>
#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define LLOYD_TEST_HAVE_DUP 1
#endif

#include "helpers.hpp"

using lloyd_test::same_partition;

namespace {

template <class T>
lloyd::Params kmeans_params(std::size_t k, std::uint64_t seed = 0) {
  lloyd::Params p;
  p.n_clusters = k;
  p.seed = seed;
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("fit recovers well-separated blobs exactly", "[kmeans]", float, double) {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const auto b = lloyd::make_blobs<TestType>(3000, 6, 7, 0.3, 50 + seed);
    auto p = kmeans_params<TestType>(7, seed);
    p.n_init = 3;
    lloyd::KMeans<TestType> km(p);
    const auto r = km.fit(b.X);
    INFO("seed " << seed);
    REQUIRE(r.converged);
    REQUIRE(same_partition(r.labels, b.y));
    // Each centroid sits near the true centre of its blob.
    for (std::size_t i = 0; i < 7; ++i) {
      std::size_t row = 0;
      while (b.y[row] != static_cast<std::int32_t>(i)) ++row;
      const auto c = static_cast<std::size_t>(r.labels[row]);
      for (std::size_t j = 0; j < 6; ++j) REQUIRE(std::abs(r.centroids(c, j) - b.centers(i, j)) < 0.1);
    }
  }
}

TEMPLATE_TEST_CASE("inertia never increases across Lloyd iterations", "[kmeans]", float, double) {
  for (std::uint64_t seed = 0; seed < 6; ++seed) {
    const auto X = seed % 2 ? lloyd::make_uniform<TestType>(2000, 4, 0.0, 1.0, seed)
                            : lloyd::make_blobs<TestType>(2000, 4, 12, 2.0, seed).X;
    auto p = kmeans_params<TestType>(15, seed);
    p.init = seed % 3 == 0 ? lloyd::Init::Random : lloyd::Init::KMeansPlusPlus;
    p.tol = 0;
    std::vector<double> inertia;
    p.on_iteration = [&](const lloyd::IterationStats& s) { inertia.push_back(s.inertia); };
    const auto r = lloyd::KMeans<TestType>(p).fit(X);
    REQUIRE(inertia.size() == static_cast<std::size_t>(r.n_iter));
    REQUIRE(inertia.size() >= 2);
    for (std::size_t t = 1; t < inertia.size(); ++t) {
      INFO("seed " << seed << " iteration " << t + 1);
      REQUIRE(inertia[t] <= inertia[t - 1] * (1 + 4 * lloyd_test::eps_of<TestType>()));
    }
    REQUIRE(r.inertia <= inertia.back() * (1 + 4 * lloyd_test::eps_of<TestType>()));
  }
}

TEMPLATE_TEST_CASE("labels, inertia and centroids of a fit describe each other", "[kmeans]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(1500, 5, 6, 1.5, 3).X;
  for (int max_iter : {1, 2, 300}) {
    auto p = kmeans_params<TestType>(6, 1);
    p.max_iter = max_iter;
    p.tol = 0;
    lloyd::KMeans<TestType> km(p);
    const auto r = km.fit(X);
    INFO("max_iter " << max_iter);
    REQUIRE(r.n_iter <= max_iter);
    // Labels are the nearest centroids of the returned centroids...
    std::vector<std::int32_t> ref(X.rows());
    lloyd::detail::reference_assign<TestType>(X, r.centroids, ref.data(), nullptr);
    REQUIRE(r.labels == ref);
    // ... predict agrees with them, and the inertia is theirs.
    REQUIRE(km.predict(X) == r.labels);
    REQUIRE(lloyd_test::close_rel(r.inertia, lloyd_test::reference_inertia<TestType>(X, r.centroids, r.labels),
                                  10 * lloyd_test::eps_of<TestType>()));
    REQUIRE(lloyd_test::close_rel(km.score(X), -r.inertia, 10 * lloyd_test::eps_of<TestType>()));
    REQUIRE(km.inertia() == r.inertia);
    REQUIRE(km.centroids() == r.centroids);
  }
}

TEMPLATE_TEST_CASE("after strict convergence each centroid is the mean of its rows", "[kmeans]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(1200, 3, 5, 2.5, 8).X;
  auto p = kmeans_params<TestType>(5, 2);
  p.tol = 0;
  const auto r = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(r.converged);
  std::vector<double> sums(5 * 3, 0.0), counts(5, 0.0);
  for (std::size_t i = 0; i < X.rows(); ++i) {
    const auto c = static_cast<std::size_t>(r.labels[i]);
    counts[c] += 1;
    for (std::size_t j = 0; j < 3; ++j) sums[c * 3 + j] += X(i, j);
  }
  for (std::size_t c = 0; c < 5; ++c)
    for (std::size_t j = 0; j < 3; ++j)
      REQUIRE(lloyd_test::close_rel(r.centroids(c, j), sums[c * 3 + j] / counts[c], 4 * lloyd_test::eps_of<TestType>()));
}

TEMPLATE_TEST_CASE("fit is bit-identical for any number of threads", "[kmeans][determinism]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(20000, 13, 30, 3.0, 4).X;
  auto p = kmeans_params<TestType>(30, 5);
  p.max_iter = 20;
  p.n_init = 2;
  p.n_threads = 1;
  const auto a = lloyd::KMeans<TestType>(p).fit(X);
  for (int threads : lloyd_test::thread_sweep({2, 3, 8})) {
    p.n_threads = threads;
    const auto b = lloyd::KMeans<TestType>(p).fit(X);
    INFO("threads " << threads);
    REQUIRE(b.centroids == a.centroids);
    REQUIRE(b.labels == a.labels);
    REQUIRE(b.inertia == a.inertia);
    REQUIRE(b.n_iter == a.n_iter);
  }
  // ... and run to run.
  p.n_threads = 2;
  REQUIRE(lloyd::KMeans<TestType>(p).fit(X).centroids == a.centroids);
}

TEMPLATE_TEST_CASE("an empty cluster is moved onto the farthest row", "[kmeans]", float, double) {
  // Two tight groups and one outlier; the third starting centroid is far from everything.
  lloyd::Matrix<TestType> X(41, 2);
  for (std::size_t i = 0; i < 20; ++i) {
    X(i, 0) = static_cast<TestType>(0.01 * double(i));
    X(20 + i, 0) = static_cast<TestType>(10 + 0.01 * double(i));
  }
  X(40, 0) = 4;
  X(40, 1) = 3;  // the outlier: farthest from its centroid after the first assignment
  lloyd::Matrix<TestType> init{{0, 0}, {10, 0}, {1000, 1000}};
  auto p = kmeans_params<TestType>(3);
  p.max_iter = 1;
  p.run_till_max_iter = true;
  std::size_t relocated = 0;
  p.on_iteration = [&](const lloyd::IterationStats& s) { relocated = s.n_relocated; };
  const auto r = lloyd::KMeans<TestType>(p).fit(X, init);
  REQUIRE(relocated == 1);
  REQUIRE(r.centroids(2, 0) == TestType(4));
  REQUIRE(r.centroids(2, 1) == TestType(3));
  REQUIRE(r.labels[40] == 2);
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t j = 0; j < 2; ++j) REQUIRE(std::isfinite(r.centroids(c, j)));
  // Every cluster keeps at least one row at the end of a full fit.
  p.max_iter = 300;
  p.run_till_max_iter = false;
  const auto full = lloyd::KMeans<TestType>(p).fit(X, init);
  std::set<std::int32_t> used(full.labels.begin(), full.labels.end());
  REQUIRE(used.size() == 3);
}

TEMPLATE_TEST_CASE("integer weights act like duplicated rows", "[kmeans][weights]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(400, 4, 5, 3.0, 9).X;
  std::vector<TestType> w(X.rows());
  std::size_t total = 0;
  for (std::size_t i = 0; i < X.rows(); ++i) {
    w[i] = static_cast<TestType>(i % 4);  // 0, 1, 2 or 3 copies
    total += i % 4;
  }
  lloyd::Matrix<TestType> dup(total, 4);
  std::vector<std::size_t> origin;
  for (std::size_t i = 0, r = 0; i < X.rows(); ++i)
    for (std::size_t m = 0; m < i % 4; ++m, ++r) {
      for (std::size_t j = 0; j < 4; ++j) dup(r, j) = X(i, j);
      origin.push_back(i);
    }
  lloyd::Matrix<TestType> init(5, 4);
  for (std::size_t c = 0; c < 5; ++c)
    for (std::size_t j = 0; j < 4; ++j) init(c, j) = X(c * 7 + 1, j);
  auto p = kmeans_params<TestType>(5);
  p.tol = 0;
  const auto rw = lloyd::KMeans<TestType>(p).fit(X, init, w);
  const auto rd = lloyd::KMeans<TestType>(p).fit(dup, init);
  REQUIRE(rw.n_iter == rd.n_iter);
  REQUIRE(lloyd_test::max_abs_diff<TestType>(rw.centroids, rd.centroids) < 100 * lloyd_test::eps_of<TestType>());
  REQUIRE(lloyd_test::close_rel(rw.inertia, rd.inertia, 100 * lloyd_test::eps_of<TestType>()));
  for (std::size_t r = 0; r < origin.size(); ++r) REQUIRE(rd.labels[r] == rw.labels[origin[r]]);
  // Unit weights change nothing at all.
  const auto ru = lloyd::KMeans<TestType>(p).fit(X, init, std::vector<TestType>(X.rows(), TestType(1)));
  const auto rn = lloyd::KMeans<TestType>(p).fit(X, init);
  REQUIRE(ru.centroids == rn.centroids);
  REQUIRE(ru.inertia == rn.inertia);
}

TEMPLATE_TEST_CASE("weights may come as any contiguous range, of any number type", "[kmeans][weights]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(200, 2, 3, 1.0, 1).X;
  auto p = kmeans_params<TestType>(3, 4);
  std::vector<TestType> w(200, TestType(2));
  std::vector<long double> wl(200, 2.0L);
  std::vector<int> wi(200, 2);
  const auto a = lloyd::KMeans<TestType>(p).fit(X, w);
  REQUIRE(lloyd::KMeans<TestType>(p).fit(X, wl).centroids == a.centroids);
  REQUIRE(lloyd::KMeans<TestType>(p).fit(X, wi).centroids == a.centroids);
  // Doubling every weight doubles the inertia and moves nothing.
  const auto one = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(one.centroids == a.centroids);
  REQUIRE(lloyd_test::close_rel(a.inertia, 2 * one.inertia, 1e-12));
}

TEMPLATE_TEST_CASE("n_init keeps the best run", "[kmeans]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(1000, 2, 0.0, 1.0, 6);
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    auto p = kmeans_params<TestType>(9, seed);
    p.init = lloyd::Init::Random;
    std::vector<double> finals;
    p.n_init = 5;
    int last_run = -1;
    p.on_iteration = [&](const lloyd::IterationStats& s) { last_run = s.run; };
    const auto five = lloyd::KMeans<TestType>(p).fit(X);
    REQUIRE(last_run == 4);
    p.n_init = 1;
    const auto one = lloyd::KMeans<TestType>(p).fit(X);  // the same as run 0 of five
    REQUIRE(five.inertia <= one.inertia);
  }
}

TEMPLATE_TEST_CASE("k = 1 gives the weighted mean; k = n gives the rows", "[kmeans]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(37, 3, -5.0, 5.0, 2);
  std::vector<TestType> w(37);
  for (std::size_t i = 0; i < 37; ++i) w[i] = static_cast<TestType>(1 + i % 5);
  const auto r1 = lloyd::KMeans<TestType>(kmeans_params<TestType>(1)).fit(X, w);
  double wsum = 0, s[3] = {0, 0, 0};
  for (std::size_t i = 0; i < 37; ++i) {
    wsum += w[i];
    for (std::size_t j = 0; j < 3; ++j) s[j] += w[i] * X(i, j);
  }
  for (std::size_t j = 0; j < 3; ++j) REQUIRE(lloyd_test::close_rel(r1.centroids(0, j), s[j] / wsum, 4 * lloyd_test::eps_of<TestType>()));
  for (auto l : r1.labels) REQUIRE(l == 0);

  lloyd::Matrix<TestType> Y(X);
  for (std::size_t j = 0; j < 3; ++j) Y(5, j) = Y(2, j);  // rows 2 and 5 now coincide
  lloyd::KMeans<TestType> km(kmeans_params<TestType>(37));
  const auto rn = km.fit(Y);
  REQUIRE(rn.inertia == 0);
  REQUIRE(rn.converged);
  REQUIRE(rn.centroids == Y);
  for (std::size_t i = 0; i < 37; ++i) REQUIRE(rn.labels[i] == (i == 5 ? 2 : static_cast<std::int32_t>(i)));
  REQUIRE(km.predict(Y) == rn.labels);
}

TEMPLATE_TEST_CASE("stopping rules: run_till_max_iter, tol, inertia_tol, callback", "[kmeans]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(3000, 8, 10, 4.0, 12).X;
  auto p = kmeans_params<TestType>(10, 3);

  p.max_iter = 17;
  p.run_till_max_iter = true;
  int calls = 0;
  p.on_iteration = [&](const lloyd::IterationStats& s) {
    ++calls;
    REQUIRE(s.iteration == calls);
    REQUIRE(s.seconds >= 0);
    REQUIRE(s.elapsed_seconds >= s.seconds);
  };
  REQUIRE(lloyd::KMeans<TestType>(p).fit(X).n_iter == 17);
  REQUIRE(calls == 17);

  // A huge tol stops after the first iteration, converged.
  p = kmeans_params<TestType>(10, 3);
  p.tol = 1e9;
  auto r = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(r.n_iter == 1);
  REQUIRE(r.converged);

  // tol = 0 and no inertia_tol: only unchanged labels stop before max_iter.
  p.tol = 0;
  std::size_t last_changed = 1;
  p.on_iteration = [&](const lloyd::IterationStats& s) { last_changed = s.n_changed; };
  r = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(r.converged);
  REQUIRE(last_changed == 0);

  // A huge inertia_tol stops at the second iteration (the first with a previous inertia).
  p.on_iteration = nullptr;
  p.inertia_tol = 1e30;
  r = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(r.n_iter == 2);
  REQUIRE(r.converged);

  // The callback may stop the fit; the result is then not converged.
  p.inertia_tol = 0;
  p.on_iteration = [](const lloyd::IterationStats& s) { return s.iteration == 3; };
  r = lloyd::KMeans<TestType>(p).fit(X);
  REQUIRE(r.n_iter == 3);
  REQUIRE_FALSE(r.converged);
}

TEMPLATE_TEST_CASE("a strided view of the caller's buffer clusters like a packed copy", "[kmeans]", float, double) {
  const auto b = lloyd::make_blobs<TestType>(777, 5, 4, 1.0, 21);
  std::vector<TestType> buf(777 * 8, TestType(-1e30));  // 3 junk values after each row
  for (std::size_t i = 0; i < 777; ++i)
    for (std::size_t j = 0; j < 5; ++j) buf[i * 8 + j] = b.X(i, j);
  lloyd::MatrixView<const TestType> view(buf.data(), 777, 5, 8);
  const auto p = kmeans_params<TestType>(4, 6);
  const auto rv = lloyd::KMeans<TestType>(p).fit(view);
  const auto rm = lloyd::KMeans<TestType>(p).fit(b.X);
  REQUIRE(rv.centroids == rm.centroids);
  REQUIRE(rv.labels == rm.labels);
}

TEMPLATE_TEST_CASE("transform gives Euclidean distances whose argmin is predict", "[kmeans]", float, double) {
  const auto X = lloyd::make_blobs<TestType>(500, 7, 6, 2.0, 2).X;
  lloyd::KMeans<TestType> km(kmeans_params<TestType>(6, 1));
  km.fit(X);
  const auto D = km.transform(X);
  const auto labels = km.predict(X);
  REQUIRE(D.rows() == 500);
  REQUIRE(D.cols() == 6);
  for (std::size_t i = 0; i < 500; ++i) {
    for (std::size_t c = 0; c < 6; ++c) {
      const double ref = std::sqrt(lloyd::detail::reference_squared_distance(X.row(i), km.centroids().row(c), 7));
      REQUIRE(lloyd_test::close_rel(D(i, c), ref, 8 * lloyd_test::eps_of<TestType>()));
    }
    const auto row = D.row(i);
    REQUIRE(std::min_element(row, row + 6) - row == labels[i]);
  }
}

#ifdef LLOYD_TEST_HAVE_DUP
TEST_CASE("verbose prints each iteration and why it stopped on stderr", "[kmeans]") {
  const auto X = lloyd::make_blobs<double>(500, 3, 4, 1.0, 2).X;
  lloyd::Params p;
  p.n_clusters = 4;
  p.verbose = true;
  p.tol = 0;
  char path[] = "/tmp/lloyd_verbose_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(fd, 2);
  const auto r = lloyd::KMeans<double>(p).fit(X);
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path);
  const std::string out = ss.str();
  REQUIRE(out.find("Iteration: 1, inertia: ") != std::string::npos);
  REQUIRE(out.find("Iteration: " + std::to_string(r.n_iter) + ", inertia: ") != std::string::npos);
  REQUIRE(out.find("Converged at iteration " + std::to_string(r.n_iter) + ": strict convergence") != std::string::npos);
}
#endif

TEMPLATE_TEST_CASE("tol stops at the first shift within tol x mean column variance", "[kmeans]", float, double) {
  // Offset by 1e4 so that a naive one-pass variance would lose every digit in float.
  auto b = lloyd::make_blobs<TestType>(4000, 6, 9, 3.0, 31);
  for (std::size_t i = 0; i < b.X.rows(); ++i)
    for (std::size_t j = 0; j < 6; ++j) b.X(i, j) = static_cast<TestType>(double(b.X(i, j)) + 1e4);
  double mean_var = 0;
  for (std::size_t j = 0; j < 6; ++j) {
    double m = 0, v = 0;
    for (std::size_t i = 0; i < b.X.rows(); ++i) m += b.X(i, j);
    m /= double(b.X.rows());
    for (std::size_t i = 0; i < b.X.rows(); ++i) v += (b.X(i, j) - m) * (b.X(i, j) - m);
    mean_var += v / double(b.X.rows()) / 6.0;
  }
  for (double tol : {1e-2, 1e-4}) {
    lloyd::Params p;
    p.n_clusters = 9;
    p.seed = 5;
    p.tol = tol;
    std::vector<double> shifts;
    std::size_t last_changed = 0;
    p.on_iteration = [&](const lloyd::IterationStats& s) {
      shifts.push_back(s.center_shift);
      last_changed = s.n_changed;
    };
    const auto r = lloyd::KMeans<TestType>(p).fit(b.X);
    REQUIRE(r.converged);
    const double threshold = tol * mean_var;
    INFO("tol " << tol << " threshold " << threshold);
    for (std::size_t t = 0; t + 1 < shifts.size(); ++t) REQUIRE(shifts[t] > threshold * (1 + 1e-9));
    REQUIRE((shifts.back() <= threshold * (1 + 1e-9) || last_changed == 0));
  }
}

TEMPLATE_TEST_CASE("every update path is bit-identical for any number of threads", "[kmeans][determinism]", float, double) {
  struct Shape {
    std::size_t n, d, k;
    bool fused;
  };
  // Direct kernel + fused sums; tiled kernel + fused sums; tiled kernel + counting sort.
  const Shape shapes[] = {{30000, 3, 5, true}, {40000, 16, 24, true}, {3000, 40, 150, false}};
  for (const Shape& sh : shapes) {
    const auto X = lloyd::make_blobs<TestType>(sh.n, sh.d, sh.k, 4.0, sh.n + sh.k).X;
    {
      lloyd::detail::ThreadPool pool(1);
      const auto P = lloyd::detail::make_problem<TestType>(X, nullptr, pool);
      lloyd::detail::LloydSteps<TestType> steps(P, sh.k, pool);
      INFO("n=" << sh.n << " d=" << sh.d << " k=" << sh.k);
      REQUIRE(steps.fused() == sh.fused);
    }
    std::vector<TestType> w(sh.n);
    for (std::size_t i = 0; i < sh.n; ++i) w[i] = static_cast<TestType>(0.25 + double(i % 7));
    for (bool weighted : {false, true}) {
      lloyd::Params p;
      p.n_clusters = sh.k;
      p.seed = 3;
      p.max_iter = 15;
      p.n_threads = 1;
      const auto a = weighted ? lloyd::KMeans<TestType>(p).fit(X, w) : lloyd::KMeans<TestType>(p).fit(X);
      for (int threads : lloyd_test::thread_sweep({2, 3, 8})) {
        p.n_threads = threads;
        const auto b = weighted ? lloyd::KMeans<TestType>(p).fit(X, w) : lloyd::KMeans<TestType>(p).fit(X);
        INFO("n=" << sh.n << " k=" << sh.k << " weighted=" << weighted << " threads=" << threads);
        REQUIRE(b.centroids == a.centroids);
        REQUIRE(b.labels == a.labels);
        REQUIRE(b.inertia == a.inertia);
      }
    }
  }
}

TEMPLATE_TEST_CASE("an update told which rows moved gives the bits of a full update", "[kmeans][update]", float,
                   double) {
  // After a bounded pass only the moved rows' (task, cluster) sums (fused mode) or their
  // clusters (sorted mode) are summed again: any set of moves, from one row to over a
  // quarter of them (then everything is), must give what summing every row gives. Zero
  // weights, unit rows (cosine), d not a multiple of the SIMD width, 1 and 3 threads.
  struct Shape {
    std::size_t n, d, k;
    bool fused;
  };
  const Shape shapes[] = {{30000, 3, 5, true}, {40000, 17, 24, true}, {3000, 40, 150, false}};
  for (const Shape& sh : shapes)
    for (bool cosine : {false, true})
      for (int threads : {1, 3}) {
        const auto X = lloyd::make_blobs<TestType>(sh.n, sh.d, sh.k, 4.0, sh.n + sh.k).X;
        std::vector<TestType> w(sh.n);
        for (std::size_t i = 0; i < sh.n; ++i) w[i] = static_cast<TestType>(i % 5 == 2 ? 0.0 : 0.25 + double(i % 7));
        lloyd::detail::ThreadPool pool(threads);
        lloyd::detail::LocalExchange<TestType> ex;
        auto P = lloyd::detail::make_problem<TestType>(X, w.data(), pool, ex, {sh.n, sh.d, 0}, cosine);
        if (cosine) P.metric = lloyd::Metric::Cosine;
        lloyd::detail::LloydSteps<TestType> steps(P, sh.k, pool);
        REQUIRE(steps.fused() == sh.fused);
        const auto C = lloyd::random_rows<TestType>(X, sh.k, 1).centroids;
        std::vector<std::int32_t> labels(sh.n);
        std::vector<TestType> dist(sh.n, TestType(0));
        lloyd::detail::Rng rng(sh.n + sh.d);
        for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(sh.k));
        lloyd::Matrix<TestType> next(sh.k, sh.d);
        steps.set_distances_valid(true);
        steps.update(C, labels.data(), dist.data(), next, nullptr, ex);  // every row summed
        for (const std::size_t moved : {std::size_t(1), std::size_t(37), sh.n / 50, sh.n / 4 + 1}) {
          std::vector<lloyd::detail::LabelMove> moves;
          for (std::size_t m = 0; m < moved; ++m) {
            const std::size_t i = rng.below(sh.n);
            const auto to = static_cast<std::int32_t>(rng.below(sh.k));
            if (to == labels[i] || std::any_of(moves.begin(), moves.end(), [&](const auto& x) { return x.row == i; }))
              continue;
            moves.push_back({i, labels[i]});
            labels[i] = to;
          }
          steps.update(C, labels.data(), dist.data(), next, &moves, ex);
          lloyd::detail::LloydSteps<TestType> fresh(P, sh.k, pool);
          fresh.set_distances_valid(true);
          lloyd::Matrix<TestType> full(sh.k, sh.d);
          fresh.update(C, labels.data(), dist.data(), full, nullptr, ex);
          INFO("n=" << sh.n << " d=" << sh.d << " k=" << sh.k << " cosine=" << cosine << " threads=" << threads
                    << " moves=" << moves.size());
          REQUIRE(next == full);
        }
      }
}

TEMPLATE_TEST_CASE("a fitted state restored into a new model predicts, transforms and scores alike",
                   "[kmeans]", float, double) {
  // Scaled data (the state's scale is not 0), each metric; the copy gives the same bits.
  for (auto metric : {lloyd::Metric::SquaredEuclidean, lloyd::Metric::Cosine, lloyd::Metric::Dot}) {
    auto X = lloyd::make_blobs<TestType>(900, 7, 5, 1.0, 3).X;
    const double big = sizeof(TestType) == 4 ? 1e30 : 1e200;
    if (metric == lloyd::Metric::SquaredEuclidean)
      for (std::size_t i = 0; i < X.rows(); ++i)
        for (std::size_t j = 0; j < X.cols(); ++j) X(i, j) = static_cast<TestType>(double(X(i, j)) * big);
    lloyd::Params p;
    p.n_clusters = 5;
    p.metric = metric;
    lloyd::KMeans<TestType> a(p);
    a.fit(X);
    const auto state = a.fitted_state();
    if (metric == lloyd::Metric::SquaredEuclidean) REQUIRE(state.scale != 0);
    lloyd::KMeans<TestType> b;
    REQUIRE_FALSE(b.is_fitted());
    b.set_fitted_state(state);
    REQUIRE(b.is_fitted());
    REQUIRE(b.predict(X) == a.predict(X));
    REQUIRE(b.transform(X) == a.transform(X));
    const double sa = a.score(X), sb = b.score(X);
    REQUIRE(std::memcmp(&sa, &sb, sizeof sa) == 0);
    REQUIRE(b.centroids() == a.centroids());
    REQUIRE(b.inertia() == a.inertia());
    REQUIRE(b.n_iter() == a.n_iter());
  }
  lloyd::KMeans<TestType> unfitted;
  REQUIRE_THROWS_AS(unfitted.fitted_state(), lloyd::NotFittedError);
  auto X = lloyd::make_blobs<TestType>(100, 3, 2, 1.0, 1).X;
  lloyd::Params p;
  p.n_clusters = 2;
  lloyd::KMeans<TestType> a(p);
  a.fit(X);
  auto bad = a.fitted_state();
  bad.shift.pop_back();
  REQUIRE_THROWS_WITH(unfitted.set_fitted_state(bad), Catch::Matchers::Contains("state.shift has 2 values for 3 features"));
  bad = a.fitted_state();
  bad.work_centroids = lloyd::Matrix<TestType>(3, 3);
  REQUIRE_THROWS_WITH(unfitted.set_fitted_state(bad), Catch::Matchers::Contains("state.work_centroids is 3 x 3"));
  bad = a.fitted_state();
  bad.centroids(1, 2) = std::numeric_limits<TestType>::quiet_NaN();
  REQUIRE_THROWS_AS(unfitted.set_fitted_state(bad), std::invalid_argument);
  REQUIRE_FALSE(unfitted.is_fitted());
}

TEMPLATE_TEST_CASE("from_centroids: a model of saved centroids predicts the fit's labels; predict_with_distances",
                   "[kmeans][predict]", float, double) {
  using T = TestType;
  for (const lloyd::Metric metric : {lloyd::Metric::SquaredEuclidean, lloyd::Metric::Cosine, lloyd::Metric::Dot}) {
    // d = 13 (not a SIMD width), data away from the origin; k = 1 and k = 40 too.
    auto X = lloyd::make_blobs<T>(3000, 13, 12, 4.0, 21).X;
    for (std::size_t i = 0; i < X.rows(); ++i)
      for (std::size_t j = 0; j < X.cols(); ++j) X(i, j) += T(30);
    for (const std::size_t k : {std::size_t(1), std::size_t(12), std::size_t(40)}) {
      lloyd::Params p;
      p.n_clusters = k;
      p.metric = metric;
      p.seed = 5;
      const auto r = lloyd::KMeans<T>(p).fit(X);
      const auto model = lloyd::KMeans<T>::from_centroids(r.centroids, p);
      CAPTURE(lloyd::to_string(metric), k);
      REQUIRE(model.predict(X) == r.labels);
      const auto [labels, dist] = model.predict_with_distances(X);
      REQUIRE(labels == r.labels);
      const auto D = model.transform(X);
      for (std::size_t i = 0; i < X.rows(); ++i) REQUIRE(dist[i] == D(i, static_cast<std::size_t>(labels[i])));
    }
  }
  lloyd::Matrix<T> bad(2, 3);
  bad(1, 2) = std::numeric_limits<T>::infinity();
  REQUIRE_THROWS_WITH(lloyd::KMeans<T>::from_centroids(bad), Catch::Matchers::Contains("centroids(1, 2)"));
  REQUIRE_THROWS_WITH(lloyd::KMeans<T>::from_centroids(lloyd::Matrix<T>(0, 3)),
                      Catch::Matchers::Contains("centroids is 0 x 3"));
}
