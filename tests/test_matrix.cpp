#include <catch2/catch.hpp>
#include <lloyd/matrix.hpp>

#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

using lloyd::Matrix;
using lloyd::MatrixView;

TEMPLATE_TEST_CASE("Matrix is zero-filled with 64-byte aligned, padded rows", "[matrix]", float, double) {
  for (std::size_t cols : {1u, 3u, 16u, 17u, 129u}) {
    Matrix<TestType> m(5, cols);
    REQUIRE(m.rows() == 5);
    REQUIRE(m.cols() == cols);
    REQUIRE(m.stride() >= cols);
    REQUIRE((m.stride() * sizeof(TestType)) % 64 == 0);
    for (std::size_t i = 0; i < m.rows(); ++i) {
      REQUIRE(reinterpret_cast<std::uintptr_t>(m.row(i)) % 64 == 0);
      for (std::size_t j = 0; j < m.stride(); ++j) REQUIRE(m.data()[i * m.stride() + j] == TestType(0));
    }
  }
}

TEMPLATE_TEST_CASE("Matrix copies deeply and moves out", "[matrix]", float, double) {
  Matrix<TestType> a{{1, 2, 3}, {4, 5, 6}};
  Matrix<TestType> b = a;
  b(1, 2) = 60;
  REQUIRE(a(1, 2) == 6);
  REQUIRE(b(1, 2) == 60);
  REQUIRE(a != b);
  Matrix<TestType> c = std::move(b);
  REQUIRE(c(1, 2) == 60);
  REQUIRE(b.rows() == 0);  // NOLINT(bugprone-use-after-move): documented state
  REQUIRE(b.cols() == 0);
  b = c;
  REQUIRE(b == c);
  Matrix<TestType> filled(2, 3, TestType(7));
  REQUIRE(filled(1, 2) == 7);
}

TEMPLATE_TEST_CASE("MatrixView borrows the caller's memory with any stride", "[matrix]", float, double) {
  std::vector<TestType> buf(4 * 5);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<TestType>(i);
  MatrixView<const TestType> packed(buf.data(), 5, 4);
  REQUIRE(packed.rows() == 5);
  REQUIRE(packed.cols() == 4);
  REQUIRE(packed.stride() == 4);
  REQUIRE(packed(2, 3) == 11);
  REQUIRE(packed.row(3) == buf.data() + 12);

  MatrixView<const TestType> strided(buf.data(), 4, 3, 5);  // 3 of every 5 values
  REQUIRE(strided(1, 0) == 5);
  REQUIRE(strided(3, 2) == 17);

  MatrixView<TestType> writable(buf.data(), 5, 4);
  writable(0, 0) = 42;
  REQUIRE(buf[0] == 42);
  MatrixView<const TestType> ro = writable;  // mutable -> const conversion
  REQUIRE(ro(0, 0) == 42);

  auto sub = packed.rows_range(1, 2);
  REQUIRE(sub.rows() == 2);
  REQUIRE(sub(0, 0) == 4);
  REQUIRE_THROWS_AS(packed.rows_range(4, 2), std::out_of_range);
  REQUIRE_THROWS_AS(MatrixView<const TestType>(buf.data(), 2, 5, 4), std::invalid_argument);
  REQUIRE_THROWS_AS(MatrixView<const TestType>(nullptr, 2, 2), std::invalid_argument);
}

TEMPLATE_TEST_CASE("Matrix converts to views and copies from them", "[matrix]", float, double) {
  Matrix<TestType> m{{1, 2}, {3, 4}, {5, 6}};
  MatrixView<const TestType> v = m;
  REQUIRE(v.data() == m.data());
  REQUIRE(v.stride() == m.stride());
  REQUIRE(v(2, 1) == 6);
  Matrix<TestType> copy(v);
  REQUIRE(copy == m);
  REQUIRE(copy.data() != m.data());
  static_assert(!std::is_convertible<MatrixView<const TestType>, MatrixView<TestType>>::value,
                "a const view must not become a mutable one");
}

TEST_CASE("Matrix rejects ragged initialiser lists", "[matrix]") {
  REQUIRE_THROWS_AS((Matrix<float>{{1, 2}, {3}}), std::invalid_argument);
}
