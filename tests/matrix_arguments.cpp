// Compile test: every matrix argument of every entry point accepts Matrix<T>,
// const Matrix<T>, MatrixView<T> and MatrixView<const T>, in any combination, with T
// deduced or given. Runs a tiny fit through each combination so the calls are real.
#include <lloyd/lloyd.hpp>

#include <cstdio>
#include <tuple>
#include <vector>

#include "matrix_combinations.hpp"

namespace {

int calls = 0;

template <class T, class Rows, class Start>
void with(const Rows& X, const Start& C0, const lloyd::Params& p, const std::vector<T>& w) {
  lloyd::KMeans<T> km(p);
  km.fit(X);
  km.fit(X, C0);
  km.fit(X, w);
  km.fit(X, C0, w);
  km.predict(X);
  km.transform(X);
  km.score(X);
  km.score(X, w);
  lloyd::MiniBatchParams mp;
  mp.n_clusters = 2;
  mp.batch_size = 2;
  lloyd::MiniBatchKMeans<T> mb(mp);
  mb.fit(X);
  mb.partial_fit(X);
  mb.predict(X);
  lloyd::fit_batch(X, 1, p);
  lloyd::fit_batch<T>(X, 1, p);
  lloyd::kmeans_plusplus(X, 2);
  lloyd::kmeans_plusplus<T>(X, 2, 1, &w);
  lloyd::kmeans_parallel(X, 2);
  lloyd::kmeans_parallel<T>(X, 2, 1, &w);
  lloyd::random_rows(X, 2);
  lloyd::random_rows<T>(X, 2, 1, &w);
  ++calls;
}

template <class T>
int each_combination() {
  return for_each_matrix_combination<T>(
      [](const auto& X, const auto& C0, const lloyd::Params& p, const std::vector<T>& w) { with<T>(X, C0, p, w); });
}

}  // namespace

int main() {
  int combinations = each_combination<float>();
  combinations += each_combination<double>();
  std::printf("%d combinations of matrix arguments compiled and ran\n", calls);
  return calls == 32 && combinations == 32 ? 0 : 1;
}
