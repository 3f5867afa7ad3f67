// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/assign.hpp"
#include "detail/checks.hpp"
#include "detail/config.hpp"
#include "detail/distance.hpp"
#include "detail/parallel.hpp"
#include "detail/partitions.hpp"
#include "detail/pipeline.hpp"
#include "detail/working_rows.hpp"
#include "init.hpp"
#include "matrix.hpp"
#include "params.hpp"
#include "result.hpp"

namespace lloyd {

namespace detail {

template <class W, class = void>
struct is_contiguous_range : std::false_type {};
template <class W>
struct is_contiguous_range<W, std::void_t<decltype(std::data(std::declval<const W&>())),
                                          decltype(std::size(std::declval<const W&>()))>>
    : std::is_arithmetic<std::remove_cv_t<std::remove_pointer_t<decltype(std::data(std::declval<const W&>()))>>> {};

/// Sample weights: any contiguous range of numbers (std::vector<T>, std::array, ...)
/// that is not itself a matrix.
template <class W, class T>
constexpr bool is_weights_v =
    is_contiguous_range<W>::value && !std::is_convertible<const W&, MatrixView<const T>>::value;

}  // namespace detail


/// k-means clustering of the rows of a matrix (T = float or double).
///
/// @code
/// auto blobs = lloyd::make_blobs<float>(10000, 16, 5, 1.0, 42);
/// lloyd::KMeans<float> km({.n_clusters = 5, .seed = 42});   // C++17: set fields of a Params
/// lloyd::Result<float> r = km.fit(blobs.X);
/// std::vector<std::int32_t> labels = km.predict(blobs.X);
/// @endcode
///
/// Thread safety: fit() modifies the model and must not run concurrently with any
/// other call on the same object. The const methods (predict, transform, score,
/// centroids) may be called concurrently from many threads once fit() returned.
template <class T, class Arch = detail::default_arch>
class KMeans {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "lloyd::KMeans<T>: T must be float or double");

 public:
  using value_type = T;  ///< float or double

  /// A model with the given options (checked when fit() runs).
  explicit KMeans(Params params = {}) : params_(std::move(params)) {}

  /// The options in use.
  const Params& params() const noexcept { return params_; }
  /// Replaces the options; the fitted state (if any) is kept until the next fit().
  void set_params(Params params) { params_ = std::move(params); }

  /// Clusters the rows of X, seeding with Params::init (n_init runs, best kept).
  Result<T> fit(MatrixView<const T> X) { return fit_impl(X, nullptr, nullptr, 0); }

  /// Clusters the rows of X starting from the given k x d centroids (used as they are).
  Result<T> fit(MatrixView<const T> X, MatrixView<const T> initial_centroids) {
    return fit_impl(X, &initial_centroids, nullptr, 0);
  }

  /// Weighted fit: one non-negative weight per row (any contiguous range of numbers).
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  Result<T> fit(MatrixView<const T> X, const W& sample_weight) {
    return with_weights(sample_weight, [&](const T* w, std::size_t n) { return fit_impl(X, nullptr, w, n); });
  }

  /// Weighted fit from the given starting centroids.
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  Result<T> fit(MatrixView<const T> X, MatrixView<const T> initial_centroids, const W& sample_weight) {
    return with_weights(sample_weight,
                        [&](const T* w, std::size_t n) { return fit_impl(X, &initial_centroids, w, n); });
  }

  /// fit(X) and return the labels.
  std::vector<std::int32_t> fit_predict(MatrixView<const T> X) { return fit(X).labels; }

  /// Nearest centroid of each row of X (ties: lowest index).
  std::vector<std::int32_t> predict(MatrixView<const T> X) const {
    check_predict_input(X);
    std::vector<std::int32_t> labels(X.rows());
    label_rows(X, labels.data(), nullptr);
    return labels;
  }

  /// The label of each row and its distance to that centroid (the entry transform()
  /// would give: Euclidean, 1 - cos, or minus the inner product), in one pass.
  std::pair<std::vector<std::int32_t>, std::vector<T>> predict_with_distances(MatrixView<const T> X) const {
    check_predict_input(X);
    std::vector<std::int32_t> labels(X.rows());
    std::vector<T> dist(X.rows());
    label_rows(X, labels.data(), dist.data());
    for (T& v : dist) v = from_working_loss(v);
    return {std::move(labels), std::move(dist)};
  }

