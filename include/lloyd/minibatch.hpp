// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

// Mini-batch k-means (D. Sculley, "Web-scale k-means clustering", WWW 2010), following
// scikit-learn's MiniBatchKMeans: each step assigns a random batch of rows and moves each
// centroid towards the batch mean of its rows with a learning rate 1 / (its count of rows
// seen so far); tiny clusters are periodically moved onto random batch rows; the fit
// stops when the exponentially smoothed batch inertia has not improved for
// max_no_improvement steps (or on tol, or after max_iter passes over the data).
// partial_fit() takes one batch at a time, for data that do not fit in memory.
// (About 400 lines: the public class, whose steps share its centroids, counts and RNG.)

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "detail/assign.hpp"
#include "detail/checks.hpp"
#include "detail/config.hpp"
#include "detail/distance.hpp"
#include "detail/parallel.hpp"
#include "detail/problem.hpp"
#include "detail/random.hpp"
#include "init.hpp"
#include "kmeans.hpp"
#include "matrix.hpp"
#include "params.hpp"

namespace lloyd {

/// Options of a mini-batch fit (an aggregate, like Params).
struct MiniBatchParams {
  /// Number of clusters k.
  std::size_t n_clusters = 8;
  /// Rows per step.
  std::size_t batch_size = 1024;
  /// Upper bound on passes over the data (steps = max_iter * n / batch_size).
  int max_iter = 100;
  /// Stop when the squared centroid change of a step is <= tol x mean column variance
  /// (scikit-learn's rule); 0 disables it.
  double tol = 0;
  /// Stop after this many steps without improvement of the smoothed batch inertia; 0
  /// disables it.
  int max_no_improvement = 10;
  /// Seeding, on a random sample of init_size rows (Init::Auto chooses as KMeans does,
  /// from k and the sample's size).
  Init init = Init::Auto;
  /// Rows sampled for seeding; 0 means 3 x batch_size (at least k, at most n).
  std::size_t init_size = 0;
  /// Seedings tried (each scored on the sample); the best is kept.
  int n_init = 3;
  /// Clusters with fewer than reassignment_ratio x (largest count) rows seen are moved
  /// onto random batch rows now and then; 0 disables it.
  double reassignment_ratio = 0.01;
  /// Seed of every random choice; same seed, same data: same result, any thread count.
  std::uint64_t seed = 0;
  /// Worker threads (0 = all hardware threads).
  int n_threads = 0;
  /// Print the smoothed inertia every few steps, and why it stopped, on stderr.
  bool verbose = false;
};

/// Mini-batch k-means (T = float or double).
///
/// @code
/// lloyd::MiniBatchKMeans<float> mb({.n_clusters = 100, .batch_size = 2048});
/// auto r = mb.fit(X);                       // labels and inertia of all of X at the end
/// for (auto& chunk : stream) mb.partial_fit(chunk);   // or batch by batch
/// @endcode
///
/// Thread safety as KMeans: fit/partial_fit modify the model; the const methods may run
/// concurrently once they returned.
template <class T, class Arch = detail::default_arch>
class MiniBatchKMeans {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "lloyd::MiniBatchKMeans<T>: T must be float or double");

 public:
  /// A model with the given options (checked when fit() or partial_fit() runs).
  explicit MiniBatchKMeans(MiniBatchParams params = {}) : params_(std::move(params)) {}

  /// The options in use.
  const MiniBatchParams& params() const noexcept { return params_; }

  /// Fits on X (optionally weighted) and returns the labels and inertia of all of X
  /// under the final centroids. n_iter is the number of steps taken.
  Result<T> fit(MatrixView<const T> X) { return fit_impl(X, nullptr, nullptr, 0); }
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  Result<T> fit(MatrixView<const T> X, const W& sample_weight) {
    const auto w = to_vector(sample_weight);
    return fit_impl(X, nullptr, w.data(), w.size());
  }
  /// Fits on X starting from the given k x d centroids (no seeding; n_init unused).
  Result<T> fit(MatrixView<const T> X, MatrixView<const T> initial_centroids) {
    return fit_impl(X, &initial_centroids, nullptr, 0);
  }
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  Result<T> fit(MatrixView<const T> X, MatrixView<const T> initial_centroids, const W& sample_weight) {
    const auto w = to_vector(sample_weight);
    return fit_impl(X, &initial_centroids, w.data(), w.size());
  }

