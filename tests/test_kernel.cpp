// The SIMD kernels against the scalar reference, on sizes that are not multiples of
// the vector width: d = 1, 3, 17, 129; n = 1, 7, 1000; k = 1, 5, n.
#include <catch2/catch.hpp>
#include <lloyd/detail/assign.hpp>
#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <cstdint>
#include <vector>

#include "helpers.hpp"

namespace {

// Both tiled paths of the kernel (the lane path is the default only for few centroids
// and short rows with 8 or more SIMD lanes) and the default choice.
template <class T>
std::vector<typename lloyd::detail::AssignKernel<T>::Tiling> tilings() {
  using Tiling = typename lloyd::detail::AssignKernel<T>::Tiling;
  return {Tiling::Auto, Tiling::Panels, Tiling::Lanes};
}

// A kernel for C's rows taking the given tiled path.
template <class T>
lloyd::detail::AssignKernel<T> kernel_for(const lloyd::Matrix<T>& C, const T* shift,
                                          typename lloyd::detail::AssignKernel<T>::Tiling tiling) {
  lloyd::detail::AssignKernel<T> kernel(C.cols(), shift);
  kernel.set_tiling(tiling);
  kernel.set_centroids(C);
  return kernel;
}

// Labels must match the reference's, except where the two candidates are equidistant
// within the rounding of the kernel's |c|^2 - 2 x.c formulation: that error is at most
// about 2 (d + 2) u (|x'| + |c'|)^2 per score, where ' marks centring by `shift` and u is
// the unit roundoff of T.
template <class T>
void require_same_labels_up_to_ties(lloyd::MatrixView<const T> X, lloyd::MatrixView<const T> C,
                                    const std::vector<std::int32_t>& labels, const T* shift = nullptr) {
  const std::size_t d = X.cols();
  std::vector<std::int32_t> ref(X.rows());
  std::vector<double> ref_dist(X.rows());
  lloyd::detail::reference_assign<T>(X, C, ref.data(), ref_dist.data());
  auto centred_norm = [&](const T* v) {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double c = static_cast<double>(v[j]) - (shift ? static_cast<double>(shift[j]) : 0.0);
      s += c * c;
    }
    return std::sqrt(s);
  };
  const double u = std::numeric_limits<T>::epsilon() / 2;
  std::size_t ties = 0;
  for (std::size_t i = 0; i < X.rows(); ++i) {
    REQUIRE(labels[i] >= 0);
    REQUIRE(static_cast<std::size_t>(labels[i]) < C.rows());
    if (labels[i] == ref[i]) continue;
    const T* mine_c = C.row(static_cast<std::size_t>(labels[i]));
    const double mine = lloyd::detail::reference_squared_distance(X.row(i), mine_c, d);
    const double scale = centred_norm(X.row(i)) + std::max(centred_norm(mine_c), centred_norm(C.row(static_cast<std::size_t>(ref[i]))));
    const double tol = 4.0 * double(d + 2) * u * scale * scale;
    INFO("row " << i << ": kernel label " << labels[i] << " at " << mine << ", reference " << ref[i] << " at "
                << ref_dist[i] << ", tolerance " << tol);
    REQUIRE(mine - ref_dist[i] <= tol);
    ++ties;
  }
  REQUIRE(ties <= X.rows() / 20 + 2);
}

// The kernel's labels are exactly the arg-min of the canonical distances (lowest index
// on equality), however it got there.
template <class T>
void require_canonical_labels(lloyd::MatrixView<const T> X, lloyd::MatrixView<const T> C,
                              const std::vector<std::int32_t>& labels) {
  for (std::size_t i = 0; i < X.rows(); ++i) {
    std::size_t best = 0;
    T best_d = lloyd::detail::squared_distance(X.row(i), C.row(0), X.cols());
    for (std::size_t j = 1; j < C.rows(); ++j) {
      const T dj = lloyd::detail::squared_distance(X.row(i), C.row(j), X.cols());
      if (dj < best_d) {
        best_d = dj;
        best = j;
      }
    }
    INFO("row " << i);
    REQUIRE(labels[i] == static_cast<std::int32_t>(best));
  }
}

