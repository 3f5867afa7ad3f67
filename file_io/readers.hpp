// lloyd's file readers: CSV, .npy and raw float32 tables, as used by the command-line
// tool (examples/lloyd-cluster) and fuzzed by tests/fuzz/fuzz_readers.cpp; unit tests in
// tests/test_file_io.cpp. Not part of the library (include/): a tool's component.
// SPDX-License-Identifier: MIT
//
// Every reader error is an InputError whose message names the place (line and column,
// or byte offset) and says what was expected; nothing here crashes on malformed input,
// and memory grows with the bytes actually read, not with what a header claims.
//
// Values arrive in the fit's type T (float or double), converted once: a .npy or raw
// file that already stores T little-endian in C order is mapped (open_npy, open_raw_f32
// on POSIX systems), not read, so a fit needs no second copy of it; everything else
// (CSV, float16, integers, big-endian, Fortran order, the other float type) is decoded
// in chunks straight into one row-major array of T.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <istream>
#include <iterator>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LLOYD_IO_MMAP 1
#endif

namespace lloyd_io {

/// Malformed or unreadable input (lloyd-cluster: exit code 3).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Values read from a file, row-major, in T (the fit's type): owned (`values`), or a
/// read-only mapping of the file when it already stores T (`mapped`).
template <class T>
struct Table {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<T> values;                ///< row-major, unless the file is mapped
  std::vector<std::string> header;      ///< column names, if the CSV had a header
  std::string stored = "float64";       ///< the file's value type: float16/32/64, int8/16/32, uint8/16
  std::shared_ptr<const void> mapping;  ///< keeps a mapped file mapped
  const T* mapped = nullptr;            ///< the first value in the mapping, if mapped