  /// Makes the given k x d centroids the model's (counts 0, no steps taken): the next
  /// partial_fit steps from them instead of seeding. Throws std::invalid_argument for
  /// a shape other than n_clusters x d or a value that is not finite.
  void start_from(MatrixView<const T> centroids) {
    check_params();
    detail::check_initial_centroids(centroids, params_.n_clusters, centroids.cols());
    if (centroids.cols() == 0) detail::throw_invalid("initial_centroids has 0 columns");
    adopt(Matrix<T>(centroids), detail::column_means(centroids));
    stream_rng_.reset();
  }

  /// One step on the given batch (all of its rows). The first call seeds the centroids
  /// from this batch (it needs at least n_clusters rows).
  void partial_fit(MatrixView<const T> batch) { partial_fit_impl(batch, nullptr, 0); }
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  void partial_fit(MatrixView<const T> batch, const W& sample_weight) {
    const auto w = to_vector(sample_weight);
    partial_fit_impl(batch, w.data(), w.size());
  }

  /// Nearest centroid of each row.
  std::vector<std::int32_t> predict(MatrixView<const T> X) const {
    check_input(X);
    std::vector<std::int32_t> labels(X.rows());
    detail::ThreadPool pool(detail::work_threads(params_.n_threads, X.rows() * k_work()));
    label_rows(X, labels.data(), nullptr, pool);
    return labels;
  }

  /// Nearest centroid of each row and the inertia of X (sum of squared distances to
  /// those centroids) in one pass: what fit() reports for its data, and -score(X).
  std::pair<std::vector<std::int32_t>, double> labels_and_inertia(MatrixView<const T> X) const {
    return labels_and_inertia_impl(X, nullptr, 0);
  }
  /// Weighted: the inertia sums weight x squared distance.
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  std::pair<std::vector<std::int32_t>, double> labels_and_inertia(MatrixView<const T> X, const W& sample_weight) const {
    const auto w = to_vector(sample_weight);
    return labels_and_inertia_impl(X, w.data(), w.size());
  }

  /// Minus the inertia of X under the centroids.
  double score(MatrixView<const T> X) const { return -labels_and_inertia(X).second; }
  /// Minus the weighted inertia of X.
  template <class W, std::enable_if_t<detail::is_weights_v<W, T>, int> = 0>
  double score(MatrixView<const T> X, const W& sample_weight) const {
    return -labels_and_inertia(X, sample_weight).second;
  }

  /// The current k x d centroids.
  const Matrix<T>& centroids() const {
    require_fitted();
    return centroids_;
  }
  /// Weight of rows each centroid has absorbed so far.
  const std::vector<double>& counts() const {
    require_fitted();
    return counts_;
  }
  /// Steps taken (over all fit / partial_fit calls since the last fit).
  std::size_t n_steps() const noexcept { return steps_; }
  /// Whether fit() or partial_fit() has set centroids.
  bool is_fitted() const noexcept { return fitted_; }