// Every d from 1 to `vectors` SIMD vectors and one more, then the `extra` ones.
template <class T>
std::vector<std::size_t> dims_through(std::size_t vectors, std::initializer_list<std::size_t> extra) {
  constexpr std::size_t W = lloyd::detail::simd<T, lloyd::detail::default_arch>::size;
  std::vector<std::size_t> dims;
  for (std::size_t d = 1; d <= vectors * W + 1; ++d) dims.push_back(d);
  dims.insert(dims.end(), extra);
  return dims;
}

// A value of either sign spanning 21 binades, so that the order of additions shows.
template <class T>
T spread_value(lloyd::detail::Rng& rng) {
  return static_cast<T>(std::ldexp(rng.normal(), static_cast<int>(rng.below(21)) - 10));
}

}  // namespace

TEMPLATE_TEST_CASE("canonical distances are bit-identical whichever routine computes them", "[kernel]", float,
                   double) {
  // One pair at a time, G rows at once, R x G at once, and canonical_sum itself: the same
  // bits. Every d up to two vectors and a few more; the values span many binades so that
  // the order of the additions shows.
  using T = TestType;
  lloyd::detail::Rng rng(17);
  for (std::size_t d : dims_through<T>(2, {31, 100}))
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<T> x(4 * d), y(5 * d);
      for (auto& v : x) v = spread_value<T>(rng);
      for (auto& v : y) v = spread_value<T>(rng);
      const T* xs[4] = {&x[0], &x[d], &x[2 * d], &x[3 * d]};
      const T* ys[5] = {&y[0], &y[d], &y[2 * d], &y[3 * d], &y[4 * d]};
      T block[4 * 5], to[5];
      lloyd::detail::squared_distances_block<4, 5>(xs, ys, d, block);
      for (std::size_t r = 0; r < 4; ++r) {
        for (std::size_t count = 1; count <= 5; ++count) {  // 4 at a time, then 1 to 3
          T each[5];
          lloyd::detail::squared_distances_to_each(xs[r], ys, count, d, each);
          for (std::size_t g = 0; g < count; ++g) REQUIRE(each[g] == lloyd::detail::squared_distance(xs[r], ys[g], d));
        }
        lloyd::detail::squared_distances_to<5>(xs[r], ys, d, to);
        {  // pairs side by side: row r with 4 of the ys, then 3, 2
          const T* px[4] = {xs[r], xs[(r + 1) % 4], xs[(r + 2) % 4], xs[(r + 3) % 4]};
          T paired[4];
          lloyd::detail::squared_distances_paired<4>(px, ys, d, paired);
          for (std::size_t g = 0; g < 4; ++g) REQUIRE(paired[g] == lloyd::detail::squared_distance(px[g], ys[g], d));
          lloyd::detail::squared_distances_paired<3>(px + 1, ys + 2, d, paired);
          for (std::size_t g = 0; g < 3; ++g)
            REQUIRE(paired[g] == lloyd::detail::squared_distance(px[g + 1], ys[g + 2], d));
          lloyd::detail::squared_distances_paired<2>(px, ys + 3, d, paired);
          for (std::size_t g = 0; g < 2; ++g) REQUIRE(paired[g] == lloyd::detail::squared_distance(px[g], ys[g + 3], d));
        }
        for (std::size_t g = 0; g < 5; ++g) {
          INFO("d = " << d << " trial " << trial);
          const T one = lloyd::detail::squared_distance(xs[r], ys[g], d);
          REQUIRE(block[r * 5 + g] == one);
          REQUIRE(to[g] == one);
          // the general path (canonical_sum) for the same pair and for the dot product
          const T wide = lloyd::detail::canonical_sum<lloyd::detail::default_arch>(
              xs[r], ys[g], d, [](auto a, auto b, auto acc) {
                const auto diff = a - b;
                return xsimd::fma(diff, diff, acc);
              });
          REQUIRE(wide == one);
          const T dot = lloyd::detail::canonical_sum<lloyd::detail::default_arch>(
              xs[r], ys[g], d, [](auto a, auto b, auto acc) { return xsimd::fma(a, b, acc); });
          REQUIRE(lloyd::detail::dot_product(xs[r], ys[g], d) == dot);
        }
      }
    }
}

