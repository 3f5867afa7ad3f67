// lloyd benchmarks: the naive scalar baseline, lloyd, and (where OpenBLAS is found) one
// gemm of the same shape, case by case in one binary, so ratios come from one run.
//
// Cases (all run_till_max_iter, the same initial centroids for every implementation):
//   mojo_k  float64, n = 2000, d = 200, k = 5..185 step 15, 10 iterations
//   mojo_n  float64, k = 80, d = 200, n = 2000..22000 step 2000, 10 iterations
//   mojo_d  float64, k = 5, n = 4000, d = 200..3800 step 200, 10 iterations
//   large   float32, n = 100 000 and 500 000, d = 128, k = 1000, 20 and 10 iterations
//   headline float64, n = 3000, d = 100, k = 5: a whole fit with k-means++ (the Mojo
//           port's demo case)
// Counters: GFLOP/s (2 n k d per Lloyd iteration), ms_per_iter, and on lloyd's rows
// speedup (naive time / lloyd time) and vs_blas (lloyd GFLOP/s / gemm GFLOP/s).
// The naive baseline runs 1 iteration on the large cases (its time per iteration is
// what the speedup uses). LLOYD_BENCH_REPETITIONS=N repeats every benchmark N times.
#include <benchmark/benchmark.h>
#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifdef LLOYD_BENCH_HAVE_BLAS
#include <cblas.h>
#endif

namespace {

struct Case {
  std::string sweep;
  std::size_t n, d, k;
  int iters;
  bool f32;
  int naive_iters;
  std::string name() const {
    return sweep + "/n:" + std::to_string(n) + "/d:" + std::to_string(d) + "/k:" + std::to_string(k);
  }
  double flops_per_iter() const { return 2.0 * double(n) * double(k) * double(d); }
};

// Per-case results shared between the three benchmarks of a case.
struct Shared {
  double naive_s_per_iter = 0;
  double blas_gflops = 0;
};
std::map<std::string, Shared>& shared() {
  static std::map<std::string, Shared> m;
  return m;
}

template <class T>
struct Data {
  lloyd::Matrix<T> X;
  lloyd::Matrix<T> init;
};

// Data and initial centroids of a case, built once and kept for its benchmarks.
template <class T>
const Data<T>& data_for(const Case& c) {
  static std::map<std::string, std::unique_ptr<Data<T>>> cache;
  auto& slot = cache[c.name()];
  if (!slot) {
    cache.clear();  // keep one case in memory at a time
    auto& fresh = cache[c.name()];
    fresh = std::make_unique<Data<T>>();
    fresh->X = lloyd::make_blobs<T>(c.n, c.d, c.k, 5.0, 2024).X;
    fresh->init = lloyd::random_rows<T>(fresh->X, c.k, 7).centroids;
    return *fresh;
  }
  return *slot;
}

// Plain counters from our own clock: GFLOP/s and milliseconds per Lloyd iteration.
void set_common_counters(benchmark::State& state, const Case& c, double seconds_per_iter) {
  state.counters["GFLOP/s"] = c.flops_per_iter() / seconds_per_iter / 1e9;
  state.counters["ms_per_iter"] = seconds_per_iter * 1e3;
  state.counters["n"] = double(c.n);
  state.counters["d"] = double(c.d);
  state.counters["k"] = double(c.k);
}

template <class T>
void bench_naive(benchmark::State& state, Case c) {
  const auto& D = data_for<T>(c);
  lloyd::Matrix<T> C = D.init;
  std::vector<std::int32_t> labels;
  double seconds = 0;
  std::size_t runs = 0;
  for (auto _ : state) {
    C = D.init;
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < c.naive_iters; ++it) lloyd::detail::reference_lloyd_iteration<T>(D.X, C, labels);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
    benchmark::DoNotOptimize(C.data());
  }
  const double s_per_iter = seconds / double(runs) / c.naive_iters;
  shared()[c.name()].naive_s_per_iter = s_per_iter;
  set_common_counters(state, c, s_per_iter);
}

#ifdef LLOYD_BENCH_HAVE_BLAS
template <class T>
void bench_blas(benchmark::State& state, Case c) {
  const auto& D = data_for<T>(c);
  lloyd::Matrix<T> out(c.n, c.k);
  double seconds = 0;
  std::size_t runs = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < c.iters; ++it) {
      if constexpr (sizeof(T) == 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(c.n), int(c.k), int(c.d), 1.0f, D.X.data(),
                    int(D.X.stride()), D.init.data(), int(D.init.stride()), 0.0f, out.data(), int(out.stride()));
      else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(c.n), int(c.k), int(c.d), 1.0, D.X.data(),
                    int(D.X.stride()), D.init.data(), int(D.init.stride()), 0.0, out.data(), int(out.stride()));
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
    benchmark::DoNotOptimize(out.data());
  }
  const double s_per_iter = seconds / double(runs) / c.iters;
  shared()[c.name()].blas_gflops = c.flops_per_iter() / s_per_iter / 1e9;
  set_common_counters(state, c, s_per_iter);
}
#endif

