// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/aligned.hpp"

namespace lloyd {

/// Borrowed row-major matrix: a pointer, a shape and a row stride (in elements).
///
/// `MatrixView<const T>` reads the caller's memory without copying it (a std::vector,
/// an Eigen map, a NumPy buffer); `MatrixView<T>` may also write to it. The caller keeps
/// the memory alive while the view is used. Indexing is unchecked, as with std::vector's
/// operator[]; the constructor checks the shape.
template <class T>
class MatrixView {
 public:
  using value_type = std::remove_const_t<T>;  ///< element type without const
  using pointer = T*;                         ///< pointer to an element
  using reference = T&;                       ///< reference to an element

  /// An empty view (0 x 0).
  constexpr MatrixView() noexcept = default;

  /// View of `rows` x `cols` elements, rows `stride` elements apart (default: packed rows).
  MatrixView(T* data, std::size_t rows, std::size_t cols, std::size_t stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {
    if (stride < cols)
      throw std::invalid_argument("lloyd::MatrixView: stride=" + std::to_string(stride) +
                                  " is smaller than cols=" + std::to_string(cols));
    if (data == nullptr && rows != 0 && cols != 0)
      throw std::invalid_argument("lloyd::MatrixView: data is null for a " + std::to_string(rows) + " x " +
                                  std::to_string(cols) + " view");
  }
  MatrixView(T* data, std::size_t rows, std::size_t cols) : MatrixView(data, rows, cols, cols) {}

  /// A view of mutable elements converts to a view of const elements.
  template <class U, class = std::enable_if_t<std::is_same<const U, T>::value && !std::is_same<U, T>::value>>
  constexpr MatrixView(const MatrixView<U>& other) noexcept
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  /// Number of rows.
  constexpr std::size_t rows() const noexcept { return rows_; }
  /// Number of columns (features).
  constexpr std::size_t cols() const noexcept { return cols_; }
  /// Distance between the starts of consecutive rows, in elements (>= cols()).
  constexpr std::size_t stride() const noexcept { return stride_; }
  /// Number of elements, rows() * cols().
  constexpr std::size_t size() const noexcept { return rows_ * cols_; }
  /// True when there are no rows or no columns.
  constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  /// Pointer to element (0, 0).
  constexpr T* data() const noexcept { return data_; }

  /// Pointer to the first element of row i (unchecked).
  constexpr T* row(std::size_t i) const noexcept { return data_ + i * stride_; }
  /// Element (i, j) (unchecked).
  constexpr T& operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * stride_ + j]; }

  /// Rows [first, first + count) as a view (checked).
  MatrixView rows_range(std::size_t first, std::size_t count) const {
    if (first > rows_ || count > rows_ - first)
      throw std::out_of_range("lloyd::MatrixView::rows_range: rows [" + std::to_string(first) + ", " +
                              std::to_string(first + count) + ") outside 0.." + std::to_string(rows_));
    return MatrixView(count == 0 ? data_ : row(first), count, cols_, stride_);
  }

 private:
  T* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t stride_ = 0;
};

/// Owning row-major matrix with 64-byte aligned rows.
///
/// The row stride is cols() rounded up to a whole number of 64-byte cache lines, so
/// every row starts on a cache line and SIMD loads of a row never split one; the
/// padding elements are zero. Copyable and movable; converts to MatrixView.
template <class T>
class Matrix {
  static_assert(std::is_arithmetic<T>::value && !std::is_const<T>::value, "Matrix<T> needs an arithmetic T");

 public:
  using value_type = T;  ///< element type

  /// Elements per 64-byte line: the stride is a multiple of this.
  static constexpr std::size_t row_alignment = detail::alignment_bytes / sizeof(T) > 0 ? detail::alignment_bytes / sizeof(T) : 1;

  /// An empty 0 x 0 matrix.
  Matrix() = default;

  /// A rows x cols matrix of zeros.
  Matrix(std::size_t rows, std::size_t cols) : rows_(rows), cols_(cols), stride_(padded_stride(cols)) {
    if (rows != 0 && stride_ > max_elements() / rows)
      throw std::length_error("lloyd::Matrix: " + std::to_string(rows) + " x " + std::to_string(cols) + " is too large");
    storage_.assign(rows * stride_, T(0));
  }

  /// A rows x cols matrix with every element equal to `value`.
  Matrix(std::size_t rows, std::size_t cols, T value) : Matrix(rows, cols) {
    for (std::size_t i = 0; i < rows_; ++i) std::fill_n(row(i), cols_, value);
  }

  /// From nested lists, one per row: Matrix<float>{{1, 2}, {3, 4}}. Rows must have equal length.
  Matrix(std::initializer_list<std::initializer_list<T>> rows)
      : Matrix(rows.size(), rows.size() == 0 ? 0 : rows.begin()->size()) {
    std::size_t i = 0;
    for (const auto& r : rows) {
      if (r.size() != cols_)
        throw std::invalid_argument("lloyd::Matrix: row " + std::to_string(i) + " has " + std::to_string(r.size()) +
                                    " values, row 0 has " + std::to_string(cols_));
      std::copy(r.begin(), r.end(), row(i++));
    }
  }

