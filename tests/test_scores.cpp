// The clustering measures of lloyd/metrics.hpp against direct formulas (scikit-learn's
// definitions; python/tests compare with scikit-learn itself), their invariances and
// their errors.
#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "helpers.hpp"

using Catch::Matchers::Contains;

namespace {

// Silhouette by its definition, in double, all pairs.
template <class T>
double naive_silhouette(const lloyd::Matrix<T>& X, const std::vector<std::int32_t>& labels) {
  const std::size_t n = X.rows();
  const std::int32_t k = *std::max_element(labels.begin(), labels.end()) + 1;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> sum(static_cast<std::size_t>(k), 0.0), count(static_cast<std::size_t>(k), 0.0);
    for (std::size_t r = 0; r < n; ++r) {
      double s2 = 0;
      for (std::size_t j = 0; j < X.cols(); ++j) s2 += (double(X(i, j)) - double(X(r, j))) * (double(X(i, j)) - double(X(r, j)));
      sum[static_cast<std::size_t>(labels[r])] += std::sqrt(s2);
      count[static_cast<std::size_t>(labels[r])] += 1;
    }
    const auto own = static_cast<std::size_t>(labels[i]);
    if (count[own] <= 1) continue;
    const double a = sum[own] / (count[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < sum.size(); ++c)
      if (c != own && count[c] > 0) b = std::min(b, sum[c] / count[c]);
    total += (b - a) / std::max(a, b);
  }
  return total / double(n);
}

}  // namespace

TEMPLATE_TEST_CASE("silhouette, Calinski-Harabasz and Davies-Bouldin follow their definitions", "[scores]", float,
                   double) {
  using T = TestType;
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  for (const std::size_t d : {std::size_t(1), std::size_t(5), std::size_t(13)}) {  // d not a SIMD width
    const auto blobs = lloyd::make_blobs<T>(301, d, 4, 2.5, d);
    const auto& X = blobs.X;
    lloyd::Params p;
    p.n_clusters = 4;
    const auto labels = lloyd::KMeans<T>(p).fit(X).labels;
    CAPTURE(d);
    CHECK(lloyd::silhouette_score(X, labels) == Approx(naive_silhouette(X, labels)).epsilon(tol));
    CHECK(lloyd::silhouette_score(X, labels, 1000) == lloyd::silhouette_score(X, labels));  // sample >= n: all
    CHECK(lloyd::silhouette_score(X, labels, 0, 0, 1) == lloyd::silhouette_score(X, labels, 0, 0, 2));

    // Calinski-Harabasz and Davies-Bouldin from cluster means.
    std::vector<double> mean(4 * d, 0.0), all(d, 0.0), count(4, 0.0);
    for (std::size_t i = 0; i < X.rows(); ++i) {
      count[static_cast<std::size_t>(labels[i])] += 1;
      for (std::size_t j = 0; j < d; ++j) {
        mean[static_cast<std::size_t>(labels[i]) * d + j] += double(X(i, j));
        all[j] += double(X(i, j)) / double(X.rows());
      }
    }
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t j = 0; j < d; ++j) mean[c * d + j] /= count[c];
    double between = 0, within = 0;
    std::vector<double> spread(4, 0.0);
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t j = 0; j < d; ++j) between += count[c] * std::pow(mean[c * d + j] - all[j], 2);
    for (std::size_t i = 0; i < X.rows(); ++i) {
      double s2 = 0;
      for (std::size_t j = 0; j < d; ++j) s2 += std::pow(double(X(i, j)) - mean[static_cast<std::size_t>(labels[i]) * d + j], 2);
      within += s2;
      spread[static_cast<std::size_t>(labels[i])] += std::sqrt(s2) / count[static_cast<std::size_t>(labels[i])];
    }
    CHECK(lloyd::calinski_harabasz(X, labels) == Approx(between / 3 / (within / double(X.rows() - 4))).epsilon(tol));
    double db = 0;
    for (std::size_t a = 0; a < 4; ++a) {
      double worst = 0;
      for (std::size_t b = 0; b < 4; ++b) {
        if (a == b) continue;
        double s2 = 0;
        for (std::size_t j = 0; j < d; ++j) s2 += std::pow(mean[a * d + j] - mean[b * d + j], 2);
        worst = std::max(worst, (spread[a] + spread[b]) / std::sqrt(s2));
      }
      db += worst / 4;
    }
    CHECK(lloyd::davies_bouldin(X, labels) == Approx(db).epsilon(tol));

    // Renaming the clusters (any non-negative values) changes nothing.
    std::vector<std::int32_t> renamed(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) renamed[i] = 10 * (3 - labels[i]) + 7;
    CHECK(lloyd::silhouette_score(X, renamed) == Approx(lloyd::silhouette_score(X, labels)).epsilon(1e-12));
    CHECK(lloyd::calinski_harabasz(X, renamed) == Approx(lloyd::calinski_harabasz(X, labels)).epsilon(1e-12));
    CHECK(lloyd::davies_bouldin(X, renamed) == Approx(lloyd::davies_bouldin(X, labels)).epsilon(1e-12));
  }
}

TEST_CASE("clustering scores: separated blobs score well, a sample is reproducible, bad labels are errors",
          "[scores]") {
  const auto blobs = lloyd::make_blobs<double>(2000, 3, 3, 0.1, 1);  // tight, far apart
  const auto& X = blobs.X;
  const auto& y = blobs.y;
  CHECK(lloyd::silhouette_score(X, y) > 0.9);
  CHECK(lloyd::davies_bouldin(X, y) < 0.2);
  const double s1 = lloyd::silhouette_score(X, y, 500, 3), s2 = lloyd::silhouette_score(X, y, 500, 3);
  CHECK(s1 == s2);
  CHECK(s1 == Approx(lloyd::silhouette_score(X, y)).epsilon(0.02));
  // Every row on its cluster's mean: Calinski-Harabasz 1 by convention, Davies-Bouldin 0.
  lloyd::Matrix<double> twins(4, 2);
  twins(2, 0) = twins(3, 0) = 5;
  const std::vector<std::int32_t> pairs{0, 0, 1, 1};
  CHECK(lloyd::calinski_harabasz(twins, pairs) == 1.0);
  CHECK(lloyd::davies_bouldin(twins, pairs) == 0.0);

  const std::vector<std::int32_t> one(X.rows(), 0);
  CHECK_THROWS_WITH(lloyd::silhouette_score(X, one), Contains("1 distinct labels for 2000 rows; need 2 to n - 1"));
  std::vector<std::int32_t> each(4);
  for (std::int32_t i = 0; i < 4; ++i) each[static_cast<std::size_t>(i)] = i;
  CHECK_THROWS_WITH(lloyd::calinski_harabasz(twins, each), Contains("4 distinct labels for 4 rows"));
  CHECK_THROWS_WITH(lloyd::davies_bouldin(twins, std::vector<std::int32_t>{0, 1}), Contains("labels has 2 values for 4 rows"));
  CHECK_THROWS_WITH(lloyd::silhouette_score(twins, std::vector<std::int32_t>{0, -1, 1, 1}),
                    Contains("labels[1] = -1 is negative"));
  auto nan = twins;
  nan(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(lloyd::davies_bouldin(nan, pairs), Contains("X(1, 1) is NaN"));
}
