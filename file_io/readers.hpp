// lloyd's file readers: CSV, .npy and raw float32 tables, as used by the command-line
// tool (examples/lloyd-cluster) and fuzzed by tests/fuzz/fuzz_readers.cpp; unit tests in
// tests/test_file_io.cpp. Not part of the library (include/): a tool's component.
// SPDX-License-Identifier: MIT
//
// Every reader error is an InputError whose message names the place (line and column,
// or byte offset) and says what was expected; nothing here crashes on malformed input,
// and memory grows with the bytes actually read, not with what a header claims.
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
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace lloyd_io {

/// Malformed or unreadable input (lloyd-cluster: exit code 3).
class InputError : public std::runtime_error {
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

namespace detail {

// The header dict of a .npy file, after its magic, version and length.
inline std::string read_npy_header(std::istream& in, const std::string& source) {
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
  return header;
}

// Bytes per value of a .npy dtype: 4 or 8 for little-endian float32 / float64.
inline std::size_t npy_item_size(const std::string& descr, const std::string& source) {
  const bool little = descr[0] == '<' || (descr[0] == '=' && little_endian_host());
  if (descr.size() == 3 && descr[1] == 'f' && (descr[2] == '4' || descr[2] == '8') && little)
    return descr[2] == '4' ? 4 : 8;
  throw InputError(source + ": .npy dtype '" + descr +
                   "' not supported: need little-endian float32 ('<f4') or float64 ('<f8')");
}

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

// Up to `bytes` bytes, read in chunks: a header may claim far more data than the file
// holds (found by fuzz_readers: a 13 GB allocation for a 150-byte file), so memory grows
// only with the bytes actually there.
inline std::vector<char> read_at_most(std::istream& in, std::size_t bytes) {
  std::vector<char> raw;
  std::size_t got = 0;
  while (got < bytes && in) {
    const std::size_t chunk = std::min<std::size_t>(bytes - got, std::size_t(1) << 24);
    raw.resize(got + chunk);
    in.read(raw.data() + got, static_cast<std::streamsize>(chunk));
    got += static_cast<std::size_t>(in.gcount());
  }
  raw.resize(got);
  return raw;
}

// Little-endian float32 (item 4) or float64 (item 8) values into t.values, all finite.
inline void decode_finite(const std::vector<char>& raw, std::size_t item, Table& t, const std::string& source) {
  const std::size_t count = t.rows * t.cols;
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
}

}  // namespace detail

/// Reads a NumPy .npy file (format 1.0 to 3.0) holding a C-ordered little-endian float32
/// or float64 array of shape (n, d) or (n,).
inline Table read_npy(std::istream& in, const std::string& source) {
  const std::string header = detail::read_npy_header(in, source);
  std::string descr = detail::header_field(header, "descr");
  const std::string fortran = detail::header_field(header, "fortran_order");
  const std::string shape_text = detail::header_field(header, "shape");
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  if (descr.empty() || shape_text.empty() || fortran.empty())
    throw InputError(source + ": .npy header lacks descr, fortran_order or shape: " + detail::trim(header));
  const std::size_t item = detail::npy_item_size(descr, source);
  if (fortran != "False")
    throw InputError(source + ": Fortran-ordered .npy not supported; save a C-ordered array "
                              "(numpy.ascontiguousarray)");
  const std::vector<std::size_t> dims = detail::npy_shape(shape_text, source);
  if (dims.size() != 1 && dims.size() != 2)
    throw InputError(source + ": .npy shape " + shape_text + " is not 2-D (rows, features)");
  Table t;
  t.rows = dims[0];
  t.cols = dims.size() == 2 ? dims[1] : 1;
  t.single_precision = item == 4;
  if (t.rows == 0 || t.cols == 0) throw InputError(source + ": .npy shape " + shape_text + " holds no data");
  if (t.cols > std::numeric_limits<std::size_t>::max() / t.rows / item)
    throw InputError(source + ": .npy shape " + shape_text + " is too large");
  const std::size_t bytes = t.rows * t.cols * item;
  const std::vector<char> raw = detail::read_at_most(in, bytes);
  if (raw.size() != bytes)
    throw InputError(source + ": truncated .npy data: shape " + shape_text + " needs " + std::to_string(bytes) +
                     " bytes, found " + std::to_string(raw.size()));
  if (!detail::little_endian_host()) throw InputError(source + ": big-endian hosts are not supported");
  detail::decode_finite(raw, item, t, source);
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
  detail::decode_finite(raw, 4, t, source);
  return t;
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
