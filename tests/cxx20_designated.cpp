// C++20 callers configure KMeans with designated initialisers.
#include <lloyd/lloyd.hpp>

#include <cstdio>

int main() {
  const auto blobs = lloyd::make_blobs<float>(300, 2, 3, 0.2, 1);
  lloyd::KMeans<float> km({.n_clusters = 3, .max_iter = 50, .seed = 42, .on_iteration = nullptr});
  const auto r = km.fit(blobs.X);
  int iterations_seen = 0;
  lloyd::KMeans<double> kd({.n_clusters = 2, .tol = 0, .on_iteration = [&](const lloyd::IterationStats&) { ++iterations_seen; }});
  const auto rd = kd.fit(lloyd::make_blobs<double>(100, 3, 2, 0.5, 2).X);
  const bool ok = km.params().n_clusters == 3 && km.params().seed == 42 && r.centroids.rows() == 3 &&
                  iterations_seen == rd.n_iter && rd.centroids.rows() == 2;
  std::printf("designated initialisers: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
