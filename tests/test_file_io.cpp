// The command-line tool's file readers and writers (file_io/), directly: what they
// accept, the place their errors name, and that outputs appear whole or not at all.
#include <catch2/catch.hpp>

#include "../file_io/readers.hpp"
#include "../file_io/writers.hpp"

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

lloyd_io::Table csv(const std::string& text, lloyd_io::CsvOptions opt = {}) {
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
  CHECK_FALSE(t.single_precision);

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
    const lloyd_io::Table t = lloyd_io::ends_with(f.path, ".npy") ? lloyd_io::read_npy(in, f.path)
                                                                  : lloyd_io::read_csv(in, f.path);
    REQUIRE(t.rows == rows);
    REQUIRE(t.cols == cols);
    if (lloyd_io::ends_with(f.path, ".npy")) CHECK(t.single_precision == (sizeof(T) == 4));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) CHECK(static_cast<T>(t.values[i * cols + j]) == values[i * stride + j]);
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
  CHECK(t.single_precision);
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
