// lloyd: header-only k-means for C++17. SPDX-License-Identifier: MIT
//
// lloyd._core: the Python package's bridge to the headers. One model class per scalar
// type over lloyd::KMeans<T> (KMeans32, KMeans64) and lloyd::MiniBatchKMeans<T>
// (MiniBatch32, MiniBatch64), and the seedings. It takes NumPy
// arrays that the Python layer (lloyd/_kmeans.py) has already validated: C-contiguous,
// 2-D, of the class's dtype. Arrays are read in place (a MatrixView over the buffer);
// the GIL is released while lloyd computes. Ctrl-C: the iteration callback checks
// Python's signals and stops the fit; the KeyboardInterrupt is raised when fit returns.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
lloyd::MatrixView<const T> view_of(const Array<T>& a, const char* name) {
  if (a.ndim() != 2) throw std::invalid_argument(std::string(name) + " must be 2-D, got " + std::to_string(a.ndim()) + "-D");
  return lloyd::MatrixView<const T>(a.data(), static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)),
                                    static_cast<std::size_t>(a.shape(1)));
}

template <class T>
py::array_t<T> to_numpy(const lloyd::Matrix<T>& M) {
  py::array_t<T> out({M.rows(), M.cols()});
  auto o = out.template mutable_unchecked<2>();
  for (std::size_t i = 0; i < M.rows(); ++i)
    for (std::size_t j = 0; j < M.cols(); ++j) o(i, j) = M(i, j);
  return out;
}

template <class T>
lloyd::Matrix<T> to_matrix(const Array<T>& a, const char* name) {
  const auto v = view_of(a, name);
  return lloyd::Matrix<T>(v);
}

// A 1-D NumPy array of Out from a vector (labels, shifts, counts, indices).
template <class Out, class V>
py::array_t<Out> to_numpy(const std::vector<V>& v) {
  py::array_t<Out> out(v.size());
  std::transform(v.begin(), v.end(), out.mutable_data(), [](const V& x) { return static_cast<Out>(x); });
  return out;
}

// What fit returns to Python: (centroids, labels, inertia, n_iter or steps, converged).
template <class T>
py::tuple result_tuple(const lloyd::Result<T>& r) {
  return py::make_tuple(to_numpy(r.centroids), to_numpy<std::int32_t>(r.labels), r.inertia, r.n_iter, r.converged);
}

// Optional sample weights as the vector lloyd takes (empty when none).
template <class T>
std::vector<T> weights_of(const std::optional<Array<T>>& weights) {
  return weights ? std::vector<T>(weights->data(), weights->data() + weights->size()) : std::vector<T>();
}

// Labels of the rows of X by a fitted model (KMeans or MiniBatchKMeans), without the GIL.
template <class T, class M>
py::array_t<std::int32_t> predict_rows(const M& model, const Array<T>& X) {
  const auto Xv = view_of(X, "X");
  std::vector<std::int32_t> labels;
  {
    py::gil_scoped_release nogil;
    labels = model.predict(Xv);
  }
  return to_numpy<std::int32_t>(labels);
}

template <class E>
E enum_from(const std::string& name, const char* what) {
  const auto v = lloyd::from_string<E>(name);
  if (!v) throw std::invalid_argument(std::string(what) + "='" + name + "' is not one of " + lloyd::choices<E>());
  return *v;
}

// The options of a fit, from the Python estimator's parameters (already type-checked).
lloyd::Params params_from(std::size_t n_clusters, const std::string& init, int n_init, int max_iter, double tol,
                          const std::string& algorithm, const std::string& metric, std::uint64_t seed, int n_threads,
                          bool verbose) {
  lloyd::Params p;
  p.n_clusters = n_clusters;
  p.init = enum_from<lloyd::Init>(init, "init");
  p.n_init = n_init;
  p.max_iter = max_iter;
  p.tol = tol;
  p.algorithm = enum_from<lloyd::Algorithm>(algorithm, "algorithm");
  p.metric = enum_from<lloyd::Metric>(metric, "metric");
  p.seed = seed;
  p.n_threads = n_threads;
  p.verbose = verbose;
  return p;
}

py::dict stats_dict(const lloyd::IterationStats& s) {
  py::dict d;
  d["iteration"] = s.iteration;
  d["run"] = s.run;
  d["inertia"] = s.inertia;
  d["center_shift"] = s.center_shift;
  d["n_changed"] = s.n_changed;
  d["n_relocated"] = s.n_relocated;
  d["distance_evaluations"] = s.distance_evaluations;
  d["seconds"] = s.seconds;
  d["elapsed_seconds"] = s.elapsed_seconds;
  return d;
}

// The per-iteration hook of a fit run without the GIL: takes the GIL, runs the user's
// callback (a true return stops the fit) and checks for Ctrl-C. A Python exception
// stops the fit and is kept, to be raised once lloyd has returned.
class PythonHook {
 public:
  explicit PythonHook(py::object callback) : callback_(std::move(callback)) {}

