// Cluster data that already lives in your own buffer: a MatrixView borrows it, no copy.
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  // 1000 points x 3 features in a plain std::vector<float>, row after row: two groups,
  // around (0, 0, 0) and (10, 10, 10), and every row followed by one unused value (as in
  // a struct-of-4 layout) to show the stride.
  const std::size_t n = 1000, d = 3, stride = 4;
  std::vector<float> buffer(n * stride);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < stride; ++j)
      buffer[i * stride + j] = j == 3 ? -1.0f : (i % 2 ? 10.0f : 0.0f) + 0.1f * std::sin(float(i * 7 + j));

  const lloyd::MatrixView<const float> X(buffer.data(), n, d, stride);  // borrowed, not copied

  lloyd::Params p;
  p.n_clusters = 2;
  lloyd::KMeans<float> km(p);
  const auto r = km.fit(X);

  for (std::size_t c = 0; c < 2; ++c)
    std::printf("centroid %zu: %.3f %.3f %.3f\n", c, r.centroids(c, 0), r.centroids(c, 1), r.centroids(c, 2));
  // Odd rows and even rows end up in different clusters.
  bool split = true;
  for (std::size_t i = 2; i < n; ++i) split = split && r.labels[i] == r.labels[i % 2];
  std::printf("groups separated: %s\n", split && r.labels[0] != r.labels[1] ? "yes" : "no");
  return split && r.labels[0] != r.labels[1] ? 0 : 1;
}
