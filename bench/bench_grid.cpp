// Every exact algorithm on a grid of regimes, to convergence from the same start, with
// what Algorithm::Auto picks: the table behind the README's "Choosing an algorithm".
//
//   bench_grid [--double] [--threads T] [--quick] [--max-iter M] [--repeat R]
//
// Rows: d in {2, 8, 32, 128, 784} x k in {10, 100, 1000} x {Gaussian blobs around 50
// centres, uniform noise}; n = 100 000 up to d = 32, 50 000 at d = 128, 20 000 at d = 784
// (--quick: a tenth). Start: k rows drawn at random (seed 1), the same for every
// algorithm. Columns: seconds per fit, and for each row the iterations, the distances
// each algorithm computed as a share of Lloyd's, the fastest (bold), Auto's pick, Auto's
// own time (timed as a fit of its own: it may run its pick differently, and the machine's
// noise falls on it apart) and that time over the fastest algorithm's. Each algorithm
// runs as it does when asked for by name (with few centroids its bounds start late, or
// it runs Lloyd: see bounds_deferred_passes() in lloyd/detail/run.hpp). Every result is checked to be
// Lloyd's bit for bit. Each time is the least of R runs (default 3; more for short fits,
// until the row has taken a second, at most 20), the algorithms taking turns, so that a
// moment of the machine's noise falls on one run of one cell.
// Output: Markdown on stdout.
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  bool use_double = false;
  bool quick = false;
  int threads = 0;
  int max_iter = 300;
  int repeat = 3;
};

template <class T>
struct Run {
  double seconds = 0;
  lloyd::Result<T> result;
};

template <class T>
Run<T> fit(const lloyd::Matrix<T>& X, const lloyd::Matrix<T>& init, lloyd::Algorithm a, const Options& o) {
  lloyd::Params p;
  p.n_clusters = init.rows();
  p.algorithm = a;
  p.max_iter = o.max_iter;
  p.n_threads = o.threads;
  Run<T> r;
  const auto t0 = std::chrono::steady_clock::now();
  r.result = lloyd::KMeans<T>(p).fit(X, init);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

template <class T>
bool same(const lloyd::Result<T>& a, const lloyd::Result<T>& b) {
  return a.labels == b.labels && a.centroids == b.centroids && a.inertia == b.inertia && a.n_iter == b.n_iter;
}

template <class T>
int grid(const Options& o) {
  const lloyd::Algorithm algorithms[] = {lloyd::Algorithm::Lloyd, lloyd::Algorithm::Hamerly,
                                         lloyd::Algorithm::Exponion, lloyd::Algorithm::Elkan,
                                         lloyd::Algorithm::Yinyang};
  std::printf("| data | n | d | k | it. | Lloyd s | Hamerly | Exponion | Elkan | Yinyang | Auto picks | Auto s | Auto / best |"
              " distances (H / X / E / Y, share of Lloyd's) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|\n");
  int mismatches = 0;
  double worst_auto = 0;
  for (const bool blobs : {true, false})
    for (const std::size_t d : {2, 8, 32, 128, 784})
      for (const std::size_t k : {10, 100, 1000}) {
        std::size_t n = d <= 32 ? 100000 : d <= 128 ? 50000 : 20000;
        if (o.quick) n /= 10;
        const std::uint64_t seed = 1000 * d + k + (blobs ? 0 : 7);
        const lloyd::Matrix<T> X = blobs ? lloyd::make_blobs<T>(n, d, 50, 1.0, seed).X
                                         : lloyd::make_uniform<T>(n, d, 0.0, 1.0, seed);
        const lloyd::Matrix<T> init = lloyd::random_rows<T>(X, k, 1).centroids;
        std::vector<Run<T>> runs;
        for (const lloyd::Algorithm a : algorithms) runs.push_back(fit(X, init, a, o));
        Run<T> automatic = fit(X, init, lloyd::Algorithm::Auto, o);
        // The same results again: keep the least times. Short fits run more rounds (until
        // the row has taken a second, at most 20), their noise being larger.
        double row_seconds = automatic.seconds;
        for (const Run<T>& r : runs) row_seconds += r.seconds;
        for (int again = 1; again < o.repeat || (row_seconds < 1.0 && again < 20); ++again) {
          for (std::size_t q = 0; q < runs.size(); ++q) {
            const double t = fit(X, init, algorithms[q], o).seconds;
            runs[q].seconds = std::min(runs[q].seconds, t);
            row_seconds += t;
          }
          const double t = fit(X, init, lloyd::Algorithm::Auto, o).seconds;
          automatic.seconds = std::min(automatic.seconds, t);
          row_seconds += t;
        }
        if (!same(automatic.result, runs[0].result)) {
          ++mismatches;
          std::fprintf(stderr, "MISMATCH: Auto differs from Lloyd (d = %zu, k = %zu)\n", d, k);
        }
        std::size_t best = 0;
        for (std::size_t q = 0; q < runs.size(); ++q) {
          if (!same(runs[q].result, runs[0].result)) {
            ++mismatches;
            std::fprintf(stderr, "MISMATCH: %s differs from Lloyd (d = %zu, k = %zu)\n", lloyd::to_string(algorithms[q]),
                         d, k);
          }
          if (runs[q].seconds < runs[best].seconds) best = q;
        }
        const double lloyd_evals = double(runs[0].result.distance_evaluations);
        std::string cells, shares;
        for (std::size_t q = 1; q < runs.size(); ++q) {
          char buf[64];
          const char* ran_lloyd = runs[q].result.algorithm == lloyd::Algorithm::Lloyd ? "\u2020" : "";  // a dagger
          std::snprintf(buf, sizeof buf, q == best ? " **%.3f**%s |" : " %.3f%s |", runs[q].seconds, ran_lloyd);
          cells += buf;
          std::snprintf(buf, sizeof buf, "%s%.3g", q == 1 ? "" : " / ", double(runs[q].result.distance_evaluations) / lloyd_evals);
          shares += buf;
        }
        const double ratio = automatic.seconds / runs[best].seconds;
        worst_auto = std::max(worst_auto, ratio);
        std::printf("| %s | %zu | %zu | %zu | %d |%s%.3f%s |%s %s | %.3f | %.2f | %s |\n", blobs ? "blobs" : "uniform", n,
                    d, k, runs[0].result.n_iter, best == 0 ? " **" : " ", runs[0].seconds, best == 0 ? "**" : "",
                    cells.c_str(), lloyd::to_string(automatic.result.algorithm), automatic.seconds, ratio,
                    shares.c_str());
        std::fflush(stdout);
      }
  std::printf("\n%s, %d threads (0: all cores), at most %d iterations, least of %d or more runs. Slowest Auto against the"
              " fastest: %.2fx.%s \u2020: ran Lloyd's pass throughout (bounds cannot pay with so few centroids).\n",
              o.use_double ? "float64" : "float32", o.threads, o.max_iter, o.repeat, worst_auto,
              mismatches ? " SOME RESULTS DIFFERED FROM LLOYD'S (see stderr)." : " Every result is Lloyd's, bit for bit.");
  return mismatches ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--double") {
      o.use_double = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--threads" && i + 1 < argc) {
      o.threads = std::atoi(argv[++i]);
    } else if (a == "--max-iter" && i + 1 < argc) {
      o.max_iter = std::atoi(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      o.repeat = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_grid [--double] [--threads T] [--quick] [--max-iter M] [--repeat R]\n");
      return 2;
    }
  }
  return o.use_double ? grid<double>(o) : grid<float>(o);
}