TEMPLATE_TEST_CASE("squared_distance matches the scalar reference for any d", "[kernel]", float, double) {
  lloyd::detail::Rng rng(3);
  for (std::size_t d : {1u, 2u, 3u, 7u, 8u, 15u, 16u, 17u, 31u, 33u, 64u, 129u, 1000u}) {
    std::vector<TestType> a(d), b(d);
    for (std::size_t j = 0; j < d; ++j) {
      a[j] = static_cast<TestType>(rng.normal());
      b[j] = static_cast<TestType>(rng.normal());
    }
    const double ref = lloyd::detail::reference_squared_distance(a.data(), b.data(), d);
    INFO("d = " << d);
    REQUIRE(lloyd_test::close_rel(lloyd::detail::squared_distance(a.data(), b.data(), d), ref, 8 * lloyd_test::eps_of<TestType>()));
    REQUIRE(lloyd_test::close_rel(lloyd::detail::squared_norm(a.data(), d),
                                  lloyd::detail::reference_squared_distance(a.data(), std::vector<TestType>(d, 0).data(), d),
                                  8 * lloyd_test::eps_of<TestType>()));
    const TestType* rows[3] = {b.data(), a.data(), b.data()};
    TestType out[3];
    lloyd::detail::squared_distances_to<3>(a.data(), rows, d, out);
    REQUIRE(lloyd_test::close_rel(out[0], ref, 8 * lloyd_test::eps_of<TestType>()));
    REQUIRE(out[1] == TestType(0));
    REQUIRE(out[2] == out[0]);
  }
}

TEMPLATE_TEST_CASE("squared_distance_for_bound is within the canonical error of the exact distance", "[kernel]", float,
                   double) {
  // Its four running sums are not the canonical arithmetic; the bounds built from it
  // take canonical_relative_error as its error too. Values over many binades, every d up
  // to five vectors, and long rows; the reference in long double.
  using T = TestType;
  lloyd::detail::Rng rng(29);
  for (std::size_t d : dims_through<T>(5, {127, 784, 3001}))
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<T> a(d), b(d);
      for (std::size_t j = 0; j < d; ++j) {
        a[j] = spread_value<T>(rng);
        b[j] = spread_value<T>(rng);
      }
      long double exact = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const long double diff = static_cast<long double>(a[j]) - static_cast<long double>(b[j]);
        exact += diff * diff;
      }
      const double g = lloyd::detail::canonical_relative_error<T>(d);
      const long double got = lloyd::detail::squared_distance_for_bound(a.data(), b.data(), d);
      INFO("d = " << d << " trial " << trial);
      REQUIRE(std::fabs(static_cast<double>(got - exact)) <= g * static_cast<double>(exact));
      REQUIRE(lloyd::detail::squared_distance_for_bound(a.data(), a.data(), d) == T(0));
    }
}