  bool operator()(const lloyd::IterationStats& s) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) return keep_error();
    if (!callback_.is_none()) {
      try {
        const py::object r = callback_(stats_dict(s));
        if (!r.is_none() && r.cast<bool>()) return true;
      } catch (py::error_already_set& e) {
        error_ = std::move(e);
        return true;
      }
    }
    return false;
  }

  // After the fit, with the GIL held: the kept exception, if any.
  void raise_if_failed() {
    if (error_) {
      py::error_already_set e = std::move(*error_);
      error_.reset();
      throw e;
    }
  }

 private:
  bool keep_error() {
    error_.emplace();  // fetches the pending KeyboardInterrupt (or other signal error)
    return true;
  }

  py::object callback_;
  std::optional<py::error_already_set> error_;
};

template <class T>
class Model {
 public:
  Model(std::size_t n_clusters, const std::string& init, int n_init, int max_iter, double tol,
        const std::string& algorithm, const std::string& metric, std::uint64_t seed, int n_threads, bool verbose,
        py::object callback)
      : params_(params_from(n_clusters, init, n_init, max_iter, tol, algorithm, metric, seed, n_threads, verbose)),
        callback_(std::move(callback)) {}

  // (centroids, labels, inertia, n_iter, converged)
  py::tuple fit(const Array<T>& X, std::optional<Array<T>> initial, std::optional<Array<T>> weights) {
    const auto Xv = view_of(X, "X");
    std::optional<lloyd::MatrixView<const T>> Cv;
    if (initial) Cv = view_of(*initial, "init");
    const std::vector<T> w = weights_of(weights);
    auto hook = std::make_shared<PythonHook>(callback_);
    lloyd::Params p = params_;
    p.on_iteration = [hook](const lloyd::IterationStats& s) { return (*hook)(s); };
    km_.set_params(p);
    lloyd::Result<T> r;
    {
      py::gil_scoped_release nogil;
      if (Cv && weights)
        r = km_.fit(Xv, *Cv, w);
      else if (Cv)
        r = km_.fit(Xv, *Cv);
      else if (weights)
        r = km_.fit(Xv, w);
      else
        r = km_.fit(Xv);
    }
    km_.set_params(params_);  // the hook holds Python objects: not kept past the fit
    hook->raise_if_failed();
    return result_tuple(r);
  }

  py::array_t<std::int32_t> predict(const Array<T>& X) const { return predict_rows(km_, X); }

  py::array_t<T> transform(const Array<T>& X) const {
    const auto Xv = view_of(X, "X");
    lloyd::Matrix<T> D;
    {
      py::gil_scoped_release nogil;
      D = km_.transform(Xv);
    }
    return to_numpy(D);
  }

  double score(const Array<T>& X, std::optional<Array<T>> weights) const {
    const auto Xv = view_of(X, "X");
    const std::vector<T> w = weights_of(weights);
    py::gil_scoped_release nogil;
    return weights ? km_.score(Xv, w) : km_.score(Xv);
  }

  // Pickling: the fitted state as plain values (centroids, work_centroids, shift, scale,
  // metric name, inertia, n_iter).
  py::tuple get_state() const {
    const auto s = km_.fitted_state();
    return py::make_tuple(to_numpy(s.centroids), to_numpy(s.work_centroids), to_numpy<T>(s.shift), s.scale,
                          std::string(lloyd::to_string(s.metric)), s.inertia, s.n_iter);
  }

  void set_state(const Array<T>& centroids, const Array<T>& work_centroids, const Array<T>& shift, int scale,
                 const std::string& metric, double inertia, int n_iter) {
    typename lloyd::KMeans<T>::FittedState s;
    s.centroids = to_matrix(centroids, "state.centroids");
    s.work_centroids = to_matrix(work_centroids, "state.work_centroids");
    s.shift.assign(shift.data(), shift.data() + shift.size());
    s.scale = scale;
    s.metric = enum_from<lloyd::Metric>(metric, "state.metric");
    s.inertia = inertia;
    s.n_iter = n_iter;
    km_.set_fitted_state(std::move(s));
  }

 private:
  lloyd::Params params_;
  py::object callback_;
  lloyd::KMeans<T> km_;
};

