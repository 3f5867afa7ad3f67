// Exact accelerated algorithms vs Lloyd to convergence, mini-batch vs full k-means, and
// k-means|| seeding, all in one binary so ratios come from one run.
//
//   algo/<data>/<algorithm>   fit from the same k-means++ start to convergence (tol 1e-4);
//                             counters: iterations, distance evaluations, their share of
//                             Lloyd's, speedup over Lloyd, inertia (identical by design)
//   minibatch/...             MiniBatchKMeans (defaults) vs KMeans (defaults), n = 1e6
//   seeding/...               k-means|| and greedy k-means++ vs 3 Lloyd iterations
#include <benchmark/benchmark.h>
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

struct Data {
  lloyd::Matrix<float> X;
  lloyd::Matrix<float> init;
};

// The three data sets of the algorithm comparison, each with its k-means++ start.
const Data& dataset(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Data>> cache;
  auto& slot = cache[name];
  if (slot) return *slot;
  slot = std::make_unique<Data>();
  std::size_t k = 0;
  if (name == "blobs_n200k_d8_k100") {
    slot->X = lloyd::make_blobs<float>(200000, 8, 100, 1.0, 11).X;
    k = 100;
  } else if (name == "blobs_n100k_d128_k1000") {
    slot->X = lloyd::make_blobs<float>(100000, 128, 1000, 1.0, 12).X;
    k = 1000;
  } else {
    slot->X = lloyd::make_uniform<float>(100000, 32, 0.0, 1.0, 13);
    k = 256;
  }
  slot->init = lloyd::kmeans_plusplus<float>(slot->X, k, 1).centroids;
  return *slot;
}

std::map<std::string, double>& lloyd_seconds() {
  static std::map<std::string, double> m;
  return m;
}

void bench_algorithm(benchmark::State& state, std::string name, lloyd::Algorithm algorithm) {
  const Data& D = dataset(name);
  lloyd::Params p;
  p.n_clusters = D.init.rows();
  p.algorithm = algorithm;
  lloyd::KMeans<float> km(p);
  lloyd::Result<float> r;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    r = km.fit(D.X, D.init);
    seconds += since(t0);
  }
  seconds /= double(state.iterations());
  const double n = double(D.X.rows()), k = double(D.init.rows());
  if (algorithm == lloyd::Algorithm::Lloyd) lloyd_seconds()[name] = seconds;
  state.counters["ms_per_fit"] = seconds * 1e3;
  state.counters["iterations"] = r.n_iter;
  state.counters["distance_evaluations"] = double(r.distance_evaluations);
  // Lloyd computes n * k distances per pass: every iteration plus the final relabelling.
  state.counters["share_of_lloyd_evaluations"] = double(r.distance_evaluations) / (n * k * (r.n_iter + 1));
  state.counters["inertia"] = r.inertia;
  if (lloyd_seconds().count(name)) state.counters["speedup_vs_lloyd"] = lloyd_seconds()[name] / seconds;
}

void bench_minibatch(benchmark::State& state, bool mini) {
  static const auto X = lloyd::make_blobs<float>(1000000, 64, 100, 4.0, 3).X;
  static double full_seconds = 0, full_inertia = 0;
  double seconds = 0, inertia = 0;
  int steps = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    if (mini) {
      lloyd::MiniBatchParams mp;
      mp.n_clusters = 100;
      mp.seed = 1;
      const auto r = lloyd::MiniBatchKMeans<float>(mp).fit(X);
      inertia = r.inertia;
      steps = r.n_iter;
    } else {
      lloyd::Params p;
      p.n_clusters = 100;
      p.seed = 1;
      const auto r = lloyd::KMeans<float>(p).fit(X);
      inertia = r.inertia;
      steps = r.n_iter;
    }
    seconds += since(t0);
  }
  seconds /= double(state.iterations());
  if (!mini) {
    full_seconds = seconds;
    full_inertia = inertia;
  }
  state.counters["ms_per_fit"] = seconds * 1e3;
  state.counters["inertia"] = inertia;
  state.counters[mini ? "steps" : "iterations"] = steps;
  if (mini && full_seconds > 0) {
    state.counters["time_ratio_full_over_minibatch"] = full_seconds / seconds;
    state.counters["inertia_vs_full"] = inertia / full_inertia;
  }
}

// Seeding n x 128, k = 1000 (float32) against 3 Lloyd iterations of the same shape.
void bench_seeding(benchmark::State& state, std::size_t n, int which) {
  static std::map<std::size_t, lloyd::Matrix<float>> data_by_n;
  static std::map<std::size_t, double> lloyd3;
  auto& X = data_by_n[n];
  if (X.rows() == 0) X = lloyd::make_blobs<float>(n, 128, 1000, 6.0, 3).X;
  double seconds = 0;
  for (auto _ : state) {
    if (which == 0) {  // 3 Lloyd iterations (their own time, from the callback)
      lloyd::Params p;
      p.n_clusters = 1000;
      p.max_iter = 3;
      p.run_till_max_iter = true;
      p.init = lloyd::Init::Random;
      p.algorithm = lloyd::Algorithm::Lloyd;
      double it = 0;
      p.on_iteration = [&](const lloyd::IterationStats& s) { it += s.seconds; };
      lloyd::KMeans<float>(p).fit(X);
      seconds += it;
    } else {
      const auto t0 = clock_type::now();
      const auto s = which == 1 ? lloyd::kmeans_parallel<float>(X, 1000, 1) : lloyd::kmeans_plusplus<float>(X, 1000, 1);
      benchmark::DoNotOptimize(s.indices.data());
      seconds += since(t0);
    }
  }
  seconds /= double(state.iterations());
  if (which == 0) lloyd3[n] = seconds;
  state.counters["seconds"] = seconds;
  if (which != 0 && lloyd3.count(n)) state.counters["vs_3_lloyd_iterations"] = seconds / lloyd3[n];
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* name : {"blobs_n200k_d8_k100", "blobs_n100k_d128_k1000", "uniform_n100k_d32_k256"}) {
    const std::pair<const char*, lloyd::Algorithm> algos[] = {{"Lloyd", lloyd::Algorithm::Lloyd},
                                                             {"Hamerly", lloyd::Algorithm::Hamerly},
                                                             {"Elkan", lloyd::Algorithm::Elkan},
                                                             {"Yinyang", lloyd::Algorithm::Yinyang},
                                                             {"Exponion", lloyd::Algorithm::Exponion},
                                                             {"Auto", lloyd::Algorithm::Auto}};
    for (const auto& a : algos)
      benchmark::RegisterBenchmark((std::string("algo/") + name + "/" + a.first).c_str(), bench_algorithm,
                                   std::string(name), a.second)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
  }
  benchmark::RegisterBenchmark("minibatch/n1M_d64_k100/KMeans", bench_minibatch, false)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("minibatch/n1M_d64_k100/MiniBatchKMeans", bench_minibatch, true)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  for (std::size_t n : {100000u, 500000u}) {
    const std::string tag = "seeding/n" + std::to_string(n / 1000) + "k_d128_k1000/";
    benchmark::RegisterBenchmark((tag + "3_Lloyd_iterations").c_str(), bench_seeding, n, 0)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((tag + "kmeans_parallel").c_str(), bench_seeding, n, 1)->Unit(benchmark::kMillisecond)->UseRealTime();
    if (n <= 100000)
      benchmark::RegisterBenchmark((tag + "kmeans_plusplus").c_str(), bench_seeding, n, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