TEST_CASE("min_of and index_of agree with a scalar scan", "[kernel]") {
  // Lengths around the SIMD width and its multiples (four running minima, then one,
  // then a scalar tail); the minimum placed at every position in turn, repeated values.
  lloyd::detail::Rng rng(31);
  for (std::size_t n : {0u, 1u, 3u, 15u, 16u, 17u, 63u, 64u, 65u, 100u, 1000u})
    for (std::size_t at = 0; at < std::max<std::size_t>(n, 1); at += (n > 70 ? 37 : 1)) {
      std::vector<float> l(n);
      for (auto& v : l) v = static_cast<float>(rng.below(50) + 1);
      if (n > 0) l[at] = 0.5f;
      if (n > at + 5) l[at + 5] = 0.5f;  // a second copy: index_of finds the first
      float ref = std::numeric_limits<float>::infinity();
      for (float v : l) ref = std::min(ref, v);
      INFO("n = " << n << ", minimum at " << at);
      REQUIRE(lloyd::detail::min_of(l.data(), n) == ref);
      const std::size_t first = static_cast<std::size_t>(std::find(l.begin(), l.end(), ref) - l.begin());
      REQUIRE(lloyd::detail::index_of(l.data(), n, ref) == first);
      REQUIRE(lloyd::detail::index_of(l.data(), n, 0.25f) == n);
      if (n > 0) REQUIRE(lloyd::detail::index_of(l.data(), n, l[n - 1]) == static_cast<std::size_t>(std::find(l.begin(), l.end(), l[n - 1]) - l.begin()));
    }
}

TEMPLATE_TEST_CASE("assignment kernel agrees with the scalar reference on awkward sizes", "[kernel]", float, double) {
  for (std::size_t d : {1u, 3u, 17u, 129u}) {
    for (std::size_t n : {1u, 7u, 1000u}) {
      for (std::size_t k : {std::size_t(1), std::size_t(5), n}) {
        if (k > n) continue;
        const auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 100 + n + d);
        const auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 200 + k + d);
        for (const auto tiling : tilings<TestType>()) {
          const auto kernel = kernel_for(C, static_cast<const TestType*>(nullptr), tiling);
          auto ws = kernel.make_workspace();
          std::vector<std::int32_t> labels(n, -1);
          // In uneven pieces, as the parallel passes call it.
          for (std::size_t b = 0; b < n; b += 13) kernel.assign(X, b, std::min(n, b + 13), labels.data() + b, ws);
          INFO("n=" << n << " d=" << d << " k=" << k << " tiling " << static_cast<int>(tiling));
          require_same_labels_up_to_ties<TestType>(X, C, labels);
          require_canonical_labels<TestType>(X, C, labels);
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("assignment ties go to the lowest centroid index", "[kernel]", float, double) {
  for (std::size_t d : {1u, 5u, 33u}) {
    const std::size_t k = 37;
    lloyd::Matrix<TestType> C(k, d);
    // Centroids 3, 20 and 36 are identical; 0 is far away; the rest are random.
    const auto R = lloyd::make_uniform<TestType>(k, d, 5.0, 9.0, d);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < d; ++j) C(c, j) = R(c, j);
    for (std::size_t j = 0; j < d; ++j) C(3, j) = C(20, j) = C(36, j) = TestType(0.5);
    lloyd::Matrix<TestType> X(4, d, TestType(0.5));
    for (const auto tiling : tilings<TestType>()) {
      const auto kernel = kernel_for(C, static_cast<const TestType*>(nullptr), tiling);
      auto ws = kernel.make_workspace();
      std::vector<std::int32_t> labels(4, -1);
      kernel.assign(X, 0, 4, labels.data(), ws);
      for (auto l : labels) REQUIRE(l == 3);
    }
  }
}

TEMPLATE_TEST_CASE("the kernel centres its operands: data far from the origin keep exact labels", "[kernel]", float, double) {
  // Every feature offset by 1e4 with spread 1: |x|^2 is ~1e8 * d, so without centring
  // float32 would lose every digit of |c|^2 - 2 x.c that tells the centroids apart.
  for (std::size_t d : {3u, 17u, 64u}) {
    const std::size_t n = 2000, k = 40;
    auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 7 + d);
    auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 8 + d);
    std::vector<TestType> shift(d);
    for (std::size_t j = 0; j < d; ++j) {
      shift[j] = static_cast<TestType>(1e4 + double(j));
      for (std::size_t i = 0; i < n; ++i) X(i, j) += shift[j];
      for (std::size_t c = 0; c < k; ++c) C(c, j) += shift[j];
    }
    lloyd::detail::AssignKernel<TestType> kernel(d, shift.data());
    kernel.set_centroids(C);
    auto ws = kernel.make_workspace();
    std::vector<std::int32_t> labels(n, -1);
    kernel.assign(X, 0, n, labels.data(), ws);
    INFO("d = " << d);
    require_same_labels_up_to_ties<TestType>(X, C, labels, shift.data());
    require_canonical_labels<TestType>(X, C, labels);
  }
}