template <class T>
void bind_model(py::module_& m, const char* name) {
  py::class_<Model<T>>(m, name)
      .def(py::init<std::size_t, const std::string&, int, int, double, const std::string&, const std::string&,
                    std::uint64_t, int, bool, py::object>(),
           py::arg("n_clusters"), py::arg("init"), py::arg("n_init"), py::arg("max_iter"), py::arg("tol"),
           py::arg("algorithm"), py::arg("metric"), py::arg("seed"), py::arg("n_threads"), py::arg("verbose"),
           py::arg("callback"))
      .def("fit", &Model<T>::fit, py::arg("X"), py::arg("init").none(true), py::arg("sample_weight").none(true))
      .def("predict", &Model<T>::predict, py::arg("X"))
      .def("transform", &Model<T>::transform, py::arg("X"))
      .def("score", &Model<T>::score, py::arg("X"), py::arg("sample_weight").none(true))
      .def("get_state", &Model<T>::get_state)
      .def("set_state", &Model<T>::set_state);
}

template <class T>
class MiniBatch {
 public:
  MiniBatch(std::size_t n_clusters, std::size_t batch_size, int max_iter, double tol, int max_no_improvement,
            const std::string& init, std::size_t init_size, int n_init, double reassignment_ratio, std::uint64_t seed,
            int n_threads, bool verbose) {
    lloyd::MiniBatchParams p;
    p.n_clusters = n_clusters;
    p.batch_size = batch_size;
    p.max_iter = max_iter;
    p.tol = tol;
    p.max_no_improvement = max_no_improvement;
    p.init = enum_from<lloyd::Init>(init, "init");
    p.init_size = init_size;
    p.n_init = n_init;
    p.reassignment_ratio = reassignment_ratio;
    p.seed = seed;
    p.n_threads = n_threads;
    p.verbose = verbose;
    mb_ = lloyd::MiniBatchKMeans<T>(p);
  }

  // (centroids, labels, inertia, steps, converged)
  py::tuple fit(const Array<T>& X, std::optional<Array<T>> initial, std::optional<Array<T>> weights) {
    const auto Xv = view_of(X, "X");
    std::optional<lloyd::MatrixView<const T>> Cv;
    if (initial) Cv = view_of(*initial, "init");
    const std::vector<T> w = weights_of(weights);
    lloyd::Result<T> r;
    {
      py::gil_scoped_release nogil;
      if (Cv)
        r = weights ? mb_.fit(Xv, *Cv, w) : mb_.fit(Xv, *Cv);
      else
        r = weights ? mb_.fit(Xv, w) : mb_.fit(Xv);
    }
    return result_tuple(r);
  }

  void start_from(const Array<T>& C) { mb_.start_from(view_of(C, "init")); }

  void partial_fit(const Array<T>& X, std::optional<Array<T>> weights) {
    const auto Xv = view_of(X, "X");
    const std::vector<T> w = weights_of(weights);
    py::gil_scoped_release nogil;
    if (weights)
      mb_.partial_fit(Xv, w);
    else
      mb_.partial_fit(Xv);
  }

  py::array_t<std::int32_t> predict(const Array<T>& X) const { return predict_rows(mb_, X); }

  // (labels, inertia) of the rows of X under the current centroids, in one pass.
  py::tuple labels_and_inertia(const Array<T>& X, std::optional<Array<T>> weights) const {
    const auto Xv = view_of(X, "X");
    const std::vector<T> w = weights_of(weights);
    std::pair<std::vector<std::int32_t>, double> r;
    {
      py::gil_scoped_release nogil;
      r = weights ? mb_.labels_and_inertia(Xv, w) : mb_.labels_and_inertia(Xv);
    }
    return py::make_tuple(to_numpy<std::int32_t>(r.first), r.second);
  }

  py::array_t<T> centroids() const { return to_numpy(mb_.centroids()); }
  std::size_t n_steps() const { return mb_.n_steps(); }

  py::tuple get_state() const {
    const auto s = mb_.state();
    return py::make_tuple(to_numpy(s.centroids), to_numpy<double>(s.counts), to_numpy<T>(s.shift), s.steps);
  }
  void set_state(const Array<T>& centroids, const py::array_t<double, py::array::c_style>& counts,
                 const Array<T>& shift, std::size_t steps) {
    typename lloyd::MiniBatchKMeans<T>::State s;
    s.centroids = to_matrix(centroids, "state.centroids");
    s.counts.assign(counts.data(), counts.data() + counts.size());
    s.shift.assign(shift.data(), shift.data() + shift.size());
    s.steps = steps;
    mb_.set_state(std::move(s));
  }

 private:
  lloyd::MiniBatchKMeans<T> mb_;
};

