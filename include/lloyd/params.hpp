// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace lloyd {

/// How the starting centroids are chosen when fit() is not given any.
enum class Init {
  KMeansPlusPlus,  ///< greedy k-means++ (2 + ln k trials per centroid, as scikit-learn)
  Random,          ///< k distinct rows drawn at random (with probability proportional to weight)
  KMeansParallel,  ///< k-means|| (Bahmani et al. 2012): a few parallel sampling rounds, then k-means++
  Auto,            ///< KMeansParallel for large k, else KMeansPlusPlus (the rule: seeding_for)
};

/// The seeding `init` runs for k clusters of n rows: Init::Auto resolved (k-means|| for
/// k >= 128 and n >= 4 k, where it is many times faster than greedy k-means++ and its
/// converged inertia was within 1 % of it in lloyd's measurements, README "Seeding"),
/// any other as given.
constexpr Init seeding_for(Init init, std::size_t k, std::size_t n) noexcept {
  if (init != Init::Auto) return init;
  return k >= 128 && n >= 4 * k ? Init::KMeansParallel : Init::KMeansPlusPlus;
}

/// How each iteration finds the nearest centroids. All exact algorithms give the same
/// labels and centroids as Lloyd, bit for bit; they differ in the work they skip. The
/// bounded ones (Elkan, Hamerly, Yinyang, Exponion) run Lloyd where there are too few
/// centroids for bounds to pay (k < 8, or k < 16 below 128 columns), and with 8 to 15
/// centroids from 128 columns on start their bounds at the ninth pass, as Auto does
/// (Result::algorithm says what ran).
enum class Algorithm {
  Auto,     ///< choose from n, k, d and the memory budget (see README, "Choosing an algorithm")
  Lloyd,    ///< every row against every centroid, with the fused SIMD kernel
  Elkan,    ///< Hamerly's bounds and k lower bounds per row (n x k floats), read by rows that fail
  Hamerly,  ///< one upper and one lower bound per row; best for small d
  Yinyang,  ///< one lower bound per group of about 10 centroids; best for large k
  Exponion, ///< Hamerly's bounds, failed rows search an annulus of near centroids (k x k memory)
};

/// What "nearest centroid" means.
enum class Metric {
  SquaredEuclidean,  ///< |x - c|^2, classic k-means
  Cosine,            ///< spherical k-means: rows and centroids L2-normalised, max cosine similarity
  Dot,               ///< max inner product x.c (centroids are plain means, as flash-kmeans does)
};

namespace detail {

/// One name of an enum value (the first name of a value is its canonical one).
template <class E>
struct EnumName {
  E value;
  const char* name;
};
// The names of each enum, the one table from which to_string, from_string and the
// lists of choices in messages are made.
inline constexpr EnumName<Init> init_names[] = {{Init::KMeansPlusPlus, "kmeans++"},
                                                {Init::KMeansPlusPlus, "k-means++"},
                                                {Init::Random, "random"},
                                                {Init::KMeansParallel, "kmeans-parallel"},
                                                {Init::KMeansParallel, "kmeans||"},
                                                {Init::Auto, "auto"}};
inline constexpr EnumName<Algorithm> algorithm_names[] = {{Algorithm::Auto, "auto"},       {Algorithm::Lloyd, "lloyd"},
                                                          {Algorithm::Hamerly, "hamerly"}, {Algorithm::Elkan, "elkan"},
                                                          {Algorithm::Yinyang, "yinyang"},
                                                          {Algorithm::Exponion, "exponion"}};
inline constexpr EnumName<Metric> metric_names[] = {
    {Metric::SquaredEuclidean, "euclidean"}, {Metric::Cosine, "cosine"}, {Metric::Dot, "dot"}};

template <class E>
struct EnumTable;
template <>
struct EnumTable<Init> {
  static constexpr const auto& names = init_names;
};
template <>
struct EnumTable<Algorithm> {
  static constexpr const auto& names = algorithm_names;
};
template <>
struct EnumTable<Metric> {
  static constexpr const auto& names = metric_names;
};

}  // namespace detail

/// The canonical name of an Init, Algorithm or Metric value ("kmeans++", "hamerly",
/// "cosine" ...), as the command-line tool spells it; "?" for a value out of range.
template <class E, class = decltype(detail::EnumTable<E>::names)>
constexpr const char* to_string(E value) noexcept {
  for (const auto& n : detail::EnumTable<E>::names)
    if (n.value == value) return n.name;
  return "?";
}

/// The value of E (Init, Algorithm or Metric) named `name` (canonical names and aliases
/// such as "k-means++"), or nothing.
template <class E>
std::optional<E> from_string(std::string_view name) noexcept {
  for (const auto& n : detail::EnumTable<E>::names)
    if (name == n.name) return n.value;
  return std::nullopt;
}