TEMPLATE_TEST_CASE("fit and predict stay exact on data offset by 1e4", "[kernel][kmeans]", float, double) {
  auto b = lloyd::make_blobs<TestType>(3000, 16, 12, 1.0, 99);
  for (std::size_t i = 0; i < b.X.rows(); ++i)
    for (std::size_t j = 0; j < 16; ++j) b.X(i, j) = static_cast<TestType>(double(b.X(i, j)) + 1e4);
  lloyd::Params p;
  p.n_clusters = 12;
  p.n_init = 2;
  lloyd::KMeans<TestType> km(p);
  const auto r = km.fit(b.X);
  // The tolerance is judged around the data mean, where the kernel works.
  std::vector<double> sum(16, 0.0);
  for (std::size_t i = 0; i < b.X.rows(); ++i)
    for (std::size_t j = 0; j < 16; ++j) sum[j] += b.X(i, j);
  std::vector<TestType> mean(16);
  for (std::size_t j = 0; j < 16; ++j) mean[j] = static_cast<TestType>(sum[j] / double(b.X.rows()));
  require_same_labels_up_to_ties<TestType>(b.X, r.centroids, r.labels, mean.data());
  require_same_labels_up_to_ties<TestType>(b.X, r.centroids, km.predict(b.X), mean.data());
}

TEMPLATE_TEST_CASE("the kernel handles every panel layout of k", "[kernel]", float, double) {
  // k around multiples of every SIMD width (2, 4, 8, 16 lanes) and of twice that:
  // 1- and 2-vector panels, padded panels, the k <= W tile shape, and the direct mode
  // (k <= direct_max_k); each through both tiled paths (panel tiles and the lane path).
  const std::size_t d = 9, n = 301;
  const auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 5);
  for (std::size_t k : {1u, 2u, 7u, 8u, 9u, 10u, 15u, 16u, 17u, 31u, 32u, 33u, 47u, 48u, 49u, 63u, 64u, 65u, 100u}) {
    const auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 6 + k);
    for (const auto tiling : tilings<TestType>()) {
      const auto kernel = kernel_for(C, static_cast<const TestType*>(nullptr), tiling);
      auto ws = kernel.make_workspace();
      std::vector<std::int32_t> labels(n, -1);
      kernel.assign(X, 0, n, labels.data(), ws);
      INFO("k = " << k << " tiling " << static_cast<int>(tiling));
      require_same_labels_up_to_ties<TestType>(X, C, labels);
      require_canonical_labels<TestType>(X, C, labels);
    }
  }
}

TEMPLATE_TEST_CASE("with few centroids the kernel returns exact distances", "[kernel]", float, double) {
  using Kernel = lloyd::detail::AssignKernel<TestType>;
  for (std::size_t d : {1u, 3u, 17u, 129u}) {
    for (std::size_t k = 1; k <= Kernel::direct_max_k + 1; ++k) {
      const std::size_t n = 57;
      const auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 11 + d);
      const auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 12 + k);
      Kernel kernel(d, nullptr);
      kernel.set_centroids(C);
      auto ws = kernel.make_workspace();
      std::vector<std::int32_t> labels(n, -1);
      std::vector<TestType> dist(n, TestType(-1));
      const bool exact = kernel.assign(X, 0, n, labels.data(), ws, dist.data());
      INFO("d=" << d << " k=" << k);
      REQUIRE(exact == (k <= Kernel::direct_max_k));
      require_same_labels_up_to_ties<TestType>(X, C, labels);
      if (!exact) continue;
      for (std::size_t i = 0; i < n; ++i) {
        const double ref = lloyd::detail::reference_squared_distance(X.row(i), C.row(static_cast<std::size_t>(labels[i])), d);
        REQUIRE(lloyd_test::close_rel(dist[i], ref, 8 * lloyd_test::eps_of<TestType>()));
      }
    }
  }
}

