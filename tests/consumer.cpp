// Minimal lloyd consumer used by the packaging tests: exits 0 when the clustering works.
#include <lloyd/lloyd.hpp>

#include <cstdio>

int main() {
  const auto blobs = lloyd::make_blobs<double>(600, 3, 3, 0.5, 7);
  lloyd::Params p;
  p.n_clusters = 3;
  p.seed = 1;
  lloyd::KMeans<double> km(p);
  const auto r = km.fit(blobs.X);
  std::printf("lloyd %d.%d.%d: inertia %.3f after %d iterations\n", LLOYD_VERSION_MAJOR, LLOYD_VERSION_MINOR,
              LLOYD_VERSION_PATCH, r.inertia, r.n_iter);
  return (r.converged && r.labels.size() == 600 && r.centroids.rows() == 3) ? 0 : 1;
}
