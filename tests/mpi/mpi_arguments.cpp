// Compile test: lloyd::mpi::fit accepts Matrix<T>, const Matrix<T>, MatrixView<T> and
// MatrixView<const T> for its rows and starting centroids, in any combination, with T
// deduced or given, and weights as any contiguous range. Runs each on the ranks given.
#include <lloyd/mpi.hpp>

#include <mpi.h>

#include <array>
#include <cstdio>
#include <vector>

namespace {

int calls = 0;

template <class T, class Rows, class Start>
void with(const Rows& X, const Start& C0) {
  lloyd::Params p;
  p.n_clusters = 2;
  p.n_threads = 1;
  std::vector<T> w(lloyd::MatrixView<const T>(X).rows(), T(1));
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p);
  lloyd::mpi::fit<T>(MPI_COMM_WORLD, X, p);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, C0);
  lloyd::mpi::fit<T>(MPI_COMM_WORLD, X, p, C0);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, w);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, C0, w);
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

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  each_rows<float>();
  each_rows<double>();
  std::array<double, 4> wa{1, 1, 1, 1};
  lloyd::Matrix<double> X = {{0, 0}, {0, 1}, {5, 5}, {5, 6}};
  lloyd::Params p;
  p.n_clusters = 2;
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, wa);
  MPI_Finalize();
  std::printf("%d combinations of matrix arguments compiled and ran\n", calls);
  return calls == 32 ? 0 : 1;
}
