// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Synthetic data for demos, tests and benchmarks.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "detail/random.hpp"
#include "matrix.hpp"

namespace lloyd {

/// Points drawn around known centres: X (n x d), the true centre index of each row y,
/// and the centres themselves (n_centers x d).
template <class T>
struct Blobs {
  Matrix<T> X;                   ///< n_samples x n_features data
  std::vector<std::int32_t> y;   ///< index of the centre each row was drawn around
  Matrix<T> centers;             ///< n_centers x n_features true centres
};

/// Isotropic Gaussian blobs, like scikit-learn's make_blobs: n_centers centres drawn
/// uniformly in [-10, 10]^d, rows split as evenly as possible between them (the first
/// n_samples % n_centers centres get one more), each row = centre + N(0, cluster_std^2)
/// per feature, rows shuffled. Deterministic for a given seed.
template <class T>
Blobs<T> make_blobs(std::size_t n_samples, std::size_t n_features, std::size_t n_centers, double cluster_std = 1.0,
                    std::uint64_t seed = 0) {
  if (n_features == 0) throw std::invalid_argument("lloyd::make_blobs: n_features=0 must be >= 1");
  if (n_centers == 0) throw std::invalid_argument("lloyd::make_blobs: n_centers=0 must be >= 1");
  if (!(cluster_std >= 0))
    throw std::invalid_argument("lloyd::make_blobs: cluster_std=" + std::to_string(cluster_std) + " must be >= 0");
  detail::Rng rng(seed);
  Blobs<T> b;
  b.centers = Matrix<T>(n_centers, n_features);
  for (std::size_t c = 0; c < n_centers; ++c)
    for (std::size_t j = 0; j < n_features; ++j) b.centers(c, j) = static_cast<T>(-10.0 + 20.0 * rng.uniform());

  b.y.resize(n_samples);
  const std::size_t base = n_samples / n_centers, extra = n_samples % n_centers;
  for (std::size_t c = 0, i = 0; c < n_centers; ++c)
    for (std::size_t m = 0; m < base + (c < extra ? 1 : 0); ++m) b.y[i++] = static_cast<std::int32_t>(c);
  for (std::size_t i = n_samples; i > 1; --i) std::swap(b.y[i - 1], b.y[rng.below(i)]);  // Fisher-Yates

  b.X = Matrix<T>(n_samples, n_features);
  for (std::size_t i = 0; i < n_samples; ++i) {
    const T* centre = b.centers.row(static_cast<std::size_t>(b.y[i]));
    T* x = b.X.row(i);
    for (std::size_t j = 0; j < n_features; ++j) x[j] = static_cast<T>(centre[j] + cluster_std * rng.normal());
  }
  return b;
}

/// n x d matrix of independent uniform values in [low, high).
template <class T>
Matrix<T> make_uniform(std::size_t n_samples, std::size_t n_features, double low = 0.0, double high = 1.0,
                       std::uint64_t seed = 0) {
  detail::Rng rng(seed);
  Matrix<T> X(n_samples, n_features);
  for (std::size_t i = 0; i < n_samples; ++i)
    for (std::size_t j = 0; j < n_features; ++j) X(i, j) = static_cast<T>(low + (high - low) * rng.uniform());
  return X;
}

}  // namespace lloyd
