// Shared test helpers.
#pragma once

#include <lloyd/detail/reference.hpp>
#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <type_traits>
#include <vector>

namespace lloyd_test {

/// True in an AddressSanitizer build (scripts/sanitize.sh), where the arithmetic runs
/// ~100 times slower: the heaviest sweeps then run a subset (thread_sweep, and one
/// seeding per algorithm in the cosine scaling test). The full sweeps run in both of
/// test.sh's suites; the ThreadSanitizer run keeps them too.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
#else
inline constexpr bool under_asan = false;
#endif

/// The thread counts a determinism test compares with one thread: `full`, or under
/// AddressSanitizer 3 alone (more threads than cores, uneven partitions).
inline std::vector<int> thread_sweep(std::vector<int> full) { return under_asan ? std::vector<int>{3} : full; }

/// Whether a float/double test runs its case i: always, or under AddressSanitizer every
/// other case, float the even ones and double the odd ones (between them, every case).
template <class T>
bool asan_share(std::size_t i) {
  return !under_asan || i % 2 == (std::is_same<T, double>::value ? 1u : 0u);
}

/// In the tests a bounded algorithm asked for by name keeps bounds from its second pass
/// at any k and d, so that the exactness checks exercise the bounds with few centroids
/// too; lloyd's default (detail::bounds_follow_cost, run.hpp) lets them start late, or
/// runs Lloyd, where bounds cannot pay. Set before main() in every test program that
/// includes this file; DefaultBoundsRule gives a test the default back.
namespace {
[[maybe_unused]] const bool bounds_from_second_pass = (lloyd::detail::bounds_follow_cost = false, true);
}

/// The library's default rule for when bounds start (or, with false, the tests' setting)
/// for one scope's duration.
struct DefaultBoundsRule {
  explicit DefaultBoundsRule(bool active = true) noexcept { lloyd::detail::bounds_follow_cost = active; }
  ~DefaultBoundsRule() { lloyd::detail::bounds_follow_cost = false; }
  DefaultBoundsRule(const DefaultBoundsRule&) = delete;
  DefaultBoundsRule& operator=(const DefaultBoundsRule&) = delete;
};

/// True when a and b describe the same partition (equal up to renaming the labels).
inline bool same_partition(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  if (a.size() != b.size()) return false;
  std::map<std::int32_t, std::int32_t> ab, ba;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = ab.emplace(a[i], b[i]);
    auto y = ba.emplace(b[i], a[i]);
    if (x.first->second != b[i] || y.first->second != a[i]) return false;
  }
  return true;
}

/// Largest |A(i,j) - B(i,j)| (shapes must match).
template <class T>
double max_abs_diff(lloyd::MatrixView<const T> A, lloyd::MatrixView<const T> B) {
  double m = 0;
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < A.cols(); ++j)
      m = std::max(m, std::abs(static_cast<double>(A(i, j)) - static_cast<double>(B(i, j))));
  return m;
}

/// Bitwise equality of the logical elements.
template <class T>
bool identical(const lloyd::Matrix<T>& A, const lloyd::Matrix<T>& B) {
  return A == B;
}

/// Weighted inertia of labels/centroids, recomputed with the scalar reference.
template <class T>
double reference_inertia(lloyd::MatrixView<const T> X, lloyd::MatrixView<const T> C,
                         const std::vector<std::int32_t>& labels, const std::vector<T>* w = nullptr) {
  double s = 0;
  for (std::size_t i = 0; i < X.rows(); ++i)
    s += (w ? static_cast<double>((*w)[i]) : 1.0) *
         lloyd::detail::reference_squared_distance(X.row(i), C.row(static_cast<std::size_t>(labels[i])), X.cols());
  return s;
}

/// Relative closeness for sums that were accumulated in different orders.
inline bool close_rel(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)}); }

/// Tolerance for values computed in T.
template <class T>
constexpr double eps_of() {
  return sizeof(T) == 4 ? 1e-5 : 1e-12;
}

}  // namespace lloyd_test
