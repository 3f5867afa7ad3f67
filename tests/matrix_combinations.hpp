// For the compile tests of matrix arguments (matrix_arguments.cpp, mpi/mpi_arguments.cpp):
// calls call(rows, start, params, weights) with every combination of Matrix<T>,
// const Matrix<T>, MatrixView<T> and MatrixView<const T> for a 4 x 2 data matrix and its
// 2 x 2 starting centroids (params: k = 2 on one thread; weights: 1 per row); returns
// the number of combinations (16).
#pragma once

#include <lloyd/matrix.hpp>
#include <lloyd/params.hpp>

#include <vector>

template <class T, class Call>
int for_each_matrix_combination(Call&& call) {
  lloyd::Matrix<T> X = {{0, 0}, {0, 1}, {5, 5}, {5, 6}};
  lloyd::Matrix<T> C0 = {{0, 0}, {5, 5}};
  const lloyd::Matrix<T>& cX = X;
  const lloyd::Matrix<T>& cC0 = C0;
  lloyd::Params p;
  p.n_clusters = 2;
  p.n_threads = 1;
  const std::vector<T> w(X.rows(), T(1));
  int combinations = 0;
  auto each_start = [&](const auto& rows) {
    call(rows, C0, p, w);
    call(rows, cC0, p, w);
    call(rows, lloyd::MatrixView<T>(C0), p, w);
    call(rows, lloyd::MatrixView<const T>(C0), p, w);
    combinations += 4;
  };
  each_start(X);
  each_start(cX);
  each_start(lloyd::MatrixView<T>(X));
  each_start(lloyd::MatrixView<const T>(X));
  return combinations;
}
