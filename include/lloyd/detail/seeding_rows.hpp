// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Rows as seeds, over an Exchange (exchange.hpp): Seeding, rows by global index, the row
// a weighted draw lands on, and k rows drawn at random by weight. The other seedings
// (kmeans_plusplus.hpp, kmeans_parallel.hpp) build on these; seeding.hpp picks one.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../matrix.hpp"
#include "exchange.hpp"
#include "partitions.hpp"
#include "problem.hpp"
#include "random.hpp"

namespace lloyd {

/// Starting centroids and the rows they were copied from.
template <class T>
struct Seeding {
  Matrix<T> centroids;               ///< k x d
  std::vector<std::size_t> indices;  ///< row of X each centroid was taken from (global index)
};

namespace detail {

/// The rows of all processes with the given global indices, in that order, as one
/// matrix (the same on every process).
template <class T>
Matrix<T> rows_by_index(Exchange<T>& ex, const Problem<T>& P, const std::vector<std::uint64_t>& index) {
  const std::size_t d = P.d;
  std::vector<std::uint64_t> where;
  std::vector<T> values, buf = P.row_buffer();
  for (std::size_t c = 0; c < index.size(); ++c)
    if (index[c] >= P.first_row && index[c] < P.first_row + P.n) {
      where.push_back(c);
      const T* x = P.row(static_cast<std::size_t>(index[c] - P.first_row), buf.data());
      values.insert(values.end(), x, x + d);
    }
  const std::vector<std::uint64_t> all_where = gather(ex, where);
  const std::vector<T> all_values = gather(ex, values);
  Matrix<T> out(index.size(), d);
  for (std::size_t r = 0; r < all_where.size(); ++r)
    std::copy_n(all_values.data() + r * d, d, out.row(static_cast<std::size_t>(all_where[r])));
  return out;
}

template <class T>
Seeding<T> seeding_of(Exchange<T>& ex, const Problem<T>& P, const std::vector<std::uint64_t>& index) {
  Seeding<T> s;
  s.centroids = rows_by_index(ex, P, index);
  s.indices.assign(index.begin(), index.end());
  return s;
}

/// The index whose cumulative mass first exceeds r, where the masses mass(i) >= 0 are
/// summed in the parts of `parts` (part_sum: their sums, as the caller keeps them): the
/// parts before are skipped whole. Never an index of zero mass; where rounding leaves r
/// past the last positive mass, that one; `none` if no mass is positive.
template <class Mass>
std::size_t index_by_mass(const Chunking& parts, const std::vector<double>& part_sum, double r, Mass mass,
                          std::size_t none) {
  std::size_t last_positive = none;
  for (std::size_t c = 0; c < parts.count(); ++c) {
    if (part_sum[c] <= 0) continue;
    if (r < part_sum[c]) {
      double acc = 0;
      for (std::size_t i = parts.begin(c); i < parts.end(c); ++i) {
        const double m = mass(i);
        if (m <= 0) continue;
        acc += m;
        last_positive = i;
        if (acc > r) return i;
      }
      return last_positive;  // rounding left r just past this part's sum
    }
    r -= part_sum[c];
    for (std::size_t i = parts.end(c); i-- > parts.begin(c);)
      if (mass(i) > 0) {
        last_positive = i;
        break;
      }
  }
  return last_positive;
}

/// The global row whose cumulative weight first exceeds r (r in [0, total weight)): the
/// last row of positive weight when rounding leaves r past the total.
template <class T>
std::uint64_t row_by_weight(Exchange<T>& ex, const Problem<T>& P, double r) {
  struct Part {
    double weight;
    std::uint64_t first, rows;
  };
  double local = 0;
  for (std::size_t i = 0; i < P.n; ++i) local += static_cast<double>(P.weight(i));
  const std::vector<Part> parts = gather(ex, std::vector<Part>{{local, P.first_row, P.n}});
  std::size_t owner = parts.size();
  bool past_end = true;
  for (std::size_t q = 0; q < parts.size(); ++q) {
    if (!(parts[q].weight > 0)) continue;
    owner = q;
    if (r < parts[q].weight) {
      past_end = false;
      break;
    }
    r -= parts[q].weight;
  }
  std::uint64_t pick = 0;
  if (owner < parts.size() && parts[owner].first == P.first_row && parts[owner].rows == P.n && P.n > 0) {
    double acc = 0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < P.n; ++i) {
      const double w = static_cast<double>(P.weight(i));
      if (w <= 0) continue;
      acc += w;
      last = i;
      if (!past_end && acc > r) break;
    }
    pick = P.first_row + last;
  }
  return ex.sum(static_cast<std::size_t>(pick));
}

/// k distinct rows, drawn without replacement with probability proportional to weight
/// (Efraimidis-Spirakis keys log(u)/w; rows of weight 0 only fill up what is left).
template <class T>
Seeding<T> random_seeding(Exchange<T>& ex, const Problem<T>& P, std::size_t k, Rng& rng) {
  struct Key {
    double key;
    std::uint64_t index;
  };
  std::vector<double> u(P.n);
  ex.row_uniforms(rng, P.first_row, P.n, u.data());
  std::vector<Key> keys(P.n);
  for (std::size_t i = 0; i < P.n; ++i) {
    const double w = static_cast<double>(P.weight(i));
    keys[i] = {w > 0 ? std::log(u[i]) / w : -std::numeric_limits<double>::infinity(), P.first_row + i};
  }
  auto before = [](const Key& a, const Key& b) { return a.key > b.key || (a.key == b.key && a.index < b.index); };
  const std::size_t top = std::min(k, keys.size());
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(top), keys.end(), before);
  keys.resize(top);
  std::vector<Key> all = gather(ex, keys);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
  std::vector<std::uint64_t> index(k);
  for (std::size_t c = 0; c < k; ++c) index[c] = all[c].index;
  return seeding_of(ex, P, index);
}

}  // namespace detail
}  // namespace lloyd
