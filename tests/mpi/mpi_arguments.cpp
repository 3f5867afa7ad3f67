// Compile test: lloyd::mpi::fit accepts Matrix<T>, const Matrix<T>, MatrixView<T> and
// MatrixView<const T> for its rows and starting centroids, in any combination, with T
// deduced or given, and weights as any contiguous range. Runs each on the ranks given.
#include <lloyd/mpi.hpp>

#include <mpi.h>

#include <array>
#include <cstdio>
#include <vector>

#include "../matrix_combinations.hpp"

namespace {

int calls = 0;

template <class T, class Rows, class Start>
void with(const Rows& X, const Start& C0, const lloyd::Params& p, const std::vector<T>& w) {
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p);
  lloyd::mpi::fit<T>(MPI_COMM_WORLD, X, p);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, C0);
  lloyd::mpi::fit<T>(MPI_COMM_WORLD, X, p, C0);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, w);
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, C0, w);
  ++calls;
}

template <class T>
int each_combination() {
  return for_each_matrix_combination<T>(
      [](const auto& X, const auto& C0, const lloyd::Params& p, const std::vector<T>& w) { with<T>(X, C0, p, w); });
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int combinations = each_combination<float>();
  combinations += each_combination<double>();
  std::array<double, 4> wa{1, 1, 1, 1};
  lloyd::Matrix<double> X = {{0, 0}, {0, 1}, {5, 5}, {5, 6}};
  lloyd::Params p;
  p.n_clusters = 2;
  lloyd::mpi::fit(MPI_COMM_WORLD, X, p, wa);
  MPI_Finalize();
  std::printf("%d combinations of matrix arguments compiled and ran\n", calls);
  return calls == 32 && combinations == 32 ? 0 : 1;
}
