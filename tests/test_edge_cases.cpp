// Numerical edge cases and invariants on random data (property style, many seeds).
#include <catch2/catch.hpp>
#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "helpers.hpp"

namespace {

template <class T>
lloyd::Params edge_params(std::size_t k, std::uint64_t seed = 0) {
  lloyd::Params p;
  p.n_clusters = k;
  p.seed = seed;
  return p;
}

template <class T>
void require_finite(const lloyd::Matrix<T>& C) {
  for (std::size_t c = 0; c < C.rows(); ++c)
    for (std::size_t j = 0; j < C.cols(); ++j) REQUIRE(std::isfinite(C(c, j)));
}

template <class T>
void require_valid_labels(const std::vector<std::int32_t>& labels, std::size_t k) {
  for (auto l : labels) {
    REQUIRE(l >= 0);
    REQUIRE(static_cast<std::size_t>(l) < k);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("all rows identical: one cluster holds them, the others repeat its centroid", "[edge]", float, double) {
  lloyd::Matrix<TestType> X(200, 4, TestType(3.5));
  for (auto init : {lloyd::Init::KMeansPlusPlus, lloyd::Init::Random, lloyd::Init::KMeansParallel}) {
    auto p = edge_params<TestType>(5);
    p.init = init;
    const auto r = lloyd::KMeans<TestType>(p).fit(X);
    REQUIRE(r.converged);
    REQUIRE(r.inertia == 0);
    require_finite(r.centroids);
    for (std::size_t c = 0; c < 5; ++c)
      for (std::size_t j = 0; j < 4; ++j) REQUIRE(r.centroids(c, j) == TestType(3.5));
    for (auto l : r.labels) REQUIRE(l == 0);  // ties go to the lowest index
  }
}

TEMPLATE_TEST_CASE("fewer distinct rows than k: duplicate centroids, no NaN, every distinct row a centroid", "[edge]",
                   float, double) {
  lloyd::Matrix<TestType> X(90, 2);
  for (std::size_t i = 0; i < 90; ++i) {
    X(i, 0) = static_cast<TestType>(i % 3);
    X(i, 1) = static_cast<TestType>(10 * (i % 3));
  }
  for (auto a : {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan, lloyd::Algorithm::Yinyang,
                 lloyd::Algorithm::Exponion}) {
    auto p = edge_params<TestType>(7, 3);
    p.algorithm = a;
    const auto r = lloyd::KMeans<TestType>(p).fit(X);
    require_finite(r.centroids);
    require_valid_labels<TestType>(r.labels, 7);
    REQUIRE(r.inertia == 0);
    std::set<std::pair<TestType, TestType>> distinct;
    for (std::size_t c = 0; c < 7; ++c) distinct.insert({r.centroids(c, 0), r.centroids(c, 1)});
    REQUIRE(distinct.size() == 3);
  }
}

TEMPLATE_TEST_CASE("one cluster emptied every iteration stays finite", "[edge]", float, double) {
  // Two distinct rows, three clusters: the third never gets a row (none can be spared).
  lloyd::Matrix<TestType> X(60, 3);
  for (std::size_t i = 0; i < 60; ++i) X(i, 0) = static_cast<TestType>(i % 2 ? 5 : -5);
  lloyd::Matrix<TestType> init{{-5, 0, 0}, {5, 0, 0}, {100, 100, 100}};
  std::size_t relocations = 0;
  auto p = edge_params<TestType>(3);
  p.max_iter = 20;
  p.run_till_max_iter = true;
  p.on_iteration = [&](const lloyd::IterationStats& s) { relocations += s.n_relocated; };
  const auto r = lloyd::KMeans<TestType>(p).fit(X, init);
  REQUIRE(r.n_iter == 20);
  REQUIRE(relocations == 0);
  require_finite(r.centroids);
  REQUIRE(r.centroids(2, 0) == TestType(100));  // kept where it was
  for (auto l : r.labels) REQUIRE(l != 2);
}

TEMPLATE_TEST_CASE("d = 1 and d = 10 000", "[edge]", float, double) {
  const auto b1 = lloyd::make_blobs<TestType>(3000, 1, 4, 0.01, 3);
  auto r1 = lloyd::KMeans<TestType>(edge_params<TestType>(4, 1)).fit(b1.X);
  REQUIRE(lloyd_test::same_partition(r1.labels, b1.y));

  const auto bw = lloyd::make_blobs<TestType>(60, 10000, 3, 1.0, 4);
  for (auto a : {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly}) {
    auto p = edge_params<TestType>(3, 2);
    p.algorithm = a;
    p.n_init = 3;
    const auto r = lloyd::KMeans<TestType>(p).fit(bw.X);
    REQUIRE(lloyd_test::same_partition(r.labels, bw.y));
    REQUIRE(lloyd_test::close_rel(r.inertia, lloyd_test::reference_inertia<TestType>(bw.X, r.centroids, r.labels), 1e-4));
  }
}

TEMPLATE_TEST_CASE("values near the top of the range do not overflow", "[edge]", float, double) {
  // Squares of 1e30 overflow float: lloyd rescales by a power of 2. (For double, 1e150:
  // the inertia itself, a sum of squares, cannot go much higher.)
  const double big = sizeof(TestType) == 4 ? 1e30 : 1e150;
  const auto b = lloyd::make_blobs<TestType>(600, 5, 3, 0.3, 8);
  lloyd::Matrix<TestType> X(600, 5);
  for (std::size_t i = 0; i < 600; ++i)
    for (std::size_t j = 0; j < 5; ++j) X(i, j) = static_cast<TestType>(double(b.X(i, j)) * big / 10);
  lloyd::KMeans<TestType> km(edge_params<TestType>(3, 5));
  const auto r = km.fit(X);
  require_finite(r.centroids);
  REQUIRE(std::isfinite(r.inertia));
  REQUIRE(lloyd_test::same_partition(r.labels, b.y));
  REQUIRE(km.predict(X) == r.labels);
  const auto D = km.transform(X);
  for (std::size_t i = 0; i < 600; i += 37)
    for (std::size_t c = 0; c < 3; ++c) REQUIRE(std::isfinite(D(i, c)));
}

TEMPLATE_TEST_CASE("denormal-scale data keep their clusters", "[edge]", float, double) {
  const double tiny = sizeof(TestType) == 4 ? 1e-41 : 1e-312;  // subnormal range
  const auto b = lloyd::make_blobs<TestType>(600, 3, 3, 0.3, 9);
  lloyd::Matrix<TestType> X(600, 3);
  for (std::size_t i = 0; i < 600; ++i)
    for (std::size_t j = 0; j < 3; ++j) X(i, j) = static_cast<TestType>(double(b.X(i, j)) * tiny * 10);
  lloyd::KMeans<TestType> km(edge_params<TestType>(3, 5));
  const auto r = km.fit(X);
  require_finite(r.centroids);
  REQUIRE(lloyd_test::same_partition(r.labels, b.y));
  REQUIRE(km.predict(X) == r.labels);
}

TEST_CASE("float32 data offset by 1e6 keep exact labels", "[edge]") {
  auto b = lloyd::make_blobs<float>(4000, 8, 10, 1.0, 17);
  lloyd::Matrix<double> Xd(4000, 8);
  for (std::size_t i = 0; i < 4000; ++i)
    for (std::size_t j = 0; j < 8; ++j) {
      b.X(i, j) = static_cast<float>(double(b.X(i, j)) + 1e6);
      Xd(i, j) = b.X(i, j);  // the same float values, in double
    }
  const auto r = lloyd::KMeans<float>(edge_params<float>(10, 1)).fit(b.X);
  // Labels are the nearest centroids by a double-precision reference.
  lloyd::Matrix<double> Cd(10, 8);
  for (std::size_t c = 0; c < 10; ++c)
    for (std::size_t j = 0; j < 8; ++j) Cd(c, j) = r.centroids(c, j);
  std::vector<std::int32_t> ref(4000);
  lloyd::detail::reference_assign<double>(Xd, Cd, ref.data(), nullptr);
  REQUIRE(r.labels == ref);
  REQUIRE(lloyd_test::same_partition(r.labels, b.y));
}

TEST_CASE("row addressing is 64-bit: a view whose rows lie more than 2^32 elements apart", "[edge]") {
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
  // Three rows of 4 floats, 2^32 + 64 floats apart, in a sparse anonymous mapping: only
  // the touched pages are ever backed (a few KiB of memory, 32 GiB of address space).
  const std::size_t stride = (std::size_t(1) << 32) + 64, rows = 3, cols = 4;
  const std::size_t bytes = ((rows - 1) * stride + cols) * sizeof(float);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    WARN("could not reserve 32 GiB of address space; skipped");
    return;
  }
  float* base = static_cast<float*>(mem);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) base[i * stride + j] = static_cast<float>(10 * i + j);
  const lloyd::MatrixView<const float> X(base, rows, cols, stride);
  REQUIRE(X(2, 3) == 23.0f);
  lloyd::KMeans<float> km(edge_params<float>(3));
  const auto r = km.fit(X);
  for (std::size_t c = 0; c < 3; ++c) REQUIRE(r.centroids(static_cast<std::size_t>(r.labels[c]), 0) == float(10 * c));
  REQUIRE(r.inertia == 0);
  REQUIRE(km.predict(X) == r.labels);
  munmap(mem, bytes);
#else
  static_assert(sizeof(std::size_t) >= 8, "row offsets need 64-bit size_t");
#endif
}

TEMPLATE_TEST_CASE("invariants on random problems (many seeds)", "[property]", float, double) {
  lloyd::detail::Rng rng(2024);
  const lloyd::Algorithm algorithms[] = {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly, lloyd::Algorithm::Elkan,
                                         lloyd::Algorithm::Yinyang, lloyd::Algorithm::Exponion};
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = 20 + rng.below(400), d = 1 + rng.below(12), k = 1 + rng.below(std::min<std::uint64_t>(n, 24));
    const bool blobs = trial % 2 == 0;
    const auto X = blobs ? lloyd::make_blobs<TestType>(n, d, 1 + rng.below(8), 0.5 + 3 * rng.uniform(), rng.next()).X
                         : lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, rng.next());
    std::vector<TestType> w(n);
    for (auto& v : w) v = static_cast<TestType>(rng.uniform() < 0.1 ? 0.0 : 0.1 + 3 * rng.uniform());
    w[0] = TestType(1);
    auto p = edge_params<TestType>(k, rng.next());
    p.tol = 0;  // strict convergence: the final centroids are the means of the final labels
    p.algorithm = algorithms[trial % 4];
    p.init = trial % 3 == 0 ? lloyd::Init::Random : lloyd::Init::KMeansPlusPlus;
    std::vector<double> inertia;
    p.on_iteration = [&](const lloyd::IterationStats& s) { inertia.push_back(s.inertia); };
    lloyd::KMeans<TestType> km(p);
    const auto r = trial % 5 == 0 ? km.fit(X) : km.fit(X, w);
    const bool weighted = trial % 5 != 0;
    INFO("trial " << trial << " n=" << n << " d=" << d << " k=" << k);
    require_valid_labels<TestType>(r.labels, k);
    require_finite(r.centroids);
    for (std::size_t t = 1; t < inertia.size(); ++t)
      REQUIRE(inertia[t] <= inertia[t - 1] * (1 + 8 * lloyd_test::eps_of<TestType>()) + 1e-12);
    REQUIRE(km.predict(X) == r.labels);
    if (!r.converged) continue;
    // Each centroid with rows of positive weight is their weighted mean.
    std::vector<double> sums(k * d, 0.0), wsum(k, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const double wi = weighted ? double(w[i]) : 1.0;
      const auto c = static_cast<std::size_t>(r.labels[i]);
      wsum[c] += wi;
      for (std::size_t j = 0; j < d; ++j) sums[c * d + j] += wi * double(X(i, j));
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (wsum[c] <= 0) continue;
      for (std::size_t j = 0; j < d; ++j)
        REQUIRE(std::abs(double(r.centroids(c, j)) - sums[c * d + j] / wsum[c]) <=
                8 * lloyd_test::eps_of<TestType>() * (1 + std::abs(sums[c * d + j] / wsum[c])));
    }
  }
}
