// Peak resident memory of a float32 fit with n = 1 000 000, d = 128, k = 1000 (or the
// sizes given as arguments): it must stay below 1.2 x the size of the data, i.e. lloyd
// holds no n x k matrix and no copy of X (with Metric::Cosine too: no normalised copy).
// Prints the numbers; exits 1 if the bound fails.
//
//   memory_peak [n] [d] [k] [iterations] [euclidean|cosine]
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

// VmHWM (peak resident set) in bytes, from /proc/self/status; 0 where unavailable.
double peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) * 1024.0;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const std::size_t d = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 128;
  const std::size_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  const int iters = argc > 4 ? std::atoi(argv[4]) : 2;
  const auto parsed = lloyd::from_string<lloyd::Metric>(argc > 5 ? argv[5] : "euclidean");
  if (!parsed) {
    std::printf("memory_peak: unknown metric '%s'\n", argv[5]);
    return 2;
  }
  const lloyd::Metric metric = *parsed;
  if (peak_rss_bytes() == 0) {
    std::printf("memory_peak: /proc/self/status not available, skipped\n");
    return 0;
  }
  const auto X = lloyd::make_uniform<float>(n, d, -1.0, 1.0, 1);
  const double data_bytes = double(X.rows()) * double(X.stride()) * sizeof(float);

  lloyd::Params p;
  p.n_clusters = k;
  p.max_iter = iters;
  p.run_till_max_iter = true;
  p.init = lloyd::Init::Random;
  p.metric = metric;
  lloyd::KMeans<float> km(p);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = km.fit(X);
  const auto labels = km.predict(X);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const double peak = peak_rss_bytes();
  const double ratio = peak / data_bytes;
  std::printf("memory_peak: n=%zu d=%zu k=%zu float32, %s, %d iterations + predict in %.2f s\n", n, d, k,
              lloyd::to_string(metric), iters, seconds);
  std::printf("  data %.1f MiB, peak resident %.1f MiB, ratio %.3f (bound 1.2)\n", data_bytes / 1048576.0,
              peak / 1048576.0, ratio);
  std::printf("  an n x k float matrix alone would be %.1f MiB\n", double(n) * double(k) * 4.0 / 1048576.0);
  if (labels != r.labels) {
    std::printf("  FAILED: predict disagrees with fit\n");
    return 1;
  }
  if (ratio >= 1.2) {
    std::printf("  FAILED: peak resident memory is not below 1.2 x the data\n");
    return 1;
  }
  return 0;
}
