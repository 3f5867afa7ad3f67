// Quickstart: cluster generated data, print what k-means found.
#include <lloyd/lloyd.hpp>

#include <cstdio>

int main() {
  // 30 000 points around 6 centres in 16 dimensions (X: the rows, y: the true blob).
  const auto data = lloyd::make_blobs<float>(30000, 16, 6, 1.0, /*seed=*/7);

  lloyd::Params p;          // C++20: lloyd::KMeans<float> km({.n_clusters = 6, .seed = 42});
  p.n_clusters = 6;
  p.seed = 42;
  lloyd::KMeans<float> km(p);

  const lloyd::Result<float> r = km.fit(data.X);
  std::printf("converged: %s after %d iterations, inertia %.1f\n", r.converged ? "yes" : "no", r.n_iter, r.inertia);

  std::size_t size[6] = {};
  for (auto label : r.labels) ++size[label];
  for (int c = 0; c < 6; ++c) std::printf("cluster %d: %zu points\n", c, size[c]);
  return r.converged && km.predict(data.X) == r.labels ? 0 : 1;
}
