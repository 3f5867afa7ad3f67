// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

#include <chrono>

namespace lloyd {
namespace detail {

/// Seconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace detail
}  // namespace lloyd