TEMPLATE_TEST_CASE("near-equidistant rows are decided by canonical distances", "[kernel]", float, double) {
  // Rows exactly between two centroids, or a hair off: the scores cannot tell, the
  // canonical distances must, for every ordering of the pair.
  const std::size_t d = 33, k = 40;
  auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 3);
  lloyd::Matrix<TestType> X(3 * (k - 1), d);
  for (std::size_t c = 0; c + 1 < k; ++c)
    for (std::size_t j = 0; j < d; ++j) {
      const double mid = 0.5 * (double(C(c, j)) + double(C(c + 1, j)));
      const double toward = double(C(c + 1, j)) - double(C(c, j));
      X(3 * c, j) = static_cast<TestType>(mid);
      X(3 * c + 1, j) = static_cast<TestType>(mid + 1e-6 * toward);
      X(3 * c + 2, j) = static_cast<TestType>(mid - 1e-6 * toward);
    }
  lloyd::detail::AssignKernel<TestType> kernel(d, nullptr);
  kernel.set_centroids(C);
  auto ws = kernel.make_workspace();
  std::vector<std::int32_t> labels(X.rows(), -1);
  kernel.assign(X, 0, X.rows(), labels.data(), ws);
  require_canonical_labels<TestType>(X, C, labels);
  std::vector<std::size_t> rows(X.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = rows.size() - 1 - i;  // any order
  std::vector<std::int32_t> listed(X.rows(), -1);
  std::vector<double> second(X.rows());
  kernel.assign_rows(X, rows.data(), rows.size(), listed.data(), second.data(), ws);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    REQUIRE(listed[r] == labels[rows[r]]);
    // second is a lower bound of every other centroid's squared distance
    for (std::size_t j = 0; j < k; ++j)
      if (static_cast<std::int32_t>(j) != listed[r])
        REQUIRE(second[r] <= double(lloyd::detail::squared_distance(X.row(rows[r]), C.row(j), d)));
  }
}

