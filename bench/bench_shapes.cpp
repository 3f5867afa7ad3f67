// Lloyd's iteration rate across shapes (issue 12): d in {8, 16, 32, 64, 128, 256, 784,
// 1024} x k in {16, 256, 1024, 4096, 16384}, float32 and float64, as GFLOP/s and as a share
// of this machine's multiply-add peak, which the program measures itself at start-up.
//
//   bench_shapes [--double] [--threads T] [--quick] [--d 8,64] [--k 256,1024]
//                [--arrays DIR] [--peak-only] [--peak GFLOPS]
//
// Each cell: Gaussian blobs (100 centres, unit deviation, seed 7), n rows where one
// iteration is about 2e10 flops (2e9 with --quick), at least 2k and at most 200 000 rows
// and 256 MiB; start: k distinct rows drawn at random (seed 1). The time of one iteration
// (assignment, update and inertia: what a fit repeats) is the median of the per-iteration
// wall times (Params::on_iteration) of iterations 2 to I + 1 of a Lloyd fit
// (run_till_max_iter), the fastest of 3 fits (--quick: 1) after a warm-up fit; I (4 to 20)
// so that the iterations take about 0.4 s. Rate: 2 n d k flops per iteration.
//
// Output, one JSON object per line: first the peak ({"peak": ...}; none where --peak gives
// it), then one per cell.
// --arrays DIR also writes each cell's data and start as DIR/X_<d>_<k>.npy and
// DIR/init_<d>_<k>.npy, so that bench/shapes.py times scikit-learn and faiss on the same
// arrays; bench/shapes.py turns the lines into bench/results/shapes.md and shapes.svg.
#include <lloyd/lloyd.hpp>

#include "../file_io/writers.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  bool use_double = false;
  bool quick = false;
  bool peak_only = false;
  int threads = 0;
  std::vector<std::size_t> ds{8, 16, 32, 64, 128, 256, 784, 1024};
  std::vector<std::size_t> ks{16, 256, 1024, 4096, 16384};
  std::string arrays;
  double given_peak = 0;  // --peak: skip the measurement (bench/shapes.py passes it per cell)
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Multiply-adds on independent register chains, enough of them to cover the FMA latency
// of every unit: the most flops a core can do, the yardstick of a kernel's rate.
template <class T>
double fma_chain_flops(double seconds_wanted, T* sink) {
  using batch = xsimd::batch<T>;
  constexpr int chains = 12;
  batch acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = batch(T(1) + T(c) * T(1e-3));
  const batch a(T(0.999999)), b(T(1e-7));
  const long steps = 1L << 16;
  long rounds = 0;
  const double t0 = now();
  double t1 = t0;
  do {
    for (long s = 0; s < steps; ++s)
      for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
    ++rounds;
    t1 = now();
  } while (t1 - t0 < seconds_wanted);
  batch total = acc[0];
  for (int c = 1; c < chains; ++c) total += acc[c];
  alignas(64) T lanes[batch::size];
  total.store_aligned(lanes);
  *sink = std::accumulate(lanes, lanes + batch::size, T(0));
  return 2.0 * double(batch::size) * chains * double(steps) * double(rounds) / (t1 - t0);
}

template <class T>
double fma_peak(int threads) {
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    std::vector<double> rates(threads);
    std::vector<T> sinks(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { rates[t] = fma_chain_flops<T>(0.15, &sinks[t]); });
    for (auto& th : pool) th.join();
    best = std::max(best, std::accumulate(rates.begin(), rates.end(), 0.0) * 1e-9);
  }
  return best;
}

std::vector<std::size_t> parse_list(const char* s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0) {
      std::fprintf(stderr, "bench_shapes: bad list entry '%s' in '%s'\n", item.c_str(), s);
      std::exit(2);
    }
    out.push_back(static_cast<std::size_t>(v));
  }
  return out;
}

std::size_t rows_for(std::size_t d, std::size_t k, std::size_t bytes_per_value, bool quick) {
  const double flops = quick ? 2e9 : 2e10;
  std::size_t n = static_cast<std::size_t>(flops / (2.0 * double(d) * double(k)));
  n = std::min<std::size_t>(n, 200000);
  n = std::min<std::size_t>(n, (std::size_t(256) << 20) / (d * bytes_per_value));
  n = std::max<std::size_t>(n, 2 * k);
  return n;
}