template <class T>
void bench_lloyd(benchmark::State& state, Case c) {
  const auto& D = data_for<T>(c);
  lloyd::Params p;
  p.n_clusters = c.k;
  p.max_iter = c.iters;
  p.run_till_max_iter = true;
  p.algorithm = lloyd::Algorithm::Lloyd;  // the fused kernel's full passes, as the baseline does
  lloyd::KMeans<T> km(p);
  double seconds = 0;
  std::size_t runs = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = km.fit(D.X, D.init);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++runs;
    benchmark::DoNotOptimize(r.inertia);
  }
  const double s_per_iter = seconds / double(runs) / c.iters;
  const Shared& sh = shared()[c.name()];
  if (sh.naive_s_per_iter > 0) state.counters["speedup"] = sh.naive_s_per_iter / s_per_iter;
  if (sh.blas_gflops > 0) state.counters["vs_blas"] = c.flops_per_iter() / s_per_iter / 1e9 / sh.blas_gflops;
  set_common_counters(state, c, s_per_iter);
}

// The Mojo port's demo: 3000 x 100, k = 5, float64, a whole fit including k-means++.
void bench_headline(benchmark::State& state) {
  const auto X = lloyd::make_blobs<double>(3000, 100, 5, 5.0, 2024).X;
  lloyd::Params p;
  p.n_clusters = 5;
  p.seed = 1;  // defaults otherwise (k = 5: Auto runs Lloyd)
  int iters = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = lloyd::KMeans<double>(p).fit(X);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    iters += r.n_iter;
    benchmark::DoNotOptimize(r.inertia);
  }
  state.counters["ms_per_fit"] = seconds * 1e3 / double(state.iterations());
  state.counters["ms_per_iter"] = seconds * 1e3 / double(iters);
  state.counters["iterations"] = double(iters) / double(state.iterations());
}

// Issue 12's batch case: 1000 problems of 1000 x 16, k = 8, float64, default Params
// (k-means++, one init): fit_batch (problems spread over the threads) against the loop a
// caller would write, one KMeans::fit after another. bench/sklearn_batch.py times
// scikit-learn's loop on the same shapes.
constexpr std::size_t batch_problems = 1000, batch_rows = 1000, batch_d = 16, batch_k = 8;

const lloyd::Matrix<double>& batch_data() {
  static const lloyd::Matrix<double> X = [] {
    lloyd::Matrix<double> all(batch_problems * batch_rows, batch_d);
    for (std::size_t b = 0; b < batch_problems; ++b) {
      const auto part = lloyd::make_blobs<double>(batch_rows, batch_d, batch_k, 1.0, 100 + b).X;
      for (std::size_t i = 0; i < batch_rows; ++i) std::copy_n(part.row(i), batch_d, all.row(b * batch_rows + i));
    }
    return all;
  }();
  return X;
}

void bench_batch(benchmark::State& state, bool batched) {
  const auto& X = batch_data();
  lloyd::Params p;
  p.n_clusters = batch_k;
  double seconds = 0, inertia = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    inertia = 0;
    if (batched) {
      for (const auto& r : lloyd::fit_batch(X, batch_problems, p)) inertia += r.inertia;
    } else {
      for (std::size_t b = 0; b < batch_problems; ++b) {
        lloyd::Params pb = p;
        pb.seed = p.seed + b;
        inertia += lloyd::KMeans<double>(pb).fit(lloyd::MatrixView<const double>(X).rows_range(b * batch_rows, batch_rows)).inertia;
      }
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(inertia);
  }
  state.counters["ms_per_problem"] = seconds * 1e3 / double(state.iterations()) / double(batch_problems);
  state.counters["inertia_sum"] = inertia;  // sklearn_batch.py prints its own
}

// Each implementation runs `reps` times (bench/report.py keeps the fastest: the
// machine's noise only ever adds time); the slow naive runs of the large cases once.
template <class T>
void register_case(const Case& c, int reps) {
  benchmark::RegisterBenchmark(("naive/" + c.name()).c_str(), bench_naive<T>, c)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.2)
      ->Repetitions(c.naive_iters < c.iters ? 1 : reps);
#ifdef LLOYD_BENCH_HAVE_BLAS
  benchmark::RegisterBenchmark(("blas/" + c.name()).c_str(), bench_blas<T>, c)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.2)
      ->Repetitions(reps);
#endif
  benchmark::RegisterBenchmark(("lloyd/" + c.name()).c_str(), bench_lloyd<T>, c)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.5)
      ->Repetitions(reps);
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("LLOYD_BENCH_REPETITIONS");
  const int reps = env ? std::max(1, std::atoi(env)) : 1;
  for (std::size_t k = 5; k <= 185; k += 15) register_case<double>({"mojo_k", 2000, 200, k, 10, false, 10}, reps);
  for (std::size_t n = 2000; n <= 22000; n += 2000) register_case<double>({"mojo_n", n, 200, 80, 10, false, 10}, reps);
  for (std::size_t d = 200; d <= 3800; d += 200) register_case<double>({"mojo_d", 4000, d, 5, 10, false, 10}, reps);
  register_case<float>({"large", 100000, 128, 1000, 20, true, 1}, reps);
  register_case<float>({"large", 500000, 128, 1000, 10, true, 1}, reps);
  benchmark::RegisterBenchmark("headline/fit_3000x100_k5_f64", bench_headline)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("batch/loop_1000x(1000x16)_k8_f64", bench_batch, false)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("batch/fit_batch_1000x(1000x16)_k8_f64", bench_batch, true)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
