// The command-line tool's file readers and writers (file_io/), directly: what they
// accept, the place their errors name, and that outputs appear whole or not at all.
#include <catch2/catch.hpp>

#include "../file_io/readers.hpp"
#include "../file_io/writers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using lloyd_io::InputError;
using lloyd_io::OutputError;

lloyd_io::Table<double> csv(const std::string& text, lloyd_io::CsvOptions opt = {}) {
  std::istringstream in(text);
  return lloyd_io::read_csv(in, "t.csv", opt);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

// A scratch file name in the working directory, removed (with its .partial) on exit.
struct Scratch {
  std::string path;
  explicit Scratch(std::string p) : path(std::move(p)) { clean(); }
  ~Scratch() { clean(); }
  void clean() const {
    std::remove(path.c_str());
    std::remove((path + ".partial").c_str());
  }
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("read_csv: header and delimiter detected, comments and blank lines skipped", "[file_io]") {
  const auto t = csv("x;y\r\n# a comment\n\n1;2.5\r\n-3;4e2\n");
  CHECK(t.rows == 2);
  CHECK(t.cols == 2);
  CHECK(t.header == std::vector<std::string>{"x", "y"});
  CHECK(t.values == std::vector<double>{1, 2.5, -3, 400});
  CHECK(t.stored == "float64");

  const auto spaces = csv("1  2   3\n 4 5 6\n");
  CHECK(spaces.cols == 3);
  CHECK(spaces.header.empty());
  CHECK(spaces.values.back() == 6);

  // An all-numeric first line is data unless a header is asked for.
  CHECK(csv("1,2\n3,4\n", {',', 1}).rows == 1);
  CHECK(csv("1,2\n3,4\n", {',', 0}).rows == 2);
}

TEST_CASE("read_csv: errors name the line and column", "[file_io]") {
  CHECK(error_of([] { csv("1,2\n3,abc\n"); }) == "t.csv:2, column 2: 'abc' is not a number");
  CHECK(error_of([] { csv("1,2\n3,4,5\n"); }) == "t.csv:2: 3 columns, expected 2 (as on line 1)");
  CHECK(error_of([] { csv("1,2\n3,\n"); }) == "t.csv:2, column 2: empty cell");
  CHECK(error_of([] { csv("1,2\nnan,4\n"); }) == "t.csv:2, column 1: 'nan' is not a finite number");
  CHECK(error_of([] { csv("a,b\n"); }) == "t.csv: no data rows");
  CHECK(error_of([] { csv(""); }) == "t.csv: no data rows");
}

TEMPLATE_TEST_CASE("write_matrix and read_npy / read_csv round-trip every bit, strided rows included", "[file_io]",
                   float, double) {
  using T = TestType;
  const std::size_t rows = 3, cols = 5, stride = 7;
  std::vector<T> values(rows * stride, T(-99));  // padding that must not be written
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) values[i * stride + j] = T(1) / T(3 + i * cols + j) - T(i);
  for (const char* name : {"file_io_matrix.npy", "file_io_matrix.csv"}) {
    Scratch f(name);
    lloyd_io::write_matrix(f.path, values.data(), rows, cols, stride);
    REQUIRE_FALSE(exists(f.path + ".partial"));
    std::ifstream in(f.path, std::ios::binary);
    const lloyd_io::Table<T> t = lloyd_io::ends_with(f.path, ".npy") ? lloyd_io::read_npy<T>(in, f.path)
                                                                     : lloyd_io::read_csv<T>(in, f.path);
    REQUIRE(t.rows == rows);
    REQUIRE(t.cols == cols);
    if (lloyd_io::ends_with(f.path, ".npy")) CHECK(t.stored == (sizeof(T) == 4 ? "float32" : "float64"));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) CHECK(t.values[i * cols + j] == values[i * stride + j]);
    // open_npy maps a file that stores T (nothing copied) with the same values.
    if (lloyd_io::ends_with(f.path, ".npy")) {
      const auto m = lloyd_io::open_npy<T>(f.path);
      CHECK(m.mapped != nullptr);
      CHECK(m.values.empty());
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) CHECK(m(i, j) == values[i * stride + j]);
    }
  }
}