  /// What the model keeps between calls, to save it and restore it into another model
  /// (Python's pickle uses this): predict and score then give the same bits, and
  /// partial_fit goes on from these centroids and counts (its random stream restarts
  /// from MiniBatchParams::seed).
  struct State {
    Matrix<T> centroids;        ///< k x d
    std::vector<double> counts;  ///< k: weight absorbed per centroid
    std::vector<T> shift;        ///< d: the kernel's centring shift (the seeding rows' means)
    std::size_t steps = 0;       ///< steps taken
  };
  /// The state (throws NotFittedError before a fit or partial_fit).
  State state() const {
    require_fitted();
    return {centroids_, counts_, shift_, steps_};
  }
  /// Makes this model the one `s` describes; inconsistent shapes or values throw
  /// std::invalid_argument naming the field.
  void set_state(State s) {
    detail::check_saved_centroids(MatrixView<const T>(s.centroids), s.shift);
    const std::size_t k = s.centroids.rows(), d = s.centroids.cols();
    if (s.counts.size() != k) detail::throw_invalid("state.counts has ", s.counts.size(), " values for ", k, " centroids");
    for (std::size_t c = 0; c < k; ++c)
      if (!(s.counts[c] >= 0) || !std::isfinite(s.counts[c]))
        detail::throw_invalid("state.counts[", c, "] = ", s.counts[c], ": counts must be finite and >= 0");
    centroids_ = std::move(s.centroids);
    counts_ = std::move(s.counts);
    shift_ = std::move(s.shift);
    steps_ = s.steps;
    kernel_ = detail::AssignKernel<T, Arch>(d, shift_.data());
    kernel_.set_centroids(centroids_);
    stream_rng_.reset();
    fitted_ = true;
  }

 private:
  template <class W>
  static std::vector<T> to_vector(const W& w) {
    std::vector<T> out(std::size(w));
    const auto* src = std::data(w);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(src[i]);
    return out;
  }

  std::size_t k_work() const noexcept { return centroids_.rows() * centroids_.cols(); }

  void require_fitted() const {
    if (!fitted_) throw NotFittedError("lloyd::MiniBatchKMeans: the model is not fitted yet; call fit() or partial_fit() first");
  }

  void check_input(MatrixView<const T> X) const {
    require_fitted();
    if (X.cols() != centroids_.cols() && X.rows() > 0)
      detail::throw_invalid("X has ", X.cols(), " columns but the model was fitted on ", centroids_.cols(), " features");
    detail::check_finite(X, "X");
  }

