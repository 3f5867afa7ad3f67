// lloyd-cluster: reading CSV, .npy and raw float32 files; writing outputs atomically.
// SPDX-License-Identifier: MIT
//
// Every reader error is an InputError whose message names the place (line and column,
// or byte offset) and says what was expected; nothing here crashes on malformed input.
#pragma once

#include <lloyd/matrix.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <istream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace lloyd_cli {

/// Malformed or unreadable input (exit code 3).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An output that could not be written (exit code 5).
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Values read from a file, in double (converted to the fit's type later).
struct Table {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;         ///< row-major
  std::vector<std::string> header;    ///< column names, if the CSV had a header
  bool single_precision = false;      ///< the file stored float32 (npy <f4, raw)
};

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
inline Table read_csv(std::istream& in, const std::string& source, CsvOptions opt = {}) {
  Table t;
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
      t.values.push_back(v);
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

/// Reads a NumPy .npy file (format 1.0 to 3.0) holding a C-ordered little-endian float32
/// or float64 array of shape (n, d) or (n,).
inline Table read_npy(std::istream& in, const std::string& source) {
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

  std::string descr = detail::header_field(header, "descr");
  const std::string fortran = detail::header_field(header, "fortran_order");
  const std::string shape_text = detail::header_field(header, "shape");
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (descr.empty() || shape_text.empty() || fortran.empty())
    throw InputError(source + ": .npy header lacks descr, fortran_order or shape: " + detail::trim(header));
  const bool little = descr[0] == '<' || (descr[0] == '=' && detail::little_endian_host());
  std::size_t item = 0;
  if (descr.size() == 3 && descr[1] == 'f' && (descr[2] == '4' || descr[2] == '8') && little)
    item = descr[2] == '4' ? 4 : 8;
  if (!item)
    throw InputError(source + ": .npy dtype '" + descr +
                     "' not supported: need little-endian float32 ('<f4') or float64 ('<f8')");
  if (fortran != "False")
    throw InputError(source + ": Fortran-ordered .npy not supported; save a C-ordered array "
                              "(numpy.ascontiguousarray)");
  // shape: "(n, d)", "(n,)" or "(n, d,)"
  std::vector<std::size_t> dims;
  {
    std::string s = shape_text;
    if (s.size() < 2 || s.front() != '(' || s.back() != ')') throw InputError(source + ": .npy shape '" + s + "' unreadable");
    s = s.substr(1, s.size() - 2);
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ',')) {
      part = detail::trim(part);
      if (part.empty()) continue;
      std::size_t v = 0;
      const auto r = std::from_chars(part.data(), part.data() + part.size(), v);
      if (r.ec != std::errc() || r.ptr != part.data() + part.size())
        throw InputError(source + ": .npy shape '" + shape_text + "' unreadable");
      dims.push_back(v);
    }
  }
  if (dims.size() != 1 && dims.size() != 2)
    throw InputError(source + ": .npy shape " + shape_text + " is not 2-D (rows, features)");
  Table t;
  t.rows = dims[0];
  t.cols = dims.size() == 2 ? dims[1] : 1;
  t.single_precision = item == 4;
  if (t.rows == 0 || t.cols == 0) throw InputError(source + ": .npy shape " + shape_text + " holds no data");
  if (t.cols > std::numeric_limits<std::size_t>::max() / t.rows / item)
    throw InputError(source + ": .npy shape " + shape_text + " is too large");
  const std::size_t count = t.rows * t.cols, bytes = count * item;
  // Read in chunks: a header may claim far more data than the file holds (found by
  // fuzz_readers: a 13 GB allocation for a 150-byte file), so memory grows only with
  // the bytes actually there.
  std::vector<char> raw;
  std::size_t got = 0;
  while (got < bytes && in) {
    const std::size_t chunk = std::min<std::size_t>(bytes - got, std::size_t(1) << 24);
    raw.resize(got + chunk);
    in.read(raw.data() + got, static_cast<std::streamsize>(chunk));
    got += static_cast<std::size_t>(in.gcount());
  }
  if (got != bytes)
    throw InputError(source + ": truncated .npy data: shape " + shape_text + " needs " + std::to_string(bytes) +
                     " bytes, found " + std::to_string(got));
  if (!detail::little_endian_host()) throw InputError(source + ": big-endian hosts are not supported");
  t.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    double v;
    if (item == 4) {
      float f;
      std::memcpy(&f, raw.data() + i * 4, 4);
      v = f;
    } else {
      std::memcpy(&v, raw.data() + i * 8, 8);
    }
    if (!std::isfinite(v))
      throw InputError(source + ": value " + std::to_string(v) + " at row " + std::to_string(i / t.cols) + ", column " +
                       std::to_string(i % t.cols) + " is not finite");
    t.values[i] = v;
  }
  return t;
}

/// Reads raw little-endian float32 values, `dims` per row.
inline Table read_raw_f32(std::istream& in, const std::string& source, std::size_t dims) {
  if (dims == 0) throw InputError(source + ": raw float32 input needs --dims D (features per row)");
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() % (4 * dims) != 0)
    throw InputError(source + ": " + std::to_string(raw.size()) + " bytes is not a whole number of rows of " +
                     std::to_string(dims) + " float32 values");
  Table t;
  t.cols = dims;
  t.rows = raw.size() / (4 * dims);
  t.single_precision = true;
  if (t.rows == 0) throw InputError(source + ": no data");
  t.values.resize(t.rows * dims);
  for (std::size_t i = 0; i < t.values.size(); ++i) {
    float f;
    std::memcpy(&f, raw.data() + 4 * i, 4);
    if (!std::isfinite(f))
      throw InputError(source + ": value " + std::to_string(f) + " at row " + std::to_string(i / dims) + ", column " +
                       std::to_string(i % dims) + " is not finite");
    t.values[i] = f;
  }
  return t;
}

// ---------------------------------------------------------------- outputs

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

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                                                 [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

}  // namespace lloyd_cli
