// The SIMD kernels against the scalar reference, on sizes that are not multiples of
// the vector width: d = 1, 3, 17, 129; n = 1, 7, 1000; k = 1, 5, n.
#include <catch2/catch.hpp>
#include <lloyd/detail/assign.hpp>
#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "helpers.hpp"

namespace {

// Labels must match the reference's, except where the two candidate centroids are
// equidistant within rounding (then either is right).
template <class T>
void require_same_labels_up_to_ties(lloyd::MatrixView<const T> X, lloyd::MatrixView<const T> C,
                                    const std::vector<std::int32_t>& labels) {
  std::vector<std::int32_t> ref(X.rows());
  std::vector<double> ref_dist(X.rows());
  lloyd::detail::reference_assign<T>(X, C, ref.data(), ref_dist.data());
  std::size_t ties = 0;
  for (std::size_t i = 0; i < X.rows(); ++i) {
    REQUIRE(labels[i] >= 0);
    REQUIRE(static_cast<std::size_t>(labels[i]) < C.rows());
    if (labels[i] == ref[i]) continue;
    const double mine = lloyd::detail::reference_squared_distance(X.row(i), C.row(static_cast<std::size_t>(labels[i])), X.cols());
    INFO("row " << i << ": kernel label " << labels[i] << " at " << mine << ", reference " << ref[i] << " at " << ref_dist[i]);
    REQUIRE(std::abs(mine - ref_dist[i]) <= 64 * lloyd_test::eps_of<T>() * std::max(1.0, ref_dist[i]));
    ++ties;
  }
  REQUIRE(ties <= X.rows() / 100 + 1);
}

}  // namespace

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

TEMPLATE_TEST_CASE("assignment kernel agrees with the scalar reference on awkward sizes", "[kernel]", float, double) {
  for (std::size_t d : {1u, 3u, 17u, 129u}) {
    for (std::size_t n : {1u, 7u, 1000u}) {
      for (std::size_t k : {std::size_t(1), std::size_t(5), n}) {
        if (k > n) continue;
        const auto X = lloyd::make_uniform<TestType>(n, d, -1.0, 1.0, 100 + n + d);
        const auto C = lloyd::make_uniform<TestType>(k, d, -1.0, 1.0, 200 + k + d);
        lloyd::detail::AssignKernel<TestType> kernel(d);
        kernel.set_centroids(C);
        auto ws = kernel.make_workspace();
        std::vector<std::int32_t> labels(n, -1);
        // In uneven pieces, as the parallel passes call it.
        for (std::size_t b = 0; b < n; b += 13) kernel.assign(X, b, std::min(n, b + 13), labels.data() + b, ws);
        INFO("n=" << n << " d=" << d << " k=" << k);
        require_same_labels_up_to_ties<TestType>(X, C, labels);
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
    lloyd::detail::AssignKernel<TestType> kernel(d);
    kernel.set_centroids(C);
    auto ws = kernel.make_workspace();
    std::vector<std::int32_t> labels(4, -1);
    kernel.assign(X, 0, 4, labels.data(), ws);
    for (auto l : labels) REQUIRE(l == 3);
  }
}