TEST_CASE("write_labels: text one per line, or a 1-D int32 .npy with a 64-byte aligned header", "[file_io]") {
  const std::vector<std::int32_t> labels{0, 2, 1, 2, 7};
  Scratch txt("file_io_labels.txt");
  lloyd_io::write_labels(txt.path, labels);
  CHECK(slurp(txt.path) == "0\n2\n1\n2\n7\n");

  Scratch npy("file_io_labels.NPY");  // the extension is matched without case
  lloyd_io::write_labels(npy.path, labels);
  const std::string bytes = slurp(npy.path);
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  CHECK((10 + header_len) % 64 == 0);
  const std::string header = bytes.substr(10, header_len);
  CHECK(header.find("'descr': '<i4'") != std::string::npos);
  CHECK(header.find("'shape': (5,)") != std::string::npos);
  REQUIRE(bytes.size() == 10 + header_len + labels.size() * 4);
  std::vector<std::int32_t> back(labels.size());
  std::memcpy(back.data(), bytes.data() + 10 + header_len, back.size() * 4);
  CHECK(back == labels);
}

TEST_CASE("read_npy: truncated or lying files are InputErrors", "[file_io]") {
  Scratch f("file_io_short.npy");
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  lloyd_io::write_matrix(f.path, v.data(), 2, 3, 3);
  const std::string good = slurp(f.path);
  auto read = [](const std::string& bytes) {
    std::istringstream in(bytes);
    return lloyd_io::read_npy(in, "x.npy");
  };
  CHECK(read(good).values == v);
  CHECK(error_of([&] { read(good.substr(0, good.size() - 1)); }).find("x.npy: truncated .npy data") == 0);
  CHECK(error_of([&] { read(good.substr(0, 9)); }) == "x.npy: truncated .npy header");
  CHECK(error_of([&] { read("not numpy at all"); }).find("x.npy: not a .npy file") == 0);
  std::string huge = good;
  const std::size_t at = huge.find("(2, 3)");
  REQUIRE(at != std::string::npos);
  huge.replace(at, 6, "(9, 3)");  // claims more rows than the file holds
  CHECK(error_of([&] { read(huge); }).find("x.npy: truncated .npy data") == 0);
}

TEST_CASE("read_raw_f32: whole rows of --dims values", "[file_io]") {
  const std::vector<float> v{1.5f, -2, 3, 4, 5, 6};
  const std::string bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  std::istringstream in(bytes);
  const auto t = lloyd_io::read_raw_f32(in, "x.f32", 3);
  CHECK(t.rows == 2);
  CHECK(t.stored == "float32");
  CHECK(t.values[0] == 1.5);
  std::istringstream in4(bytes);
  CHECK(error_of([&] { lloyd_io::read_raw_f32(in4, "x.f32", 4); }).find("x.f32: 24 bytes is not a whole number") == 0);
  std::istringstream in0(bytes);
  CHECK(error_of([&] { lloyd_io::read_raw_f32(in0, "x.f32", 0); }).find("needs --dims") != std::string::npos);
}

TEST_CASE("AtomicFile: the file appears on commit only, and replaces the old one whole", "[file_io]") {
  Scratch f("file_io_atomic.txt");
  {
    lloyd_io::AtomicFile a(f.path);
    a.stream() << "first";
    CHECK_FALSE(exists(f.path));  // not before commit
    a.commit();
  }
  CHECK(slurp(f.path) == "first");
  {
    lloyd_io::AtomicFile a(f.path);
    a.stream() << "second, abandoned";
  }  // destroyed without commit: an error happened after it was opened
  CHECK(slurp(f.path) == "first");
  CHECK_FALSE(exists(f.path + ".partial"));
  CHECK_THROWS_AS(lloyd_io::AtomicFile("no-such-directory/x.txt"), OutputError);
}

TEST_CASE("format_from_name", "[file_io]") {
  CHECK(lloyd_io::format_from_name("a.npy") == "npy");
  CHECK(lloyd_io::format_from_name("A.NPY") == "npy");
  CHECK(lloyd_io::format_from_name("a.f32") == "raw");
  CHECK(lloyd_io::format_from_name("a.bin") == "raw");
  CHECK(lloyd_io::format_from_name("a.raw") == "raw");
  CHECK(lloyd_io::format_from_name("a.tsv") == "csv");
  CHECK(lloyd_io::format_from_name("-") == "csv");
}

