// Compile test: every matrix argument of every entry point accepts Matrix<T>,
// const Matrix<T>, MatrixView<T> and MatrixView<const T>, in any combination, with T
// deduced or given. Runs a tiny fit through each combination so the calls are real.
#include <lloyd/lloyd.hpp>

#include <cstdio>
#include <tuple>
#include <vector>

namespace {

int calls = 0;

template <class T, class Rows, class Start>
void with(const Rows& X, const Start& C0) {
  lloyd::Params p;
  p.n_clusters = 2;
  p.n_threads = 1;
  std::vector<T> w(lloyd::MatrixView<const T>(X).rows(), T(1));
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

template <class T, class Rows>
void each_start(const Rows& X, lloyd::Matrix<T>& C0) {
  const lloyd::Matrix<T>& cC0 = C0;
  with<T>(X, C0);
  with<T>(X, cC0);
  with<T>(X, lloyd::MatrixView<T>(C0));
  with<T>(X, lloyd::MatrixView<const T>(C0));
}

template <class T>
void each_rows() {
  lloyd::Matrix<T> X = {{0, 0}, {0, 1}, {5, 5}, {5, 6}};
  lloyd::Matrix<T> C0 = {{0, 0}, {5, 5}};
  const lloyd::Matrix<T>& cX = X;
  each_start<T>(X, C0);
  each_start<T>(cX, C0);
  each_start<T>(lloyd::MatrixView<T>(X), C0);
  each_start<T>(lloyd::MatrixView<const T>(X), C0);
}

}  // namespace

int main() {
  each_rows<float>();
  each_rows<double>();
  std::printf("%d combinations of matrix arguments compiled and ran\n", calls);
  return calls == 32 ? 0 : 1;
}
