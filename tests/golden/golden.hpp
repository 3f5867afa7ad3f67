// Golden results: the bit patterns of centroids, labels, inertia, n_iter and converged
// of many fits, hashed, compared with a recorded file. Recorded before the refactoring
// of issue 11 ("One fit pipeline"); a change of any bit in any configuration fails.
//
// Run the binary with `--record FILE` to write a new file (only when a change of results
// is intended, and say why in the commit).
#pragma once

#include <lloyd/lloyd.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace golden {

/// FNV-1a over the bytes of values, in order.
class Hash {
 public:
  template <class V>
  void add(const V& v) {
    unsigned char bytes[sizeof(V)];
    std::memcpy(bytes, &v, sizeof(V));
    for (unsigned char b : bytes) h_ = (h_ ^ b) * 0x100000001b3ull;
  }
  template <class T>
  void add_matrix(lloyd::MatrixView<const T> A) {
    add(static_cast<std::uint64_t>(A.rows()));
    add(static_cast<std::uint64_t>(A.cols()));
    for (std::size_t i = 0; i < A.rows(); ++i)
      for (std::size_t j = 0; j < A.cols(); ++j) add(A(i, j));
  }
  template <class V>
  void add_vector(const std::vector<V>& v) {
    add(static_cast<std::uint64_t>(v.size()));
    for (const V& x : v) add(x);
  }
  std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

template <class T>
std::uint64_t hash_result(lloyd::MatrixView<const T> centroids, const std::vector<std::int32_t>& labels, double inertia,
                          int n_iter, bool converged) {
  Hash h;
  h.add_matrix(centroids);
  h.add_vector(labels);
  h.add(inertia);
  h.add(n_iter);
  h.add(converged);
  return h.value();
}

template <class T>
std::uint64_t hash_result(const lloyd::Result<T>& r) {
  return hash_result<T>(r.centroids, r.labels, r.inertia, r.n_iter, r.converged);
}

/// Configuration name -> hash, compared with (or recorded to) a file of lines "name hex".
class Book {
 public:
  void put(const std::string& name, std::uint64_t h) {
    if (!got_.emplace(name, h).second) {
      std::fprintf(stderr, "golden: configuration %s computed twice\n", name.c_str());
      duplicate_ = true;
    }
  }

  /// Writes the file (record) or compares with it; returns the process exit code.
  int finish(const std::string& path, bool record) const {
    if (duplicate_) return 1;
    if (record) {
      std::ofstream out(path);
      for (const auto& [name, h] : got_) out << name << ' ' << std::hex << h << '\n';
      std::printf("recorded %zu configurations in %s\n", got_.size(), path.c_str());
      return out ? 0 : 1;
    }
    std::map<std::string, std::uint64_t> want;
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "golden: cannot read %s\n", path.c_str());
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream s(line);
      std::string name;
      std::uint64_t h = 0;
      if (s >> name >> std::hex >> h) want[name] = h;
    }
    std::size_t passed = 0, failed = 0;
    for (const auto& [name, h] : want) {
      const auto it = got_.find(name);
      if (it == got_.end()) {
        std::printf("MISSING %s\n", name.c_str());
        ++failed;
      } else if (it->second != h) {
        std::printf("CHANGED %s: recorded %016llx, now %016llx\n", name.c_str(), static_cast<unsigned long long>(h),
                    static_cast<unsigned long long>(it->second));
        ++failed;
      } else {
        ++passed;
      }
    }
    for (const auto& [name, h] : got_)
      if (!want.count(name)) {
        std::printf("NEW %s (not in %s)\n", name.c_str(), path.c_str());
        ++failed;
      }
    std::printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
  }

 private:
  std::map<std::string, std::uint64_t> got_;
  bool duplicate_ = false;
};

}  // namespace golden