  const T* data() const { return mapped ? mapped : values.data(); }
  T operator()(std::size_t i, std::size_t j) const { return data()[i * cols + j]; }
};

namespace detail {

inline const char* type_name(float) { return "float32"; }
inline const char* type_name(double) { return "float64"; }

// Whether the finite double v converts to T without overflow (checked before the
// conversion: a double beyond T's range converted to T is undefined behaviour).
template <class T>
bool fits(double v) {
  return std::abs(v) <= static_cast<double>(std::numeric_limits<T>::max());
}

// v as T, or an InputError when it is not finite or T cannot hold it.
template <class T>
T finite_as(double v, const std::string& source, std::size_t i, std::size_t j) {
  if (!std::isfinite(v))
    throw InputError(source + ": value " + std::to_string(v) + " at row " + std::to_string(i) + ", column " +
                     std::to_string(j) + " is not finite");
  if (!fits<T>(v))
    throw InputError(source + ": value " + std::to_string(v) + " at row " + std::to_string(i) + ", column " +
                     std::to_string(j) + " is out of " + type_name(T()) + "'s range (use --float64)");
  return static_cast<T>(v);
}

}  // namespace detail

// ---------------------------------------------------------------- CSV

struct CsvOptions {
  char delimiter = 0;  ///< 0: detect from the first line; ' ' means runs of blanks
  int header = -1;     ///< -1: detect (first line not all numbers), 0: none, 1: yes
};

namespace detail {

inline std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

inline std::vector<std::string> split(const std::string& line, char delimiter) {
  std::vector<std::string> cells;
  if (delimiter == ' ') {  // runs of blanks separate
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i >= line.size()) break;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      cells.push_back(line.substr(i, j - i));
      i = j;
    }
    return cells;
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = line.find(delimiter, start);
    cells.push_back(trim(line.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return cells;
}

enum class Cell { Number, NotNumber, NotFinite, Empty };

// Parses a whole cell as a number (locale-independent); a leading '+' is accepted.
inline Cell parse_cell(const std::string& cell, double& value) {
  if (cell.empty()) return Cell::Empty;
  const char* b = cell.data();
  const char* e = b + cell.size();
  if (*b == '+') ++b;
  if (b == e) return Cell::NotNumber;
  const auto res = std::from_chars(b, e, value);
  if (res.ec == std::errc::result_out_of_range) return Cell::NotFinite;
  if (res.ec != std::errc() || res.ptr != e) return Cell::NotNumber;
  return std::isfinite(value) ? Cell::Number : Cell::NotFinite;
}

inline char detect_delimiter(const std::string& line) {
  const char candidates[] = {',', '\t', ';', '|'};
  char best = 0;
  std::size_t best_count = 0;
  for (char c : candidates) {
    const std::size_t count = static_cast<std::size_t>(std::count(line.begin(), line.end(), c));
    if (count > best_count) {
      best = c;
      best_count = count;
    }
  }
  return best ? best : ' ';
}

}  // namespace detail

/// Reads a CSV table: optional header, delimiter detected or given, numbers only.
/// Blank lines and lines starting with '#' are skipped; CRLF line ends are fine.
template <class T = double>
Table<T> read_csv(std::istream& in, const std::string& source, CsvOptions opt = {}) {
  Table<T> t;
  std::string line;
  std::size_t line_no = 0;
  bool first = true;
  std::size_t first_line = 0;  // the line that fixed the column count
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string stripped = detail::trim(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    if (first) {
      if (!opt.delimiter) opt.delimiter = detail::detect_delimiter(stripped);
    }
    const auto cells = detail::split(opt.delimiter == ' ' ? stripped : line, opt.delimiter);
    if (first) {
      first = false;
      first_line = line_no;
      bool numeric = true;
      double v;
      for (const auto& c : cells) numeric = numeric && detail::parse_cell(c, v) == detail::Cell::Number;
      const bool is_header = opt.header == 1 || (opt.header == -1 && !numeric);
      t.cols = cells.size();
      if (is_header) {
        t.header = cells;
        continue;
      }
    }
    if (cells.size() != t.cols)
      throw InputError(source + ":" + std::to_string(line_no) + ": " + std::to_string(cells.size()) +
                       " columns, expected " + std::to_string(t.cols) + " (as on line " + std::to_string(first_line) + ")");
    for (std::size_t c = 0; c < cells.size(); ++c) {
      double v = 0;
      const auto kind = detail::parse_cell(cells[c], v);
      const std::string where = source + ":" + std::to_string(line_no) + ", column " + std::to_string(c + 1) + ": ";
      if (kind == detail::Cell::Empty) throw InputError(where + "empty cell");
      if (kind == detail::Cell::NotNumber) throw InputError(where + "'" + cells[c] + "' is not a number");
      if (kind == detail::Cell::NotFinite) throw InputError(where + "'" + cells[c] + "' is not a finite number");
      if (!detail::fits<T>(v))
        throw InputError(where + "'" + cells[c] + "' is out of " + detail::type_name(T()) + "'s range (use --float64)");
      t.values.push_back(static_cast<T>(v));
    }
    ++t.rows;
  }
  if (in.bad()) throw InputError(source + ": read error");
  if (t.rows == 0) throw InputError(source + ": no data rows");
  return t;
}

// ---------------------------------------------------------------- NPY

namespace detail {

inline bool little_endian_host() {
  const std::uint16_t x = 1;
  unsigned char b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

// The value of 'key' in a .npy header dict (the text up to the next ',' or '}' that is
// not inside parentheses), or "" when absent.
inline std::string header_field(const std::string& h, const std::string& key) {
  const std::size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return "";
  std::size_t colon = h.find(':', k);
  if (colon == std::string::npos) return "";
  std::size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  int depth = 0;
  std::size_t j = i;
  for (; j < h.size(); ++j) {
    if (h[j] == '(') ++depth;
    if (h[j] == ')') --depth;
    if (depth == 0 && (h[j] == ',' || h[j] == '}')) break;
    if (depth < 0) break;
  }
  return trim(h.substr(i, j - i + (j < h.size() && h[j] == ')' ? 1 : 0)));
}

}  // namespace detail

namespace detail {

// The sizes of a .npy shape: "(n, d)", "(n,)" or "(n, d,)".
inline std::vector<std::size_t> npy_shape(const std::string& shape_text, const std::string& source) {
  std::string s = shape_text;
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') throw InputError(source + ": .npy shape '" + s + "' unreadable");
  std::stringstream ss(s.substr(1, s.size() - 2));
  std::vector<std::size_t> dims;
  std::string part;
  while (std::getline(ss, part, ',')) {
    part = trim(part);
    if (part.empty()) continue;
    std::size_t v = 0;
    const auto r = std::from_chars(part.data(), part.data() + part.size(), v);
    if (r.ec != std::errc() || r.ptr != part.data() + part.size())
      throw InputError(source + ": .npy shape '" + shape_text + "' unreadable");
    dims.push_back(v);
  }
  return dims;
}

// Half-precision bits as float (exact; infinities and NaN come out as such).
inline float half_to_float(std::uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float v;
  if (exponent == 0x1f)
    v = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else if (exponent == 0)
    v = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal (or zero)
  else
    v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return sign ? -v : v;
}

}  // namespace detail

/// What a .npy header says: the stored type, the shape and where the data start.
struct NpyLayout {
  std::string descr;       ///< as in the header, e.g. "<f4"
  char kind = 'f';         ///< 'f' float, 'i' signed, 'u' unsigned integer
  std::size_t item = 8;    ///< bytes per value
  bool swap = false;       ///< stored in the other byte order than this machine's
  bool fortran = false;    ///< column-major
  std::size_t rows = 0, cols = 0;
  std::string shape_text;  ///< as in the header, for messages
  std::uint64_t data_offset = 0;  ///< bytes before the first value

