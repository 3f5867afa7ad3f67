// lloyd's file writers: outputs written whole or not at all (AtomicFile), .npy headers,
// labels and matrices as text or .npy; used by the command-line tool
// (examples/lloyd-cluster), unit-tested in tests/test_file_io.cpp.
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "readers.hpp"  // ends_with

namespace lloyd_io {

/// An output that could not be written (lloyd-cluster: exit code 5).
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file written under a temporary name and renamed into place by commit(): a reader
/// never sees a partial output, and a failed run leaves none behind.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".partial") {
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw OutputError(path_ + ": cannot write (" + std::strerror(errno) + ")");
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (!committed_) {
      out_.close();
      std::remove(tmp_.c_str());
    }
  }
  std::ostream& stream() { return out_; }
  void commit() {
    out_.flush();
    if (!out_) throw OutputError(path_ + ": write failed");
    out_.close();
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      std::remove(tmp_.c_str());
      throw OutputError(path_ + ": cannot move into place (" + why + ")");
    }
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

/// Writes a .npy (format 1.0) header for a C-ordered array of the given dtype and shape.
inline void write_npy_header(std::ostream& out, const char* descr, const std::vector<std::size_t>& shape) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  if (shape.size() == 1) dict.erase(dict.size() - 1);  // "(n,)"
  dict += "), }";
  const std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(dict.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out << dict;
}

/// Labels to path: a .npy of int32 when the name ends in .npy, else text, one per line.
inline void write_labels(const std::string& path, const std::vector<std::int32_t>& labels) {
  AtomicFile f(path);
  if (ends_with(path, ".npy")) {
    write_npy_header(f.stream(), "<i4", {labels.size()});
    f.stream().write(reinterpret_cast<const char*>(labels.data()),
                     static_cast<std::streamsize>(labels.size() * sizeof(std::int32_t)));
  } else {
    for (std::int32_t l : labels) f.stream() << l << '\n';
  }
  f.commit();
}

/// A rows x cols row-major matrix of float or double, rows `stride` values apart, to path:
/// .npy (<f4 or <f8) when the name ends in .npy, else CSV with every value printed so
/// that it reads back exactly.
template <class T>
void write_matrix(const std::string& path, const T* values, std::size_t rows, std::size_t cols, std::size_t stride) {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "float or double");
  AtomicFile f(path);
  if (ends_with(path, ".npy")) {
    write_npy_header(f.stream(), sizeof(T) == 4 ? "<f4" : "<f8", {rows, cols});
    for (std::size_t i = 0; i < rows; ++i)
      f.stream().write(reinterpret_cast<const char*>(values + i * stride), static_cast<std::streamsize>(cols * sizeof(T)));
  } else {
    char buf[64];
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < cols; ++j) {
        std::snprintf(buf, sizeof buf, sizeof(T) == 4 ? "%.9g" : "%.17g", static_cast<double>(values[i * stride + j]));
        f.stream() << (j ? "," : "") << buf;
      }
      f.stream() << '\n';
    }
  }
  f.commit();
}

}  // namespace lloyd_io
