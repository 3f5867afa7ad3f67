// Fuzz target: fit/predict on small matrices, parameters and weights decoded from the
// input. A run must either succeed with finite centroids, valid labels, a finite
// inertia and predict() == labels, or throw std::invalid_argument (documented); any
// other outcome aborts. Built for libFuzzer (clang -fsanitize=fuzzer) or, with
// LLOYD_FUZZ_REPLAY, as a program replaying files (regression tests in ctest).
#include <lloyd/lloyd.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace {

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  template <class T>
  T value() {  // raw bytes, NaN/Inf included
    T v{};
    std::uint8_t b[sizeof(T)] = {};
    for (auto& x : b) x = byte();
    std::memcpy(&v, b, sizeof(T));
    return v;
  }
};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_kmeans: invariant broken: %s\n", what);
  std::abort();
}

template <class T>
void run(Reader& in) {
  const std::size_t n = 1 + in.byte() % 48, d = 1 + in.byte() % 6, k = in.byte() % (n + 2);
  const std::uint8_t flags = in.byte(), mode = in.byte();
  lloyd::Params p;
  p.n_clusters = k;
  p.algorithm = static_cast<lloyd::Algorithm>(mode % 5);
  p.metric = static_cast<lloyd::Metric>((mode / 5) % 3);
  p.init = static_cast<lloyd::Init>((mode / 15) % 4);
  p.max_iter = 1 + in.byte() % 30;
  p.n_init = 1 + (flags >> 6) % 3;
  p.n_threads = 1 + (flags >> 4) % 3;
  p.seed = in.byte();
  p.tol = (flags & 1) ? 0.0 : 1e-4;
  lloyd::Matrix<T> X(n, d);
  const int kind = in.byte() % 4;  // raw bytes, small integers, a scale, or duplicates
  const double scale = std::ldexp(1.0, int(in.byte() % 200) - 100);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      if (kind == 0) X(i, j) = in.value<T>();
      else if (kind == 1) X(i, j) = static_cast<T>(int(in.byte() % 7) - 3);
      else if (kind == 2) X(i, j) = static_cast<T>(scale * (int(in.byte()) - 128));
      else X(i, j) = static_cast<T>(in.byte() % 2);
    }
  std::vector<T> w;
  if (flags & 2)
    for (std::size_t i = 0; i < n; ++i) w.push_back(static_cast<T>(int(in.byte() % 5) - (flags & 8 ? 1 : 0)));
  lloyd::Matrix<T> init;
  if (flags & 4) {
    init = lloyd::Matrix<T>(k, d);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t j = 0; j < d; ++j) init(c, j) = static_cast<T>(int(in.byte()) - 128);
  }
  lloyd::KMeans<T> km(p);
  lloyd::Result<T> r;
  try {
    if ((flags & 4) && (flags & 2))
      r = km.fit(X, init, w);
    else if (flags & 4)
      r = km.fit(X, init);
    else if (flags & 2)
      r = km.fit(X, w);
    else
      r = km.fit(X);
  } catch (const std::invalid_argument&) {
    return;  // documented rejection of bad input
  }
  if (r.centroids.rows() != k || r.centroids.cols() != d || r.labels.size() != n) fail("result shape");
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < d; ++j)
      if (!std::isfinite(r.centroids(c, j))) fail("non-finite centroid");
  for (auto l : r.labels)
    if (l < 0 || static_cast<std::size_t>(l) >= k) fail("label out of range");
  if (std::isnan(r.inertia)) fail("NaN inertia");
  if (p.metric != lloyd::Metric::Dot && r.inertia < 0) fail("negative inertia");
  if (km.predict(X) != r.labels) fail("predict disagrees with fit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  if (in.byte() & 1)
    run<double>(in);
  else
    run<float>(in);
  return 0;
}

#ifdef LLOYD_FUZZ_REPLAY
#include "replay_main.hpp"
#endif