  /// The stored type in words ("float16", "int8", ...).
  std::string type_name() const {
    return (kind == 'f' ? "float" : kind == 'i' ? "int" : "uint") + std::to_string(8 * item);
  }
  std::size_t data_bytes() const { return rows * cols * item; }
};

/// Reads and checks a .npy header (format 1.0 to 3.0): a 1-D or 2-D array of float16/32/64,
/// int8/16/32 or uint8/16, either byte order, C or Fortran order.
inline NpyLayout read_npy_layout(std::istream& in, const std::string& source) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw InputError(source + ": not a .npy file (missing \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3)
    throw InputError(source + ": .npy format version " + std::to_string(major) + "." +
                     std::to_string(static_cast<unsigned char>(magic[7])) + " not supported (1.0 to 3.0)");
  std::uint32_t header_len = 0;
  unsigned char len_bytes[4] = {0, 0, 0, 0};
  const int len_size = major == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(len_bytes), len_size)) throw InputError(source + ": truncated .npy header");
  for (int b = len_size - 1; b >= 0; --b) header_len = (header_len << 8) | len_bytes[b];
  if (header_len > (1u << 24)) throw InputError(source + ": .npy header length " + std::to_string(header_len) + " is implausible");
  std::string header(header_len, '\0');
  if (!in.read(&header[0], static_cast<std::streamsize>(header_len))) throw InputError(source + ": truncated .npy header");

