// Bad input gets a clear exception naming the parameter and its value, never UB.
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

using Catch::Matchers::Contains;

namespace {

template <class T>
lloyd::KMeans<T> model(std::size_t k) {
  lloyd::Params p;
  p.n_clusters = k;
  return lloyd::KMeans<T>(p);
}

}  // namespace

TEMPLATE_TEST_CASE("bad parameters are rejected by name", "[validation]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(20, 3, 0.0, 1.0, 1);
  auto with = [&](auto change) {
    lloyd::Params p;
    p.n_clusters = 3;
    change(p);
    return lloyd::KMeans<TestType>(p);
  };
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_clusters = 0; }).fit(X), Contains("n_clusters=0"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_clusters = 21; }).fit(X), Contains("n_clusters=21") && Contains("20"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.max_iter = 0; }).fit(X), Contains("max_iter=0"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.max_iter = -3; }).fit(X), Contains("max_iter=-3"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.tol = -1e-4; }).fit(X), Contains("tol=-0.0001"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.tol = std::nan(""); }).fit(X), Contains("tol=nan"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.inertia_tol = -1; }).fit(X), Contains("inertia_tol=-1"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_init = 0; }).fit(X), Contains("n_init=0"));
  REQUIRE_THROWS_WITH(with([](auto& p) { p.n_threads = -2; }).fit(X), Contains("n_threads=-2"));
  REQUIRE_THROWS_AS(with([](auto& p) { p.n_init = 0; }).fit(X), std::invalid_argument);
}

TEMPLATE_TEST_CASE("empty or featureless data is rejected", "[validation]", float, double) {
  std::vector<TestType> buf(10, TestType(1));
  REQUIRE_THROWS_WITH(model<TestType>(1).fit(lloyd::MatrixView<const TestType>(buf.data(), 0, 2)), Contains("0 rows"));
  REQUIRE_THROWS_WITH(model<TestType>(1).fit(lloyd::MatrixView<const TestType>(buf.data(), 5, 0)), Contains("0 columns"));
  REQUIRE_THROWS_AS(model<TestType>(1).fit(lloyd::Matrix<TestType>()), std::invalid_argument);
}

TEMPLATE_TEST_CASE("NaN or Inf in the data is reported with its position", "[validation]", float, double) {
  for (TestType bad : {std::numeric_limits<TestType>::quiet_NaN(), std::numeric_limits<TestType>::infinity(),
                       -std::numeric_limits<TestType>::infinity()}) {
    auto X = lloyd::make_uniform<TestType>(5000, 4, 0.0, 1.0, 2);
    X(4321, 2) = bad;
    REQUIRE_THROWS_WITH(model<TestType>(3).fit(X), Contains("X(4321, 2)"));
    REQUIRE_THROWS_AS(model<TestType>(3).fit(X), std::invalid_argument);
  }
}

TEMPLATE_TEST_CASE("bad initial centroids are rejected", "[validation]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(30, 3, 0.0, 1.0, 3);
  REQUIRE_THROWS_WITH(model<TestType>(4).fit(X, lloyd::Matrix<TestType>(3, 3)), Contains("initial_centroids is 3 x 3"));
  REQUIRE_THROWS_WITH(model<TestType>(4).fit(X, lloyd::Matrix<TestType>(4, 2)), Contains("initial_centroids is 4 x 2"));
  lloyd::Matrix<TestType> C(4, 3);
  C(1, 2) = std::numeric_limits<TestType>::quiet_NaN();
  REQUIRE_THROWS_WITH(model<TestType>(4).fit(X, C), Contains("initial_centroids(1, 2)"));
}

TEMPLATE_TEST_CASE("bad sample weights are rejected", "[validation]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(10, 2, 0.0, 1.0, 4);
  auto w = std::vector<TestType>(10, TestType(1));
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, std::vector<TestType>(9, TestType(1))), Contains("sample_weight has 9 values"));
  w[3] = TestType(-0.5);
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, w), Contains("sample_weight[3] = -0.5"));
  w[3] = std::numeric_limits<TestType>::quiet_NaN();
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, w), Contains("sample_weight[3] = nan"));
  w[3] = std::numeric_limits<TestType>::infinity();
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, w), Contains("sample_weight[3] = inf"));
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, std::vector<TestType>(10, TestType(0))), Contains("all 10 weights are 0"));
  REQUIRE_THROWS_WITH(model<TestType>(2).fit(X, lloyd::Matrix<TestType>(2, 2), std::vector<TestType>(3, TestType(1))),
                      Contains("sample_weight has 3 values"));
}

TEMPLATE_TEST_CASE("predict and friends need a fit and matching columns", "[validation]", float, double) {
  const auto X = lloyd::make_uniform<TestType>(40, 3, 0.0, 1.0, 5);
  auto km = model<TestType>(2);
  REQUIRE_THROWS_AS(km.predict(X), lloyd::NotFittedError);
  REQUIRE_THROWS_AS(km.transform(X), std::logic_error);
  REQUIRE_THROWS_AS(km.score(X), std::logic_error);
  REQUIRE_THROWS_AS(km.centroids(), std::logic_error);
  REQUIRE_THROWS_WITH(km.predict(X), Contains("fit()"));
  REQUIRE_FALSE(km.is_fitted());

  // A failed fit leaves the model unfitted.
  auto bad = X;
  bad(0, 0) = std::numeric_limits<TestType>::quiet_NaN();
  REQUIRE_THROWS(km.fit(bad));
  REQUIRE_FALSE(km.is_fitted());

  km.fit(X);
  REQUIRE(km.is_fitted());
  const auto Y = lloyd::make_uniform<TestType>(5, 4, 0.0, 1.0, 6);
  REQUIRE_THROWS_WITH(km.predict(Y), Contains("4 columns") && Contains("3 features"));
  REQUIRE_THROWS_AS(km.transform(Y), std::invalid_argument);
  REQUIRE_THROWS_AS(km.score(Y), std::invalid_argument);
  auto Z = lloyd::make_uniform<TestType>(5, 3, 0.0, 1.0, 7);
  Z(4, 1) = std::numeric_limits<TestType>::infinity();
  REQUIRE_THROWS_WITH(km.predict(Z), Contains("X(4, 1)"));
  REQUIRE(km.predict(lloyd::Matrix<TestType>(0, 3)).empty());
}
