#include <catch2/catch.hpp>
#include <lloyd/lloyd.hpp>

#include <limits>
#include <vector>

using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("fit_batch equals one fit per problem, in any threading", "[batch]", float, double) {
  const std::size_t B = 7, n = 500, d = 6;
  std::vector<TestType> data(B * n * d);
  for (std::size_t b = 0; b < B; ++b) {
    const auto blobs = lloyd::make_blobs<TestType>(n, d, 3 + b % 3, 1.0, 100 + b);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) data[(b * n + i) * d + j] = blobs.X(i, j);
  }
  lloyd::Params p;
  p.n_clusters = 4;
  p.seed = 11;
  for (int threads : {1, 2, 0}) {
    p.n_threads = threads;
    const auto results = lloyd::fit_batch<TestType>(data.data(), B, n, d, p);
    REQUIRE(results.size() == B);
    for (std::size_t b = 0; b < B; ++b) {
      lloyd::Params pb = p;
      pb.seed = p.seed + b;
      const auto one = lloyd::KMeans<TestType>(pb).fit(lloyd::MatrixView<const TestType>(data.data() + b * n * d, n, d));
      INFO("problem " << b << " threads " << threads);
      REQUIRE(results[b].centroids == one.centroids);
      REQUIRE(results[b].labels == one.labels);
      REQUIRE(results[b].inertia == one.inertia);
    }
  }
}

TEST_CASE("fit_batch names the problem with bad input", "[batch][validation]") {
  std::vector<float> data(4 * 50 * 2, 1.0f);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 17);
  lloyd::Params p;
  p.n_clusters = 3;
  data[(2 * 50 + 5) * 2 + 1] = std::numeric_limits<float>::quiet_NaN();
  data[(3 * 50 + 1) * 2] = std::numeric_limits<float>::infinity();
  REQUIRE_THROWS_WITH(lloyd::fit_batch<float>(data.data(), 4, 50, 2, p), Contains("problem 2") && Contains("X(5, 1)"));
  REQUIRE_THROWS_WITH(lloyd::fit_batch<float>(lloyd::MatrixView<const float>(data.data(), 199, 2), 4, p),
                      Contains("not a multiple of batch_count=4"));
  REQUIRE_THROWS_WITH(lloyd::fit_batch<float>(data.data(), 0, 50, 2, p), Contains("batch_count=0"));
}