  NpyLayout L;
  L.data_offset = 8 + static_cast<std::uint64_t>(len_size) + header_len;
  std::string descr = detail::header_field(header, "descr");
  const std::string fortran = detail::header_field(header, "fortran_order");
  L.shape_text = detail::header_field(header, "shape");
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (descr.empty() || L.shape_text.empty() || fortran.empty())
    throw InputError(source + ": .npy header lacks descr, fortran_order or shape: " + detail::trim(header));
  L.descr = descr;
  const bool known = descr.size() == 3 && std::string("<>=|").find(descr[0]) != std::string::npos &&
                     ((descr[1] == 'f' && (descr[2] == '2' || descr[2] == '4' || descr[2] == '8')) ||
                      (descr[1] == 'i' && (descr[2] == '1' || descr[2] == '2' || descr[2] == '4')) ||
                      (descr[1] == 'u' && (descr[2] == '1' || descr[2] == '2')));
  if (!known)
    throw InputError(source + ": .npy dtype '" + descr +
                     "' not supported: need float16/32/64, int8/16/32 or uint8/16 (either byte order)");
  L.kind = descr[1];
  L.item = static_cast<std::size_t>(descr[2] - '0');
  const bool big = descr[0] == '>';
  const bool little = descr[0] == '<';
  L.swap = L.item > 1 && ((big && detail::little_endian_host()) || (little && !detail::little_endian_host()));
  if (fortran != "False" && fortran != "True")
    throw InputError(source + ": .npy fortran_order '" + fortran + "' unreadable");
  L.fortran = fortran == "True";
  const std::vector<std::size_t> dims = detail::npy_shape(L.shape_text, source);
  if (dims.size() != 1 && dims.size() != 2)
    throw InputError(source + ": .npy shape " + L.shape_text + " is not 2-D (rows, features)");
  L.rows = dims[0];
  L.cols = dims.size() == 2 ? dims[1] : 1;
  if (L.rows == 0 || L.cols == 0) throw InputError(source + ": .npy shape " + L.shape_text + " holds no data");
  if (L.cols > std::numeric_limits<std::size_t>::max() / L.rows / L.item)
    throw InputError(source + ": .npy shape " + L.shape_text + " is too large");
  return L;
}

namespace detail {

// One stored value (item bytes at p, in the layout's type and byte order) as double.
inline double decode_value(const unsigned char* p, const NpyLayout& L) {
  unsigned char b[8];
  for (std::size_t i = 0; i < L.item; ++i) b[i] = L.swap ? p[L.item - 1 - i] : p[i];
  switch (L.kind) {
    case 'f': {
      if (L.item == 2) {
        std::uint16_t h;
        std::memcpy(&h, b, 2);
        return half_to_float(h);
      }
      if (L.item == 4) {
        float f;
        std::memcpy(&f, b, 4);
        return f;
      }
      double v;
      std::memcpy(&v, b, 8);
      return v;
    }
    case 'i': {
      if (L.item == 1) return static_cast<std::int8_t>(b[0]);
      if (L.item == 2) {
        std::int16_t v;
        std::memcpy(&v, b, 2);
        return v;
      }
      std::int32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    default: {
      if (L.item == 1) return b[0];
      std::uint16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
  }
}

// The error for data that end early.
inline InputError truncated(const std::string& source, const NpyLayout& L, std::size_t found) {
  return InputError(source + ": truncated .npy data: shape " + L.shape_text + " needs " + std::to_string(L.data_bytes()) +
                    " bytes, found " + std::to_string(found));
}

// Bytes left in a seekable stream from its position, or -1 when it cannot tell.
inline long long bytes_left(std::istream& in) {
  const auto here = in.tellg();
  if (here < 0) return -1;
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  in.seekg(here);
  return end < 0 ? -1 : static_cast<long long>(end - here);
}

}  // namespace detail

/// The values of a .npy array whose header L has been read from `in`, decoded in chunks
/// into a row-major Table<T> (Fortran order transposed on the way), all finite. Memory
/// grows with the bytes actually there, not with what the header claims.
template <class T>
Table<T> read_npy_data(std::istream& in, const NpyLayout& L, const std::string& source) {
  Table<T> t;
  t.rows = L.rows;
  t.cols = L.cols;
  t.stored = L.type_name();
  const std::size_t count = L.rows * L.cols;
  const long long left = detail::bytes_left(in);
  if (left >= 0 && static_cast<unsigned long long>(left) < L.data_bytes())
    throw detail::truncated(source, L, static_cast<std::size_t>(left));
  // Known to be there: sized at once; else grown as the chunks arrive.
  if (left >= 0) t.values.resize(count);
  std::vector<unsigned char> buf;
  std::size_t done = 0;  // values decoded
  while (done < count) {
    const std::size_t chunk = std::min<std::size_t>(count - done, std::size_t(1) << 18);
    buf.resize(chunk * L.item);
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    const std::size_t got = static_cast<std::size_t>(in.gcount()) / L.item;
    if (t.values.size() < done + got) t.values.resize(done + got);
    for (std::size_t q = 0; q < got; ++q) {
      const std::size_t e = done + q;  // index in file order
      const std::size_t i = L.fortran ? e % L.rows : e / L.cols, j = L.fortran ? e / L.rows : e % L.cols;
      t.values[i * L.cols + j] = detail::finite_as<T>(detail::decode_value(&buf[q * L.item], L), source, i, j);
    }
    done += got;
    if (got < chunk) throw detail::truncated(source, L, static_cast<std::size_t>(in.gcount()) + (done - got) * L.item);
  }
  return t;
}

/// Reads a NumPy .npy file (format 1.0 to 3.0) of shape (n, d) or (n,): float16/32/64,
/// int8/16/32 or uint8/16, either byte order, C or Fortran order, converted to T.
template <class T = double>
Table<T> read_npy(std::istream& in, const std::string& source) {
  const NpyLayout L = read_npy_layout(in, source);
  return read_npy_data<T>(in, L, source);
}

/// Reads raw little-endian float32 values, `dims` per row, as T.
template <class T = double>
Table<T> read_raw_f32(std::istream& in, const std::string& source, std::size_t dims) {
  if (dims == 0) throw InputError(source + ": raw float32 input needs --dims D (features per row)");
  const long long left = detail::bytes_left(in);
  NpyLayout L;  // the raw file as a header-less .npy
  L.kind = 'f';
  L.item = 4;
  L.swap = !detail::little_endian_host();
  L.cols = dims;
  std::vector<char> raw;
  if (left < 0) {  // not seekable: read it all to learn the size
    raw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t size = left < 0 ? raw.size() : static_cast<std::size_t>(left);
  if (size % (4 * dims) != 0)
    throw InputError(source + ": " + std::to_string(size) + " bytes is not a whole number of rows of " +
                     std::to_string(dims) + " float32 values");
  L.rows = size / (4 * dims);
  if (L.rows == 0) throw InputError(source + ": no data");
  L.shape_text = "(" + std::to_string(L.rows) + ", " + std::to_string(dims) + ")";
  if (left < 0) {
    std::istringstream again(std::string(raw.begin(), raw.end()));
    return read_npy_data<T>(again, L, source);
  }
  return read_npy_data<T>(in, L, source);
}

namespace detail {

// Checks that every mapped value is finite (the readers' promise).
template <class T>
void check_finite(const T* v, std::size_t rows, std::size_t cols, const std::string& source) {
  const std::size_t count = rows * cols;
  for (std::size_t b = 0; b < count; b += 4096) {
    const std::size_t e = std::min(count, b + 4096);
    bool ok = true;
    for (std::size_t q = b; q < e; ++q) ok &= std::isfinite(v[q]);
    if (ok) continue;
    for (std::size_t q = b; q < e; ++q)
      if (!std::isfinite(v[q]))
        throw InputError(source + ": value " + std::to_string(double(v[q])) + " at row " + std::to_string(q / cols) +
                         ", column " + std::to_string(q % cols) + " is not finite");
  }
}

// The whole file at `path` mapped read-only, or null where mapping is not available or
// fails (the caller then reads the file instead). size: the file's size.
inline std::shared_ptr<const void> map_file(const std::string& path, std::size_t& size) {
#ifdef LLOYD_IO_MMAP
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    return nullptr;
  }
  size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping stays valid
  if (p == MAP_FAILED) return nullptr;
  const std::size_t length = size;
  return std::shared_ptr<const void>(p, [length](const void* q) { ::munmap(const_cast<void*>(q), length); });
#else
  (void)path;
  size = 0;
  return nullptr;
#endif
}

// A Table<T> over the file's bytes from `offset` (rows x cols values of T, stored as T
// in this machine's byte order), or an empty Table when the file cannot be mapped.
template <class T>
Table<T> mapped_table(const std::string& path, std::uint64_t offset, std::size_t rows, std::size_t cols,
                      const std::string& source, const NpyLayout& L) {
  Table<T> t;
  if (offset % alignof(T) != 0) return t;
  std::size_t size = 0;
  auto map = map_file(path, size);
  if (!map) return t;
  if (size < offset || size - offset < rows * cols * sizeof(T)) throw truncated(source, L, size < offset ? 0 : size - offset);
  t.rows = rows;
  t.cols = cols;
  t.stored = type_name(T());
  t.mapped = reinterpret_cast<const T*>(static_cast<const char*>(map.get()) + offset);
  t.mapping = std::move(map);
  check_finite(t.mapped, rows, cols, source);
  return t;
}

inline std::ifstream open_input(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
  return in;
}

}  // namespace detail

/// The .npy file at `path` as T: mapped when it stores T in this machine's byte order and
/// C order (no copy), else read and converted once (read_npy).
template <class T>
Table<T> open_npy(const std::string& path) {
  std::ifstream in = detail::open_input(path);
  const NpyLayout L = read_npy_layout(in, path);
  if (L.kind == 'f' && L.item == sizeof(T) && !L.swap && !L.fortran) {
    Table<T> t = detail::mapped_table<T>(path, L.data_offset, L.rows, L.cols, path, L);
    if (t.mapped) return t;
  }
  return read_npy_data<T>(in, L, path);
}

/// The CSV file at `path` as T (read_csv).
template <class T>
Table<T> open_csv(const std::string& path, CsvOptions opt = {}) {
  std::ifstream in = detail::open_input(path);
  return read_csv<T>(in, path, opt);
}

/// The raw float32 file at `path` (dims values per row) as T: mapped for T = float on a
/// little-endian machine, else read and converted.
template <class T>
Table<T> open_raw_f32(const std::string& path, std::size_t dims) {
  std::ifstream in = detail::open_input(path);
  if (std::is_same<T, float>::value && dims > 0 && detail::little_endian_host()) {
    const long long size = detail::bytes_left(in);
    if (size > 0 && static_cast<unsigned long long>(size) % (4 * dims) == 0) {
      NpyLayout L;
      L.rows = static_cast<std::size_t>(size) / (4 * dims);
      L.cols = dims;
      L.item = 4;
      Table<T> t = detail::mapped_table<T>(path, 0, L.rows, dims, path, L);
      if (t.mapped) return t;
    }
  }
  return read_raw_f32<T>(in, path, dims);
}

/// The precision a file's values call for when the user does not choose: 32 for a .npy
/// of anything but float64 and for raw float32, 64 for float64 .npy and for CSV.
inline int natural_precision(const std::string& path, const std::string& format) {
  if (format == "raw") return 32;
  if (format != "npy" || path == "-") return 64;
  std::ifstream in = detail::open_input(path);
  const NpyLayout L = read_npy_layout(in, path);
  return L.kind == 'f' && L.item == 8 ? 64 : 32;
}

// ---------------------------------------------------------------- file names

/// Whether s ends with suffix, ignoring ASCII case.
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                                                 [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}


/// The format a file name implies: "npy" for .npy, "raw" for .f32/.bin/.raw, else "csv"
/// (also for "-", standard input).
inline std::string format_from_name(const std::string& path) {
  if (ends_with(path, ".npy")) return "npy";
  if (ends_with(path, ".f32") || ends_with(path, ".bin") || ends_with(path, ".raw")) return "raw";
  return "csv";
}

}  // namespace lloyd_io