TEMPLATE_TEST_CASE("rows with many near-tied centroids get canonical labels and valid bounds", "[kernel]", float,
                   double) {
  // Centroids on a sphere around the rows' centre (radius 1, a hair of noise), far from
  // the origin: every row's scores are within rounding of many centroids', so the
  // re-check must pick from several candidates. Then blobs scored against centroids drawn
  // from the rows, where close calls come in pairs. Every panel layout of k (2-vector
  // panels in groups of four and not, a last 1-vector panel), d off the packing width.
  for (std::size_t d : {3u, 17u, 64u}) {
    for (std::size_t k : {9u, 17u, 33u, 100u, 301u}) {
      const std::size_t n = 600;
      auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 60 + k + d);
      for (std::size_t c = 0; c < k; ++c) {
        double norm = 0;
        for (std::size_t j = 0; j < d; ++j) norm += double(C(c, j)) * double(C(c, j));
        for (std::size_t j = 0; j < d; ++j)
          C(c, j) = static_cast<TestType>(50.0 + double(C(c, j)) / std::sqrt(norm) * (1 + 1e-7 * double(c % 3)));
      }
      auto X = lloyd::make_uniform<TestType>(n, d, -1e-4, 1e-4, 70 + k + d);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<TestType>(50.0 + double(X(i, j)));
      const auto B = lloyd::make_blobs<TestType>(n, d, 7, 1.0, 80 + k + d).X;
      lloyd::Matrix<TestType> CB(k, d);
      for (std::size_t c = 0; c < k; ++c)
        for (std::size_t j = 0; j < d; ++j) CB(c, j) = B((c * 7) % n, j);
      for (int which = 0; which < 2; ++which) {
        const auto& XX = which == 0 ? X : B;
        const auto& CC = which == 0 ? C : CB;
        std::vector<TestType> shift(d, TestType(which == 0 ? 50 : 0));
        for (const auto tiling : tilings<TestType>()) {
          const auto kernel = kernel_for(CC, shift.data(), tiling);
          auto ws = kernel.make_workspace();
          std::vector<std::int32_t> labels(n, -1);
          kernel.assign(XX, 0, n, labels.data(), ws);
          INFO("d=" << d << " k=" << k << (which == 0 ? " sphere" : " blobs") << " tiling " << static_cast<int>(tiling));
          require_canonical_labels<TestType>(XX, CC, labels);
          std::vector<std::size_t> rows(n);
          for (std::size_t i = 0; i < n; ++i) rows[i] = (i * 37) % n;  // 37 is prime to 600's factors
          std::vector<std::int32_t> listed(n, -1);
          std::vector<double> second(n), best(n);
          kernel.assign_rows(XX, rows.data(), n, listed.data(), second.data(), ws, best.data());
          for (std::size_t r = 0; r < n; ++r) {
            REQUIRE(listed[r] == labels[rows[r]]);
            const TestType* x = XX.row(rows[r]);
            REQUIRE(best[r] >= double(lloyd::detail::squared_distance(x, CC.row(std::size_t(listed[r])), d)));
            for (std::size_t j = 0; j < k; ++j)
              if (static_cast<std::int32_t>(j) != listed[r])
                REQUIRE(second[r] <= double(lloyd::detail::squared_distance(x, CC.row(j), d)));
          }
          // The same labels from every score of the rows (scores() and label_from_scores(),
          // as Elkan's rows through the kernel get them), and a valid second bound.
          const std::size_t ld = kernel.padded_clusters();
          std::vector<TestType> out(n * ld);
          std::vector<double> norm2(n), err(n);
          kernel.scores(XX, rows.data(), n, out.data(), ld, norm2.data(), err.data(), ws);
          for (std::size_t r = 0; r < n; ++r) {
            double sec = -1;
            const TestType* x = XX.row(rows[r]);
            const std::size_t a = kernel.label_from_scores(x, out.data() + r * ld, norm2[r], err[r], ws, &sec);
            REQUIRE(static_cast<std::int32_t>(a) == labels[rows[r]]);
            for (std::size_t j = 0; j < k; ++j)
              if (j != a) REQUIRE(sec <= double(lloyd::detail::squared_distance(x, CC.row(j), d)));
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("scores bracket the canonical squared distances", "[kernel]", float, double) {
  for (std::size_t k : {5u, 13u, 64u, 77u}) {
    const std::size_t d = 21, n = 50;
    auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 40 + k);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<TestType>(double(X(i, j)) + 300.0);
    auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 50 + k);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < d; ++j) C(c, j) = static_cast<TestType>(double(C(c, j)) + 300.0);
    std::vector<TestType> shift(d, TestType(300));
    lloyd::detail::AssignKernel<TestType> kernel(d, shift.data());
    kernel.set_centroids(C);
    auto ws = kernel.make_workspace();
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < n; i += 3) rows.push_back(i);
    const std::size_t ld = kernel.padded_clusters() + 3;
    std::vector<TestType> out(rows.size() * ld);
    std::vector<double> norm2(rows.size()), err(rows.size());
    kernel.scores(X, rows.data(), rows.size(), out.data(), ld, norm2.data(), err.data(), ws);
    for (std::size_t r = 0; r < rows.size(); ++r)
      for (std::size_t j = 0; j < k; ++j) {
        const double exact = lloyd::detail::reference_squared_distance(X.row(rows[r]), C.row(j), d);
        const double est = norm2[r] + double(out[r * ld + j]);
        INFO("k=" << k << " row " << rows[r] << " centroid " << j);
        REQUIRE(est - err[r] <= exact * (1 + 1e-12));
        REQUIRE(est + err[r] >= exact * (1 - 1e-12));
        REQUIRE(err[r] < 1e-2 * (1 + exact));
      }
  }
}