/// The canonical names of E's values, comma-separated (for messages).
template <class E>
std::string choices() {
  std::string out;
  for (const auto& n : detail::EnumTable<E>::names)
    if (to_string(n.value) == std::string_view(n.name)) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

/// What one Lloyd iteration did; passed to Params::on_iteration.
struct IterationStats {
  int iteration = 0;              ///< 1-based iteration number within this run
  int run = 0;                    ///< 0-based restart index (see Params::n_init)
  double inertia = 0;             ///< weighted sum of squared distances to the centroids this iteration started from
  double center_shift = 0;        ///< sum over clusters of the squared distance the centroid moved
  std::size_t n_changed = 0;      ///< rows whose label differs from the previous iteration's
  std::size_t n_relocated = 0;    ///< empty clusters moved onto far points this iteration
  std::size_t distance_evaluations = 0;  ///< point-centroid distances computed (a full pass: n * k)
  double seconds = 0;             ///< wall time of this iteration
  double elapsed_seconds = 0;     ///< wall time since fit() started
};

/// Callback run after each iteration. Accepts callables returning void, or bool where
/// `true` asks fit() to stop after this iteration (the result is then not `converged`).
class IterationCallback {
 public:
  /// No callback.
  IterationCallback() = default;
  /// No callback (so that `on_iteration = nullptr` reads naturally).
  IterationCallback(std::nullptr_t) noexcept {}

  /// Wraps any callable taking const IterationStats& and returning void or bool.
  template <class F, class = std::enable_if_t<!std::is_same<std::decay_t<F>, IterationCallback>::value &&
                                              !std::is_same<std::decay_t<F>, std::nullptr_t>::value>>
  IterationCallback(F&& f) {
    using R = decltype(f(std::declval<const IterationStats&>()));
    static_assert(std::is_void<R>::value || std::is_convertible<R, bool>::value,
                  "on_iteration must return void or bool (true = stop)");
    fn_ = wrap<R>(std::forward<F>(f));
  }

  /// Whether a callback is set.
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  /// Runs the callback; returns true when it asked to stop.
  bool operator()(const IterationStats& stats) const { return fn_ ? fn_(stats) : false; }

 private:
  template <class R, class F>
  static std::function<bool(const IterationStats&)> wrap(F&& f) {
    if constexpr (std::is_void<R>::value) {
      return [g = std::forward<F>(f)](const IterationStats& s) mutable {
        g(s);
        return false;
      };
    } else {
      return [g = std::forward<F>(f)](const IterationStats& s) mutable { return static_cast<bool>(g(s)); };
    }
  }

  std::function<bool(const IterationStats&)> fn_;
};

/// Options of a k-means fit. An aggregate: set fields by name, or in C++20 write
/// `lloyd::KMeans<float> km({.n_clusters = 5, .seed = 42});` (fields in this order).
struct Params {
  /// Number of clusters k (1 <= k <= number of rows).
  std::size_t n_clusters = 8;
  /// Upper bound on Lloyd iterations per run (>= 1).
  int max_iter = 300;
  /// Relative tolerance (scikit-learn's): stop when the sum of squared centroid shifts of
  /// an iteration is <= tol * (mean per-feature variance of X). 0 disables it (>= 0).
  double tol = 1e-4;
  /// Absolute tolerance on inertia: stop when |inertia change| between two iterations is
  /// below it. 0 disables it (>= 0).
  double inertia_tol = 0;
  /// Run exactly max_iter iterations, ignoring tol, inertia_tol and unchanged labels
  /// (fixed-work benchmarks).
  bool run_till_max_iter = false;
  /// Seeding used when fit() is not given initial centroids.
  Init init = Init::Auto;
  /// Assignment algorithm (all exact: same result as Lloyd).
  Algorithm algorithm = Algorithm::Auto;
  /// Similarity used for assignment (Dot always runs Lloyd: bounds need a metric).
  Metric metric = Metric::SquaredEuclidean;
  /// Number of seeded runs; the one with the lowest inertia is kept (>= 1). Ignored when
  /// initial centroids are given.
  int n_init = 1;
  /// Seed of every random choice. The same seed and data give bit-identical results
  /// whatever n_threads is.
  std::uint64_t seed = 0;
  /// Worker threads; 0 uses every hardware thread (>= 0).
  int n_threads = 0;
  /// Print one line per iteration and the reason for stopping on stderr.
  bool verbose = false;
  /// Called after every iteration with its IterationStats; may return true to stop early.
  IterationCallback on_iteration = nullptr;
  /// Memory the bounded algorithms may use for their bounds (Elkan's n x k floats above
  /// all); beyond it they fall back to one that fits.
  std::size_t max_memory_bytes = std::size_t(1) << 30;
};

}  // namespace lloyd