template <class T>
void bind_minibatch(py::module_& m, const char* name) {
  py::class_<MiniBatch<T>>(m, name)
      .def(py::init<std::size_t, std::size_t, int, double, int, const std::string&, std::size_t, int, double,
                    std::uint64_t, int, bool>(),
           py::arg("n_clusters"), py::arg("batch_size"), py::arg("max_iter"), py::arg("tol"),
           py::arg("max_no_improvement"), py::arg("init"), py::arg("init_size"), py::arg("n_init"),
           py::arg("reassignment_ratio"), py::arg("seed"), py::arg("n_threads"), py::arg("verbose"))
      .def("fit", &MiniBatch<T>::fit, py::arg("X"), py::arg("init").none(true), py::arg("sample_weight").none(true))
      .def("start_from", &MiniBatch<T>::start_from, py::arg("init"))
      .def("partial_fit", &MiniBatch<T>::partial_fit, py::arg("X"), py::arg("sample_weight").none(true))
      .def("predict", &MiniBatch<T>::predict, py::arg("X"))
      .def("labels_and_inertia", &MiniBatch<T>::labels_and_inertia, py::arg("X"), py::arg("sample_weight").none(true))
      .def("centroids", &MiniBatch<T>::centroids)
      .def("n_steps", &MiniBatch<T>::n_steps)
      .def("get_state", &MiniBatch<T>::get_state)
      .def("set_state", &MiniBatch<T>::set_state);
}

// (centroids, indices) of a seeding of X.
template <class T>
py::tuple seed_rows(const Array<T>& X, std::size_t n_clusters, const std::string& method, std::uint64_t seed,
                    std::optional<Array<T>> weights, int n_threads) {
  const auto Xv = view_of(X, "X");
  const std::vector<T> w = weights_of(weights);
  lloyd::Seeding<T> s;
  {
    py::gil_scoped_release nogil;
    const std::vector<T>* wp = weights ? &w : nullptr;
    if (method == "k-means||")
      s = lloyd::kmeans_parallel<T>(Xv, n_clusters, seed, wp, n_threads);
    else if (method == "random")
      s = lloyd::random_rows<T>(Xv, n_clusters, seed, wp);
    else
      s = lloyd::kmeans_plusplus<T>(Xv, n_clusters, seed, wp, n_threads);
  }
  return py::make_tuple(to_numpy(s.centroids), to_numpy<std::int64_t>(s.indices));
}

// The clustering measures (lloyd/metrics.hpp) of X and its labels, without the GIL.
using Labels = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

std::vector<std::int32_t> labels_of(const Labels& labels) {
  return std::vector<std::int32_t>(labels.data(), labels.data() + labels.size());
}

// score(view of X, labels) without the GIL.
template <class T, class Score>
double scored(const Array<T>& X, const Labels& labels, Score score) {
  const auto Xv = view_of(X, "X");
  const auto l = labels_of(labels);
  py::gil_scoped_release nogil;
  return score(Xv, l);
}

template <class T>
void bind_scores(py::module_& m) {
  using View = lloyd::MatrixView<const T>;
  using Ints = std::vector<std::int32_t>;
  m.def(
      "silhouette_score",
      [](const Array<T>& X, const Labels& labels, std::size_t sample_size, std::uint64_t seed, int n_threads) {
        return scored(X, labels, [&](View Xv, const Ints& l) {
          return lloyd::silhouette_score(Xv, l, sample_size, seed, n_threads);
        });
      },
      py::arg("X"), py::arg("labels"), py::arg("sample_size"), py::arg("seed"), py::arg("n_threads"));
  m.def(
      "calinski_harabasz_score",
      [](const Array<T>& X, const Labels& labels) {
        return scored(X, labels, [](View Xv, const Ints& l) { return lloyd::calinski_harabasz(Xv, l); });
      },
      py::arg("X"), py::arg("labels"));
  m.def(
      "davies_bouldin_score",
      [](const Array<T>& X, const Labels& labels) {
        return scored(X, labels, [](View Xv, const Ints& l) { return lloyd::davies_bouldin(Xv, l); });
      },
      py::arg("X"), py::arg("labels"));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lloyd's C++ core (use the lloyd package, not this module)";
  bind_model<float>(m, "KMeans32");
  bind_model<double>(m, "KMeans64");
  bind_minibatch<float>(m, "MiniBatch32");
  bind_minibatch<double>(m, "MiniBatch64");
  m.def("seed_rows", &seed_rows<float>, py::arg("X"), py::arg("n_clusters"), py::arg("method"), py::arg("seed"),
        py::arg("sample_weight").none(true), py::arg("n_threads"));
  m.def("seed_rows", &seed_rows<double>, py::arg("X"), py::arg("n_clusters"), py::arg("method"), py::arg("seed"),
        py::arg("sample_weight").none(true), py::arg("n_threads"));
  bind_scores<float>(m);
  bind_scores<double>(m);
  m.def("data_address", [](py::array a) { return reinterpret_cast<std::uintptr_t>(a.data()); },
        "Address of an array's first element (tests: no copy on the way to the core).");
  m.attr("version") = std::to_string(LLOYD_VERSION_MAJOR) + "." + std::to_string(LLOYD_VERSION_MINOR) + "." +
                      std::to_string(LLOYD_VERSION_PATCH);
  py::register_exception<lloyd::NotFittedError>(m, "NotFittedError", PyExc_ValueError);
}
