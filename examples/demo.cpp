// lloyd demo: cluster generated Gaussian blobs and print what happened.
//
//   lloyd_demo [n_samples] [n_features] [n_clusters] [float|double]
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

template <class T>
int run(std::size_t n, std::size_t d, std::size_t k) {
  const double spread = 4.0;  // blob standard deviation: neighbouring blobs touch
  std::printf("lloyd %d.%d.%d demo: %zu points, %zu features, %zu clusters, %s, %u hardware threads\n",
              LLOYD_VERSION_MAJOR, LLOYD_VERSION_MINOR, LLOYD_VERSION_PATCH, n, d, k,
              sizeof(T) == 4 ? "float32" : "float64", std::thread::hardware_concurrency());
  std::fflush(stdout);  // keep the order of stdout and the verbose lines on stderr
  const auto blobs = lloyd::make_blobs<T>(n, d, k, spread, 2026);

  lloyd::Params p;
  p.n_clusters = k;
  p.seed = 42;
  p.verbose = true;  // per-iteration lines on stderr
  lloyd::KMeans<T> km(p);

  const auto t0 = std::chrono::steady_clock::now();
  const lloyd::Result<T> r = km.fit(blobs.X);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<std::size_t> sizes(k, 0);
  for (auto l : r.labels) ++sizes[static_cast<std::size_t>(l)];
  std::printf("\n%s after %d iterations in %.3f s (%.3f ms per iteration, k-means++ included)\n",
              r.converged ? "converged" : "stopped", r.n_iter, seconds, 1e3 * seconds / r.n_iter);
  std::printf("inertia: %.6g (%.4f per point and feature; the blobs' variance is %.4f)\n", r.inertia,
              r.inertia / double(n) / double(d), spread * spread);
  std::printf("cluster sizes:");
  for (std::size_t c = 0; c < k; ++c) std::printf(" %zu", sizes[c]);
  std::printf("\n");

  // How well were the generating blobs recovered? (each cluster's majority blob)
  std::vector<std::vector<std::size_t>> votes(k, std::vector<std::size_t>(k, 0));
  for (std::size_t i = 0; i < n; ++i) ++votes[static_cast<std::size_t>(r.labels[i])][static_cast<std::size_t>(blobs.y[i])];
  std::size_t agree = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t best = 0;
    for (std::size_t b = 0; b < k; ++b) best = std::max(best, votes[c][b]);
    agree += best;
  }
  std::printf("rows in their cluster's majority blob: %.2f %%\n", 100.0 * double(agree) / double(n));
  return 0;
}

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const std::size_t d = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 32;
  const std::size_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10;
  const std::string type = argc > 4 ? argv[4] : "float";
  if (n == 0 || d == 0 || k == 0 || k > n || (type != "float" && type != "double")) {
    std::fprintf(stderr, "usage: %s [n_samples] [n_features] [n_clusters <= n_samples] [float|double]\n", argv[0]);
    return 2;
  }
  try {
    return type == "float" ? run<float>(n, d, k) : run<double>(n, d, k);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