  // Labels (and, if dist is not null, squared distances) of the rows of X.
  void label_rows(MatrixView<const T> X, std::int32_t* labels, T* dist, detail::ThreadPool& pool) const {
    if (X.rows() == 0) return;
    const detail::Chunking chunks = detail::partition::prediction(X.rows());
    pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t) {
      auto ws = kernel_.make_workspace();
      const std::size_t b = chunks.begin(c), e = chunks.end(c);
      kernel_.assign(X, b, e, labels + b, ws);
      if (dist)
        for (std::size_t i = b; i < e; ++i)
          dist[i] = detail::squared_distance<Arch>(X.row(i), centroids_.row(static_cast<std::size_t>(labels[i])), X.cols());
    });
  }

  std::pair<std::vector<std::int32_t>, double> labels_and_inertia_impl(MatrixView<const T> X, const T* weights,
                                                                       std::size_t n_weights) const {
    check_input(X);
    if (weights) detail::check_weights(weights, n_weights, X.rows(), false);
    std::vector<std::int32_t> labels(X.rows());
    std::vector<T> dist(X.rows());
    detail::ThreadPool pool(detail::work_threads(params_.n_threads, X.rows() * k_work()));
    label_rows(X, labels.data(), dist.data(), pool);
    const double inertia = detail::weighted_sum(X.rows(), weights, dist.data(), pool);
    return {std::move(labels), inertia};
  }

  void check_params() const {
    const auto& p = params_;
    if (p.n_clusters == 0) detail::throw_invalid("n_clusters=0: need at least one cluster");
    if (p.batch_size == 0) detail::throw_invalid("batch_size=0 must be >= 1");
    if (p.max_iter < 1) detail::throw_invalid("max_iter=", p.max_iter, " must be >= 1");
    if (!(p.tol >= 0) || !std::isfinite(p.tol)) detail::throw_invalid("tol=", p.tol, " must be finite and >= 0");
    if (p.max_no_improvement < 0) detail::throw_invalid("max_no_improvement=", p.max_no_improvement, " must be >= 0");
    if (p.n_init < 1) detail::throw_invalid("n_init=", p.n_init, " must be >= 1");
    if (!(p.reassignment_ratio >= 0) || !std::isfinite(p.reassignment_ratio))
      detail::throw_invalid("reassignment_ratio=", p.reassignment_ratio, " must be finite and >= 0");
    if (p.n_threads < 0) detail::throw_invalid("n_threads=", p.n_threads, " must be >= 0 (0 = all hardware threads)");
  }

  // Seeds the centroids: n_init seedings on a random sample, the one with the lowest
  // inertia on that sample wins (scikit-learn's choice).
  void seed_from(const detail::Problem<T>& P, detail::Rng& rng, detail::ThreadPool& pool) {
    const std::size_t k = params_.n_clusters, n = P.n;
    std::size_t size = params_.init_size ? params_.init_size : 3 * params_.batch_size;
    size = std::min(n, std::max(size, k));
    double best = std::numeric_limits<double>::infinity();
    for (int run = 0; run < params_.n_init; ++run) {
      // A sample without replacement (partial Fisher-Yates on indices).
      std::vector<std::size_t> idx(n);
      std::iota(idx.begin(), idx.end(), std::size_t(0));
      for (std::size_t i = 0; i < size; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
      idx.resize(size);
      std::sort(idx.begin(), idx.end());
      Matrix<T> sample(size, P.d);
      std::vector<T> sw(size);
      for (std::size_t i = 0; i < size; ++i) {
        std::copy_n(P.X.row(idx[i]), P.d, sample.row(i));
        sw[i] = P.weight(idx[i]);
      }
      const detail::Problem<T> S = detail::make_problem<T>(sample, P.weights ? sw.data() : nullptr, pool);
      detail::Rng seed_rng(rng.next());
      detail::LocalExchange<T> local;
      Matrix<T> C = detail::seed_centroids<T, Arch>(local, S, params_.init, k, seed_rng, pool);
      detail::AssignKernel<T, Arch> kernel(P.d, S.mean.data());
      kernel.set_centroids(C);
      auto ws = kernel.make_workspace();
      std::vector<std::int32_t> labels(size);
      kernel.assign(sample, 0, size, labels.data(), ws);
      double inertia = 0;
      for (std::size_t i = 0; i < size; ++i)
        inertia += static_cast<double>(sw[i]) *
                   static_cast<double>(detail::squared_distance<Arch>(sample.row(i), C.row(static_cast<std::size_t>(labels[i])), P.d));
      if (inertia < best) {
        best = inertia;
        centroids_ = std::move(C);
      }
    }
    adopt(std::move(centroids_), P.mean);
  }

  // Makes C the centroids (counts 0, no steps), with the kernel centred on `shift`.
  void adopt(Matrix<T> C, std::vector<T> shift) {
    centroids_ = std::move(C);
    counts_.assign(centroids_.rows(), 0.0);
    shift_ = std::move(shift);
    kernel_ = detail::AssignKernel<T, Arch>(centroids_.cols(), shift_.data());
    kernel_.set_centroids(centroids_);
    steps_ = 0;
    fitted_ = true;
  }

  // One step on the rows idx of P (assign, move centroids, maybe reassign); returns the
  // batch inertia (weighted sum of squared distances to the centroids before the move).
  // The centroids change in a fixed order (by cluster, rows in batch order), so the
  // result does not depend on the threads.
  double step(const detail::Problem<T>& P, const std::vector<std::size_t>& idx, detail::Rng& rng,
              detail::ThreadPool& pool, double* center_change) {
    const std::size_t m = idx.size(), d = P.d, k = centroids_.rows();
    labels_.resize(m);
    second_.resize(m);
    best_.resize(m);
    const detail::Chunking chunks(m, std::max<std::size_t>(64, m / (4 * pool.size()) + 1), 256);
    workspaces_.resize(pool.size());
    pool.parallel_for(chunks.count(), [&](std::size_t c, std::size_t worker) {
      const std::size_t b = chunks.begin(c);
      kernel_.assign_rows(P.X, idx.data() + b, chunks.end(c) - b, labels_.data() + b, second_.data() + b,
                          workspaces_[worker], best_.data() + b);
    });
    // The batch inertia only steers early stopping: the kernel's per-row bound of the
    // squared distance (within its tiny error) serves.
    double inertia = 0;
    for (std::size_t r = 0; r < m; ++r) inertia += static_cast<double>(P.weight(idx[r])) * best_[r];

    // Batch sums per cluster, then c = (c * count + sum) / (count + batch weight).
    sums_.assign(k * d, 0.0);
    batch_w_.assign(k, 0.0);
    for (std::size_t r = 0; r < m; ++r) {
      const T w = P.weight(idx[r]);
      if (w <= 0) continue;
      const std::size_t c = static_cast<std::size_t>(labels_[r]);
      const T* x = P.X.row(idx[r]);
      for (std::size_t j = 0; j < d; ++j) sums_[c * d + j] += static_cast<double>(w) * static_cast<double>(x[j]);
      batch_w_[c] += static_cast<double>(w);
    }
    double change = 0;
    for (std::size_t c = 0; c < k; ++c) {
      if (batch_w_[c] <= 0) continue;
      const double total = counts_[c] + batch_w_[c];
      T* row = centroids_.row(c);
      for (std::size_t j = 0; j < d; ++j) {
        const T v = static_cast<T>((static_cast<double>(row[j]) * counts_[c] + sums_[c * d + j]) / total);
        const double diff = static_cast<double>(v) - static_cast<double>(row[j]);
        change += diff * diff;
        row[j] = v;
      }
      counts_[c] = total;
    }

    // Now and then, move the clusters that absorbed almost nothing onto random batch rows
    // (probability proportional to weight), as scikit-learn does.
    ++steps_;
    const double min_count = *std::min_element(counts_.begin(), counts_.end());
    if (params_.reassignment_ratio > 0 && steps_ % (10 + static_cast<std::size_t>(min_count)) == 0) {
      const double top = *std::max_element(counts_.begin(), counts_.end());
      std::vector<std::size_t> tiny;
      for (std::size_t c = 0; c < k; ++c)
        if (counts_[c] < params_.reassignment_ratio * top) tiny.push_back(c);
      if (tiny.size() > m / 2) tiny.resize(m / 2);
      if (!tiny.empty()) {
        std::vector<std::pair<double, std::size_t>> keys(m);
        for (std::size_t r = 0; r < m; ++r) {
          const double w = static_cast<double>(P.weight(idx[r]));
          keys[r] = {w > 0 ? std::log(rng.uniform_open0()) / w : -std::numeric_limits<double>::infinity(), r};
        }
        std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(tiny.size()), keys.end(),
                          [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
        double kept_min = std::numeric_limits<double>::infinity();
        std::vector<char> is_tiny(k, 0);
        for (std::size_t c : tiny) is_tiny[c] = 1;
        for (std::size_t c = 0; c < k; ++c)
          if (!is_tiny[c]) kept_min = std::min(kept_min, counts_[c]);
        if (!std::isfinite(kept_min)) kept_min = 0;
        for (std::size_t q = 0; q < tiny.size(); ++q) {
          std::copy_n(P.X.row(idx[keys[q].second]), d, centroids_.row(tiny[q]));
          counts_[tiny[q]] = kept_min;
        }
        if (params_.verbose) std::fprintf(stderr, "[MiniBatchKMeans] Reassigning %zu cluster centers.\n", tiny.size());
      }
    }
    kernel_.set_centroids(centroids_);
    if (center_change) *center_change = change;
    return inertia;
  }

  Result<T> fit_impl(MatrixView<const T> X, const MatrixView<const T>* initial, const T* weights,
                     std::size_t n_weights) {
    check_params();
    const auto& p = params_;
    detail::check_data_shape(X, p.n_clusters);
    if (initial) detail::check_initial_centroids(*initial, p.n_clusters, X.cols());
    if (weights) detail::check_weights(weights, n_weights, X.rows());
    const std::size_t n = X.rows();
    detail::ThreadPool pool(detail::fit_threads(p.n_threads, n, X.cols(), p.n_clusters));
    const detail::Problem<T> P = detail::make_problem(X, weights, pool);
    detail::Rng rng(p.seed);
    fitted_ = false;
    if (initial)
      adopt(Matrix<T>(*initial), P.mean);
    else
      seed_from(P, rng, pool);

    const std::size_t batch = std::min(p.batch_size, n);
    const std::size_t n_steps = std::max<std::size_t>(1, static_cast<std::size_t>(p.max_iter) * n / batch);
    const double tol = p.tol * P.mean_variance;
    // Smoothing factor of the batch inertia, as scikit-learn: 2 / (batches per pass + 1).
    const double alpha = std::min(1.0, 2.0 * double(batch) / double(n + 1));
    double ewa = 0, ewa_min = std::numeric_limits<double>::infinity();
    int no_improvement = 0;
    std::vector<std::size_t> idx(batch);
    bool converged = false;
    std::size_t taken = 0;
    for (std::size_t s = 0; s < n_steps; ++s) {
      for (auto& v : idx) v = static_cast<std::size_t>(rng.below(n));  // with replacement
      double change = 0;
      const double inertia = step(P, idx, rng, pool, &change) / double(batch);
      taken = s + 1;
      if (s == 0) {
        ewa = inertia;
        continue;
      }
      ewa = ewa * (1 - alpha) + inertia * alpha;
      if (p.verbose && (s % 10 == 0))
        std::fprintf(stderr, "Minibatch step %zu/%zu: mean batch inertia: %.6g, ewa inertia: %.6g\n", s, n_steps, inertia, ewa);
      if (tol > 0 && change <= tol) {
        if (p.verbose) std::fprintf(stderr, "Converged (small centers change) at step %zu/%zu\n", s, n_steps);
        converged = true;
        break;
      }
      if (ewa < ewa_min) {
        no_improvement = 0;
        ewa_min = ewa;
      } else if (p.max_no_improvement > 0 && ++no_improvement >= p.max_no_improvement) {
        if (p.verbose)
          std::fprintf(stderr, "Converged (lack of improvement in inertia) at step %zu/%zu\n", s, n_steps);
        converged = true;
        break;
      }
    }

    // Labels and inertia of all rows under the final centroids.
    Result<T> r;
    r.centroids = centroids_;
    r.labels.resize(n);
    std::vector<T> dist(n);
    label_rows(X, r.labels.data(), dist.data(), pool);
    r.inertia = detail::weighted_sum(P, dist.data(), pool);
    r.n_iter = static_cast<int>(taken);
    r.converged = converged;
    return r;
  }

  void partial_fit_impl(MatrixView<const T> batch, const T* weights, std::size_t n_weights) {
    check_params();
    if (fitted_) {
      if (batch.cols() != centroids_.cols())
        detail::throw_invalid("batch has ", batch.cols(), " columns but the model was fitted on ", centroids_.cols(),
                              " features");
      if (batch.rows() == 0) return;
    } else {
      detail::check_data_shape(batch, params_.n_clusters, "batch");
    }
    if (weights) detail::check_weights(weights, n_weights, batch.rows());
    detail::ThreadPool pool(detail::step_threads(params_.n_threads, batch.rows()));
    const detail::Problem<T> P = detail::make_problem(batch, weights, pool);
    if (!stream_rng_) stream_rng_ = std::make_unique<detail::Rng>(params_.seed);
    if (!fitted_) seed_from(P, *stream_rng_, pool);
    std::vector<std::size_t> idx(batch.rows());
    std::iota(idx.begin(), idx.end(), std::size_t(0));
    step(P, idx, *stream_rng_, pool, nullptr);
  }

  MiniBatchParams params_;
  Matrix<T> centroids_;
  std::vector<double> counts_;
  std::vector<T> shift_;  // the kernel's centring shift
  detail::AssignKernel<T, Arch> kernel_;
  std::vector<typename detail::AssignKernel<T, Arch>::Workspace> workspaces_;
  std::vector<std::int32_t> labels_;
  std::vector<double> second_;
  std::vector<double> best_;
  std::vector<double> sums_;
  std::vector<double> batch_w_;
  std::unique_ptr<detail::Rng> stream_rng_;
  std::size_t steps_ = 0;
  bool fitted_ = false;
};

}  // namespace lloyd