namespace {

// A .npy file's bytes: version 1.0 header for descr and shape, then `data`.
std::string npy_bytes(const std::string& descr, const std::string& shape, bool fortran, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

template <class V>
std::string bytes_of(const std::vector<V>& v, bool big_endian = false) {
  std::string out;
  for (const V& x : v) {
    char b[sizeof(V)];
    std::memcpy(b, &x, sizeof(V));
    if (big_endian) std::reverse(b, b + sizeof(V));
    out.append(b, sizeof(V));
  }
  return out;
}

template <class T>
lloyd_io::Table<T> npy(const std::string& bytes) {
  std::istringstream in(bytes);
  return lloyd_io::read_npy<T>(in, "x.npy");
}

}  // namespace

TEMPLATE_TEST_CASE("read_npy converts float16, integers, big-endian and Fortran order once, exactly", "[file_io]",
                   float, double) {
  using T = TestType;
  const std::vector<T> expect{1, -2, 3, 4, 0, 100};  // 2 x 3, row-major
  auto check = [&](const lloyd_io::Table<T>& t, const char* stored) {
    CHECK(t.rows == 2);
    CHECK(t.cols == 3);
    CHECK(t.stored == stored);
    CHECK(t.values == expect);
  };
  check(npy<T>(npy_bytes("<i1", "(2, 3)", false, bytes_of<std::int8_t>({1, -2, 3, 4, 0, 100}))), "int8");
  const auto u8 = npy<T>(npy_bytes("|u1", "(2, 3)", false, bytes_of<std::uint8_t>({1, 254, 3, 4, 0, 100})));
  CHECK(u8.stored == "uint8");
  CHECK(u8.values == std::vector<T>{1, 254, 3, 4, 0, 100});
  check(npy<T>(npy_bytes("<i2", "(2, 3)", false, bytes_of<std::int16_t>({1, -2, 3, 4, 0, 100}))), "int16");
  check(npy<T>(npy_bytes("<i4", "(2, 3)", false, bytes_of<std::int32_t>({1, -2, 3, 4, 0, 100}))), "int32");
  check(npy<T>(npy_bytes(">i4", "(2, 3)", false, bytes_of<std::int32_t>({1, -2, 3, 4, 0, 100}, true))), "int32");
  check(npy<T>(npy_bytes(">f8", "(2, 3)", false, bytes_of<double>({1, -2, 3, 4, 0, 100}, true))), "float64");
  check(npy<T>(npy_bytes(">f4", "(2, 3)", false, bytes_of<float>({1, -2, 3, 4, 0, 100}, true))), "float32");
  // Fortran order: the file holds the columns one after another.
  check(npy<T>(npy_bytes("<f8", "(2, 3)", true, bytes_of<double>({1, 4, -2, 0, 3, 100}))), "float64");
  const auto u16 = npy<T>(npy_bytes("<u2", "(2, 3)", true, bytes_of<std::uint16_t>({1, 4, 65535, 0, 3, 100})));
  CHECK(u16.stored == "uint16");
  CHECK(u16.values == std::vector<T>{1, 65535, 3, 4, 0, 100});
  // float16: 1, -2, 3, 4, 0, 100, then the edges: the smallest subnormal, the largest
  // finite value, -0.
  check(npy<T>(npy_bytes("<f2", "(2, 3)", false,
                         bytes_of<std::uint16_t>({0x3c00, 0xc000, 0x4200, 0x4400, 0x0000, 0x5640}))),
        "float16");
  const auto edges = npy<T>(npy_bytes("<f2", "(3,)", false, bytes_of<std::uint16_t>({0x0001, 0x7bff, 0x8000})));
  CHECK(edges.values[0] == T(std::ldexp(1.0, -24)));
  CHECK(edges.values[1] == T(65504));
  CHECK(edges.values[2] == T(0));
  CHECK(std::signbit(edges.values[2]));
  CHECK(error_of([&] { npy<T>(npy_bytes("<f2", "(2,)", false, bytes_of<std::uint16_t>({0x3c00, 0x7c00}))); }) ==
        "x.npy: value inf at row 1, column 0 is not finite");
  CHECK(error_of([&] { npy<T>(npy_bytes(">f2", "(1, 2)", false, bytes_of<std::uint16_t>({0x3c00, 0x7e00}, true))); }) ==
        "x.npy: value nan at row 0, column 1 is not finite");
  CHECK(error_of([&] { npy<T>(npy_bytes("<c8", "(1, 1)", false, std::string(8, '\0'))); })
            .find("x.npy: .npy dtype '<c8' not supported") == 0);
  CHECK(error_of([&] { npy<T>(npy_bytes("<i8", "(1, 1)", false, std::string(8, '\0'))); })
            .find("dtype '<i8' not supported") != std::string::npos);
  CHECK(error_of([&] { npy<T>(npy_bytes("<i2", "(2, 3)", false, std::string(11, '\0'))); }) ==
        "x.npy: truncated .npy data: shape (2, 3) needs 12 bytes, found 11");
}

TEST_CASE("read_npy / read_csv as float32: values float32 cannot hold are errors, not infinities", "[file_io]") {
  CHECK(error_of([] { npy<float>(npy_bytes("<f8", "(1, 2)", false, bytes_of<double>({1, 1e300}))); }) ==
        "x.npy: value " + std::to_string(1e300) + " at row 0, column 1 is out of float32's range (use --float64)");
  CHECK(npy<double>(npy_bytes("<f8", "(1, 2)", false, bytes_of<double>({1, 1e300}))).values[1] == 1e300);
  std::istringstream in("1,2\n3,1e39\n");
  CHECK(error_of([&] { lloyd_io::read_csv<float>(in, "t.csv"); }) ==
        "t.csv:2, column 2: '1e39' is out of float32's range (use --float64)");
}

TEST_CASE("open_npy / open_raw_f32 / open_csv: mapped when the file stores the fit's type, else converted",
          "[file_io]") {
  Scratch f32("file_io_map32.npy"), f64("file_io_map64.npy"), fort("file_io_fortran.npy"), raw("file_io_map.f32"),
      nan("file_io_nan.npy"), cut("file_io_cut.npy"), csv("file_io_open.csv");
  const std::vector<float> v{1.5f, -2, 3, 4, 5, 6.25f};
  auto put = [](const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; };
  put(f32.path, npy_bytes("<f4", "(2, 3)", false, bytes_of(v)));
  put(fort.path, npy_bytes("<f4", "(2, 3)", true, bytes_of<float>({1.5f, 4, -2, 5, 3, 6.25f})));
  put(raw.path, bytes_of(v));
  auto same = [&](const auto& t) {
    REQUIRE(t.rows == 2);
    REQUIRE(t.cols == 3);
    for (std::size_t q = 0; q < v.size(); ++q) CHECK(t.data()[q] == v[q]);
  };
  const auto mapped = lloyd_io::open_npy<float>(f32.path);
  CHECK(mapped.mapped != nullptr);
  same(mapped);
  const auto widened = lloyd_io::open_npy<double>(f32.path);  // float64 fit of float32 data: converted
  CHECK(widened.mapped == nullptr);
  same(widened);
  const auto transposed = lloyd_io::open_npy<float>(fort.path);
  CHECK(transposed.mapped == nullptr);
  same(transposed);
  const auto raw_mapped = lloyd_io::open_raw_f32<float>(raw.path, 3);
  CHECK(raw_mapped.mapped != nullptr);
  same(raw_mapped);
  same(lloyd_io::open_raw_f32<double>(raw.path, 3));
  CHECK(error_of([&] { lloyd_io::open_raw_f32<float>(raw.path, 4); }).find("24 bytes is not a whole number") !=
        std::string::npos);
  put(csv.path, "a;b;c\n1.5;-2;3\n4;5;6.25\n");
  same(lloyd_io::open_csv<float>(csv.path));  // header and delimiter detected
  same(lloyd_io::open_csv<double>(csv.path, {';', 1}));
  CHECK(error_of([&] { lloyd_io::open_csv<float>(csv.path + ".absent"); }).find(": cannot open (") !=
        std::string::npos);

  put(nan.path, npy_bytes("<f4", "(2, 3)", false, bytes_of<float>({1, 2, 3, 4, std::nanf(""), 6})));
  CHECK(error_of([&] { lloyd_io::open_npy<float>(nan.path); }) ==
        nan.path + ": value nan at row 1, column 1 is not finite");
  put(cut.path, npy_bytes("<f4", "(3, 3)", false, bytes_of(v)));  // claims a third row
  CHECK(error_of([&] { lloyd_io::open_npy<float>(cut.path); }) ==
        cut.path + ": truncated .npy data: shape (3, 3) needs 36 bytes, found 24");
  CHECK(error_of([&] { lloyd_io::open_npy<double>(cut.path); }) ==
        cut.path + ": truncated .npy data: shape (3, 3) needs 36 bytes, found 24");
  CHECK(lloyd_io::natural_precision(f32.path, "npy") == 32);
  put(f64.path, npy_bytes("<f8", "(1, 1)", false, bytes_of<double>({1})));
  CHECK(lloyd_io::natural_precision(f64.path, "npy") == 64);
  CHECK(lloyd_io::natural_precision(raw.path, "raw") == 32);
  CHECK(lloyd_io::natural_precision("any.csv", "csv") == 64);
}