  /// A model that predicts with the given k x d centroids, as if a fit had ended there
  /// (`params` gives the metric and threads; for Metric::Cosine the centroids are used
  /// normalised, as a spherical fit's are). Throws std::invalid_argument for empty or
  /// non-finite centroids.
  static KMeans from_centroids(MatrixView<const T> centroids, Params params = {}) {
    detail::check_metric(params.metric, "metric");
    if (centroids.rows() == 0 || centroids.cols() == 0)
      detail::throw_invalid("centroids is ", centroids.rows(), " x ", centroids.cols(), ": need at least one of each");
    detail::check_finite(centroids, "centroids");
    FittedState s;
    s.centroids = Matrix<T>(centroids);
    s.work_centroids = params.metric == Metric::Cosine ? detail::normalized_rows(centroids, nullptr) : s.centroids;
    s.shift = detail::column_means(MatrixView<const T>(s.work_centroids));  // centred on the centroids' mean
    s.metric = params.metric;
    s.inertia = std::numeric_limits<double>::quiet_NaN();
    KMeans model(std::move(params));
    model.set_fitted_state(std::move(s));
    return model;
  }

  /// n x k matrix of each row's distance to each centroid, per metric: Euclidean (not
  /// squared) distance; cosine distance 1 - cos(x, c); for Dot, minus the inner product
  /// (so that, in every case, the smallest entry of a row is its label).
  Matrix<T> transform(MatrixView<const T> X) const {
    check_predict_input(X);
    const std::size_t n = X.rows(), k = centroids_.rows(), d = centroids_.cols();
    Matrix<T> out(n, k);
    detail::ThreadPool pool(threads_for(n * k * d));
    for_working_rows(X, [&](MatrixView<const T> Y, std::size_t first) {
      const detail::Chunking chunks = detail::partition::transform(Y.rows());
      pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
        for (std::size_t i = chunks.begin(c); i < chunks.end(c); ++i)
          for (std::size_t j = 0; j < k; ++j) {
            out(first + i, j) = from_working_loss(loss_of(Y.row(i), j));
          }
      });
    });
    return out;
  }

  /// Opposite of the inertia of X under the fitted centroids (higher is better), as
  /// scikit-learn; the inertia per metric is the sum of squared distances, of cosine
  /// distances 1 - cos, or of minus the inner products.
  double score(MatrixView<const T> X) const { return -inertia_of(X, nullptr, 0); }

  /// Weighted score: minus the sum of weight x squared distance to the nearest centroid.
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  double score(MatrixView<const T> X, const W& sample_weight) const {
    return with_weights(sample_weight, [&](const T* w, std::size_t n) { return -inertia_of(X, w, n); });
  }

  /// The fitted k x d centroids.
  const Matrix<T>& centroids() const {
    require_fitted("centroids");
    return centroids_;
  }
  /// Inertia of the training data at the end of the last fit().
  double inertia() const {
    require_fitted("inertia");
    return inertia_;
  }
  /// Iterations run by the last fit() (of the kept run).
  int n_iter() const {
    require_fitted("n_iter");
    return n_iter_;
  }
  /// Whether a fit() has succeeded (predict and friends need one).
  bool is_fitted() const noexcept { return fitted_; }

  /// What a fitted model predicts with, to save it and restore it into another model
  /// (Python's pickle uses this): predict, transform and score then give the same bits.
  struct FittedState {
    Matrix<T> centroids;       ///< k x d, in the caller's units
    Matrix<T> work_centroids;  ///< k x d, in the fit's working units (centroids x 2^scale)
    std::vector<T> shift;      ///< d values: the kernel's centring shift (the fit's column means)
    int scale = 0;             ///< the fit ran on X x 2^scale
    Metric metric = Metric::SquaredEuclidean;
    double inertia = 0;
    int n_iter = 0;
  };
  /// The fitted state (throws NotFittedError before a fit).
  FittedState fitted_state() const {
    require_fitted("fitted_state");
    return {centroids_, work_centroids_, shift_, scale_, metric_, inertia_, n_iter_};
  }
  /// Makes this model the one `s` describes, as if it had run that fit; a state of
  /// inconsistent shapes or values throws std::invalid_argument naming the field.
  void set_fitted_state(FittedState s) {
    detail::check_saved_centroids(MatrixView<const T>(s.centroids), s.shift);
    const std::size_t k = s.centroids.rows(), d = s.centroids.cols();
    if (s.work_centroids.rows() != k || s.work_centroids.cols() != d)
      detail::throw_invalid("state.work_centroids is ", s.work_centroids.rows(), " x ", s.work_centroids.cols(),
                            " but state.centroids is ", k, " x ", d);
    detail::check_finite(MatrixView<const T>(s.work_centroids), "state.work_centroids");
    detail::check_metric(s.metric, "state.metric");
    if (s.scale < -2200 || s.scale > 2200) detail::throw_invalid("state.scale=", s.scale, " is out of range");
    kernel_ = detail::AssignKernel<T, Arch>(d, s.shift.data(), s.metric == Metric::Dot);
    kernel_.set_centroids(s.work_centroids);
    centroids_ = std::move(s.centroids);
    work_centroids_ = std::move(s.work_centroids);
    shift_ = std::move(s.shift);
    scale_ = s.scale;
    metric_ = s.metric;
    inertia_ = s.inertia;
    n_iter_ = s.n_iter;
    fitted_ = true;
  }
  /// Features of the fitted model (0 before fit()).
  std::size_t n_features() const noexcept { return centroids_.cols(); }

 private:
  template <class W, class F>
  static auto with_weights(const W& sample_weight, F&& f) {
    using E = std::remove_cv_t<std::remove_pointer_t<decltype(std::data(sample_weight))>>;
    const std::size_t n = std::size(sample_weight);
    if constexpr (std::is_same<E, T>::value) {
      return f(std::data(sample_weight), n);
    } else {
      std::vector<T> converted(n);
      const E* src = std::data(sample_weight);
      for (std::size_t i = 0; i < n; ++i) converted[i] = static_cast<T>(src[i]);
      return f(converted.data(), n);
    }
  }

  Result<T> fit_impl(MatrixView<const T> X, const MatrixView<const T>* initial, const T* weights, std::size_t n_weights) {
    detail::LocalExchange<T> local;
    detail::PoolLease lease;
    detail::FitOutcome<T> fit = detail::fit_pipeline<T, Arch>(
        local, X, params_, initial, weights, n_weights,
        [&](std::size_t threads) -> detail::ThreadPool& { return lease.get(threads, fit_pool_.pool); });
    kernel_ = detail::AssignKernel<T, Arch>(X.cols(), fit.mean.data(), params_.metric == Metric::Dot);
    kernel_.set_centroids(fit.work_centroids);
    shift_ = std::move(fit.mean);
    work_centroids_ = std::move(fit.work_centroids);
    scale_ = fit.scale;
    centroids_ = fit.result.centroids;
    metric_ = params_.metric;
    inertia_ = fit.result.inertia;
    n_iter_ = fit.result.n_iter;
    fitted_ = true;
    return std::move(fit.result);
  }

  // Calls f(view, first_row) on blocks of X brought into the fit's working units as
  // fit_impl did: normalised rows for Metric::Cosine, scaled rows when the fit was
  // scaled, else X itself in one piece. (The same arithmetic as the fit: predict(X)
  // reproduces fit's labels even on rounding-level ties.)
  template <class F>
  void for_working_rows(MatrixView<const T> X, F&& f) const {
    if (scale_ == 0 && metric_ != Metric::Cosine) {
      f(X, std::size_t(0));
      return;
    }
    const std::size_t block = 4096;
    for (std::size_t b = 0; b < X.rows(); b += block) {
      const std::size_t m = std::min(block, X.rows() - b);
      const Matrix<T> part = metric_ == Metric::Cosine ? detail::normalized_rows<T>(X.rows_range(b, m), nullptr)
                                                       : detail::scaled_copy<T>(X.rows_range(b, m), scale_);
      f(MatrixView<const T>(part), b);
    }
  }

  void require_fitted(const char* what) const {
    if (!fitted_)
      throw NotFittedError(std::string("lloyd::KMeans::") + what + ": the model is not fitted yet; call fit() first");
  }

  void check_predict_input(MatrixView<const T> X) const {
    require_fitted("predict");
    if (X.cols() != centroids_.cols() && X.rows() > 0)
      detail::throw_invalid("X has ", X.cols(), " columns but the model was fitted on ", centroids_.cols(), " features");
    detail::check_finite(X, "X");
  }

  std::size_t threads_for(std::size_t work) const { return detail::work_threads(params_.n_threads, work); }

  // labels (and, if dist is not null, exact squared distances) of the rows of X.
  void label_rows(MatrixView<const T> X, std::int32_t* labels, T* dist) const {
    const std::size_t n = X.rows(), d = centroids_.cols();
    if (n == 0) return;
    detail::ThreadPool pool(threads_for(n * centroids_.rows() * d));
    for_working_rows(X, [&](MatrixView<const T> Y, std::size_t first) {
      const detail::Chunking chunks = detail::partition::prediction(Y.rows());
      pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
        auto ws = kernel_.make_workspace();
        const std::size_t b = chunks.begin(c), e = chunks.end(c);
        kernel_.assign(Y, b, e, labels + first + b, ws);
        if (dist)  // in the working units (see inertia_of)
          for (std::size_t i = b; i < e; ++i) dist[first + i] = loss_of(Y.row(i), static_cast<std::size_t>(labels[first + i]));
      });
    });
  }

  // A loss (loss_of) as transform() reports it: back from the working units (distances
  // scale by 2^-e, products by 2^-2e), Euclidean distances not squared.
  T from_working_loss(T l) const noexcept {
    return metric_ == Metric::SquaredEuclidean ? std::ldexp(std::sqrt(l), -scale_)
           : metric_ == Metric::Dot          ? std::ldexp(l, -2 * scale_)
                                              : l;
  }

  // One row's loss against centroid c under the fitted metric (see transform()).
  // (x in the fitted working units: see for_working_rows).
  T loss_of(const T* x, std::size_t c) const noexcept {
    const std::size_t d = work_centroids_.cols();
    const T* cen = work_centroids_.row(c);
    switch (metric_) {
      case Metric::Dot: return -detail::dot_product<Arch>(x, cen, d);
      case Metric::Cosine: {
        const double norm = std::sqrt(static_cast<double>(detail::dot_product<Arch>(x, x, d)));
        const double dot = static_cast<double>(detail::dot_product<Arch>(x, cen, d));
        return static_cast<T>(norm > 0 ? 1.0 - dot / norm : 1.0);
      }
      default: return detail::squared_distance<Arch>(x, cen, d);
    }
  }

  double inertia_of(MatrixView<const T> X, const T* weights, std::size_t n_weights) const {
    check_predict_input(X);
    if (weights) detail::check_weights(weights, n_weights, X.rows());
    std::vector<std::int32_t> labels(X.rows());
    std::vector<T> dist(X.rows());
    label_rows(X, labels.data(), dist.data());
    double s = 0;
    for (std::size_t i = 0; i < X.rows(); ++i) s += (weights ? static_cast<double>(weights[i]) : 1.0) * static_cast<double>(dist[i]);
    // Back from the working units of a scaled fit (squared distances, products: 2^-2e).
    return metric_ == Metric::Cosine ? s : std::ldexp(s, -2 * scale_);
  }

  // The workers of fit() when the process's shared pool is taken by another call
  // (detail::PoolLease), kept between fits of the same model (a copy of the model starts
  // without any). Only fit() uses them, and fit() is not reentrant.
  struct FitPool {
    FitPool() = default;
    FitPool(const FitPool&) {}
    FitPool& operator=(const FitPool&) { return *this; }
    FitPool(FitPool&&) noexcept = default;
    FitPool& operator=(FitPool&&) noexcept = default;
    std::unique_ptr<detail::ThreadPool> pool;
  };

  Params params_;
  FitPool fit_pool_;
  Matrix<T> centroids_;       // in the user's units
  Matrix<T> work_centroids_;  // in the working units of the fit: centroids_ x 2^scale_
  std::vector<T> shift_;      // the kernel's centring shift
  int scale_ = 0;             // the fit ran on X x 2^scale_ (0: unscaled)
  detail::AssignKernel<T, Arch> kernel_;
  Metric metric_ = Metric::SquaredEuclidean;
  double inertia_ = 0;
  int n_iter_ = 0;
  bool fitted_ = false;
};

}  // namespace lloyd
