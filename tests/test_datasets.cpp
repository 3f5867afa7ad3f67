#include <catch2/catch.hpp>
#include <lloyd/datasets.hpp>

#include <cmath>
#include <vector>

TEMPLATE_TEST_CASE("make_blobs is balanced, shuffled and deterministic", "[datasets]", float, double) {
  const auto a = lloyd::make_blobs<TestType>(103, 4, 5, 0.5, 11);
  REQUIRE(a.X.rows() == 103);
  REQUIRE(a.X.cols() == 4);
  REQUIRE(a.centers.rows() == 5);
  REQUIRE(a.y.size() == 103);
  std::vector<int> count(5, 0);
  for (auto l : a.y) {
    REQUIRE(l >= 0);
    REQUIRE(l < 5);
    ++count[static_cast<std::size_t>(l)];
  }
  for (int c = 0; c < 5; ++c) REQUIRE(count[static_cast<std::size_t>(c)] == (c < 3 ? 21 : 20));
  bool sorted = true;
  for (std::size_t i = 1; i < a.y.size(); ++i) sorted = sorted && a.y[i - 1] <= a.y[i];
  REQUIRE_FALSE(sorted);

  const auto b = lloyd::make_blobs<TestType>(103, 4, 5, 0.5, 11);
  REQUIRE(a.X == b.X);
  REQUIRE(a.y == b.y);
  const auto c = lloyd::make_blobs<TestType>(103, 4, 5, 0.5, 12);
  REQUIRE_FALSE(a.X == c.X);
}

TEST_CASE("make_blobs scatters rows around their centre with the requested spread", "[datasets]") {
  const double sd = 2.0;
  const auto b = lloyd::make_blobs<double>(20000, 3, 4, sd, 5);
  double ss = 0;
  for (std::size_t i = 0; i < b.X.rows(); ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      const double diff = b.X(i, j) - b.centers(static_cast<std::size_t>(b.y[i]), j);
      ss += diff * diff;
    }
  const double var = ss / (20000.0 * 3.0);
  REQUIRE(std::abs(std::sqrt(var) - sd) < 0.05);
  for (std::size_t c = 0; c < 4; ++c)
    for (std::size_t j = 0; j < 3; ++j) {
      REQUIRE(b.centers(c, j) >= -10.0);
      REQUIRE(b.centers(c, j) <= 10.0);
    }
}