// One fit of `iterations` Lloyd iterations; returns the median of the wall times of
// iterations 2.. (the first also pays for relocating the clusters that start empty).
template <class T>
double median_iteration_seconds(const lloyd::Matrix<T>& X, const lloyd::Matrix<T>& init, int iterations,
                                int threads, double* fit_seconds) {
  std::vector<double> times;
  lloyd::Params p;
  p.n_clusters = init.rows();
  p.algorithm = lloyd::Algorithm::Lloyd;
  p.max_iter = iterations;
  p.run_till_max_iter = true;
  p.n_threads = threads;
  p.on_iteration = [&](const lloyd::IterationStats& s) {
    if (s.iteration > 1) times.push_back(s.seconds);
  };
  const double t0 = now();
  const auto r = lloyd::KMeans<T>(p).fit(X, init);
  *fit_seconds = now() - t0;
  if (r.n_iter != iterations || times.empty()) {
    std::fprintf(stderr, "bench_shapes: a fit ran %d iterations, not %d\n", r.n_iter, iterations);
    std::exit(1);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

template <class T>
void cell(std::size_t d, std::size_t k, const Options& o, int threads, double peak) {
  const std::size_t n = rows_for(d, k, sizeof(T), o.quick);
  const auto X = lloyd::make_blobs<T>(n, d, 100, 1.0, 7).X;
  lloyd::Matrix<T> init(k, d);
  {
    std::vector<std::size_t> rows(n);
    std::iota(rows.begin(), rows.end(), std::size_t(0));
    std::mt19937_64 rng(1);
    for (std::size_t c = 0; c < k; ++c) {  // partial Fisher-Yates: k distinct rows
      std::swap(rows[c], rows[c + rng() % (n - c)]);
      std::copy(X.row(rows[c]), X.row(rows[c]) + d, init.row(c));
    }
  }
  if (!o.arrays.empty()) {
    const std::string tag = std::to_string(d) + "_" + std::to_string(k);
    lloyd_io::write_matrix(o.arrays + "/X_" + tag + ".npy", X.data(), n, d, X.stride());
    lloyd_io::write_matrix(o.arrays + "/init_" + tag + ".npy", init.data(), k, d, init.stride());
  }
  double fit1 = 0, fit_all = 0;
  median_iteration_seconds(X, init, 2, threads, &fit1);  // warm-up, and the time of a fit's fixed costs
  const int iterations = 1 + static_cast<int>(std::clamp(std::ceil((o.quick ? 0.1 : 0.4) / fit1), 4.0, 20.0));
  double per_iteration = 1e300;
  for (int r = 0; r < (o.quick ? 1 : 3); ++r)
    per_iteration = std::min(per_iteration, median_iteration_seconds(X, init, iterations, threads, &fit_all));
  const double gflops = 2.0 * double(n) * double(d) * double(k) / per_iteration * 1e-9;
  std::printf(
      "{\"precision\": \"%s\", \"d\": %zu, \"k\": %zu, \"n\": %zu, \"iterations\": %d, \"threads\": %d, "
      "\"fit2_s\": %.6f, \"ms_per_iteration\": %.4f, \"gflops\": %.2f, \"percent_of_peak\": %.1f}\n",
      sizeof(T) == 4 ? "float32" : "float64", d, k, n, iterations - 1, threads, fit1, per_iteration * 1e3, gflops,
      100.0 * gflops / peak);
  std::fflush(stdout);
}

template <class T>
int run(const Options& o) {
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.given_peak > 0) {
    for (const std::size_t d : o.ds)
      for (const std::size_t k : o.ks) cell<T>(d, k, o, threads, o.given_peak);
    return 0;
  }
  const double peak1 = fma_peak<T>(1), peak = threads == 1 ? peak1 : fma_peak<T>(threads);
  std::printf(
      "{\"peak\": {\"precision\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"gflops_1_thread\": %.1f, "
      "\"gflops\": %.1f}}\n",
      sizeof(T) == 4 ? "float32" : "float64", xsimd::default_arch::name(), threads, peak1, peak);
  std::fflush(stdout);
  if (o.peak_only) return 0;
  for (const std::size_t d : o.ds)
    for (const std::size_t k : o.ks) cell<T>(d, k, o, threads, peak);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(a, "--double")) o.use_double = true;
    else if (!std::strcmp(a, "--quick")) o.quick = true;
    else if (!std::strcmp(a, "--peak-only")) o.peak_only = true;
    else if (!std::strcmp(a, "--threads") && has_value) o.threads = std::atoi(argv[++i]);
    else if (!std::strcmp(a, "--d") && has_value) o.ds = parse_list(argv[++i]);
    else if (!std::strcmp(a, "--k") && has_value) o.ks = parse_list(argv[++i]);
    else if (!std::strcmp(a, "--arrays") && has_value) o.arrays = argv[++i];
    else if (!std::strcmp(a, "--peak") && has_value) o.given_peak = std::atof(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: bench_shapes [--double] [--threads T] [--quick] [--d LIST] [--k LIST] [--arrays DIR] "
                   "[--peak-only] [--peak GFLOPS]\n");
      return 2;
    }
  }
  try {
    return o.use_double ? run<double>(o) : run<float>(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_shapes: %s\n", e.what());
    return 1;
  }
}