  /// A copy of the elements a view refers to.
  explicit Matrix(MatrixView<const T> view) : Matrix(view.rows(), view.cols()) {
    for (std::size_t i = 0; i < rows_; ++i) std::copy_n(view.row(i), cols_, row(i));
  }

  Matrix(const Matrix&) = default;
  Matrix& operator=(const Matrix&) = default;
  /// Moving leaves the source an empty 0 x 0 matrix.
  Matrix(Matrix&& other) noexcept
      : rows_(other.rows_), cols_(other.cols_), stride_(other.stride_), storage_(std::move(other.storage_)) {
    other.reset_shape();
  }
  Matrix& operator=(Matrix&& other) noexcept {
    if (this != &other) {
      rows_ = other.rows_;
      cols_ = other.cols_;
      stride_ = other.stride_;
      storage_ = std::move(other.storage_);
      other.reset_shape();
    }
    return *this;
  }

  /// Number of rows.
  std::size_t rows() const noexcept { return rows_; }
  /// Number of columns (features).
  std::size_t cols() const noexcept { return cols_; }
  /// Distance between the starts of consecutive rows, in elements (>= cols(), padded).
  std::size_t stride() const noexcept { return stride_; }
  /// Number of logical elements, rows() * cols().
  std::size_t size() const noexcept { return rows_ * cols_; }
  /// True when there are no rows or no columns.
  bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }

  /// Pointer to element (0, 0); 64-byte aligned.
  T* data() noexcept { return storage_.data(); }
  /// Pointer to element (0, 0); 64-byte aligned.
  const T* data() const noexcept { return storage_.data(); }
  /// Pointer to the first element of row i (unchecked); 64-byte aligned.
  T* row(std::size_t i) noexcept { return storage_.data() + i * stride_; }
  /// Pointer to the first element of row i (unchecked); 64-byte aligned.
  const T* row(std::size_t i) const noexcept { return storage_.data() + i * stride_; }
  /// Element (i, j) (unchecked).
  T& operator()(std::size_t i, std::size_t j) noexcept { return storage_[i * stride_ + j]; }
  /// Element (i, j) (unchecked).
  const T& operator()(std::size_t i, std::size_t j) const noexcept { return storage_[i * stride_ + j]; }

  /// A view of the elements (valid while the matrix lives and is not resized).
  MatrixView<T> view() noexcept { return MatrixView<T>(data(), rows_, cols_, stride_); }
  /// A read-only view of the elements.
  MatrixView<const T> view() const noexcept { return MatrixView<const T>(data(), rows_, cols_, stride_); }
  /// Implicit conversion to a view (so a Matrix can be passed where a view is taken).
  operator MatrixView<T>() noexcept { return view(); }
  /// Implicit conversion to a read-only view.
  operator MatrixView<const T>() const noexcept { return view(); }

  /// Element-wise equality of the logical elements (padding ignored).
  friend bool operator==(const Matrix& a, const Matrix& b) {
    if (a.rows_ != b.rows_ || a.cols_ != b.cols_) return false;
    for (std::size_t i = 0; i < a.rows_; ++i)
      if (!std::equal(a.row(i), a.row(i) + a.cols_, b.row(i))) return false;
    return true;
  }
  friend bool operator!=(const Matrix& a, const Matrix& b) { return !(a == b); }

 private:
  static constexpr std::size_t max_elements() noexcept { return std::size_t(-1) / sizeof(T); }
  static std::size_t padded_stride(std::size_t cols) {
    if (cols > max_elements() - row_alignment) throw std::length_error("lloyd::Matrix: cols=" + std::to_string(cols) + " is too large");
    return detail::round_up(cols, row_alignment);
  }

  void reset_shape() noexcept {
    rows_ = cols_ = stride_ = 0;
    storage_.clear();
  }

  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t stride_ = 0;
  detail::aligned_vector<T> storage_;
};

namespace detail {

/// What deduces the scalar type of a matrix argument: Matrix<T>, MatrixView<T> and
/// MatrixView<const T> all give T, so that every entry point accepts any of them in any
/// combination (fit(X) with a Matrix, fit(view, Matrix) ...).
template <class M>
struct matrix_scalar {};
template <class T>
struct matrix_scalar<Matrix<T>> {
  using type = T;
};
template <class T>
struct matrix_scalar<MatrixView<T>> {
  using type = std::remove_const_t<T>;
};
template <class M>
using matrix_scalar_t = typename matrix_scalar<std::remove_cv_t<std::remove_reference_t<M>>>::type;

template <class M, class = void>
struct is_matrix : std::false_type {};
template <class M>
struct is_matrix<M, std::void_t<matrix_scalar_t<M>>> : std::true_type {};

/// U, in a context that takes no part in template argument deduction.
template <class U>
struct non_deduced {
  using type = U;
};
template <class U>
using non_deduced_t = typename non_deduced<U>::type;

/// Marks a scalar type left for deduction from the matrix arguments (fit(X, p)), so
/// that fit<float>(X, p) still works.
struct deduced {};

/// T when given, else the scalar of M.
template <class T, class M>
using scalar_for_t = std::conditional_t<std::is_same<T, deduced>::value, matrix_scalar_t<M>, T>;

}  // namespace detail
}  // namespace lloyd
