// lloyd-cluster: k-means on a CSV, .npy or raw float32 file from the command line.
// SPDX-License-Identifier: MIT
//
// Stages: parse the command line (options.hpp) -> read the input (file_io/readers.hpp)
// -> fit (here) -> write labels and centroids (file_io/writers.hpp) -> plot (plot.hpp)
// -> report (report.hpp). Each output is written whole or not at all.
//
// Exit codes: 0 success; 2 usage error (bad option or value); 3 input error (missing or
// unreadable file, malformed CSV/.npy, NaN/Inf); 4 the data cannot be clustered as asked
// (e.g. k larger than the number of rows); 5 an output could not be written;
// 1 anything else. Errors are one line on stderr: "lloyd-cluster: error: ...".
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define LLOYD_CLI_ISATTY(fd) isatty(fd)
#else
#define LLOYD_CLI_ISATTY(fd) 0
#endif

#include "../../file_io/readers.hpp"
#include "../../file_io/writers.hpp"
#include "options.hpp"
#include "plot.hpp"
#include "report.hpp"
#include "sweep.hpp"

namespace {

using namespace lloyd_cli;
using lloyd_io::InputError;
using lloyd_io::OutputError;
using lloyd_io::Table;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The precision of the fit: --float32/--float64, else what the file stores (float64
// for float64 .npy and CSV, float32 for everything else).
int precision_of(const Options& o) {
  if (o.precision) return o.precision;
  return lloyd_io::natural_precision(o.input, o.format.empty() ? lloyd_io::format_from_name(o.input) : o.format);
}

// The input as T: .npy/raw files that store T are mapped (no copy), the rest converted once.
template <class T>
Table<T> read_input(const Options& o) {
  const std::string format = o.format.empty() ? lloyd_io::format_from_name(o.input) : o.format;
  if (o.input == "-") {
    if (format != "csv") throw UsageError("standard input (-) is read as CSV only");
    return lloyd_io::read_csv<T>(std::cin, "<stdin>", {o.delimiter, o.header});
  }
  if (format == "npy") return lloyd_io::open_npy<T>(o.input);
  if (format == "raw") return lloyd_io::open_raw_f32<T>(o.input, o.dims);
  return lloyd_io::open_csv<T>(o.input, {o.delimiter, o.header});
}

template <class T>
lloyd::MatrixView<const T> view_of(const Table<T>& t) {
  return lloyd::MatrixView<const T>(t.data(), t.rows, t.cols, t.cols);
}

// A centroids file (--init FILE, predict --centroids FILE) as T: .npy or CSV, k x d with
// d the input's features.
template <class T>
Table<T> read_centroids(const std::string& path, std::size_t d) {
  Table<T> C = lloyd_io::format_from_name(path) == "npy" ? lloyd_io::open_npy<T>(path) : lloyd_io::open_csv<T>(path);
  if (C.cols != d)
    throw InputError(path + ": centroids of " + std::to_string(C.cols) + " features, but the input has " +
                     std::to_string(d));
  return C;
}

// The options of a mini-batch fit from the command line's (its own defaults where the
// shared options were not given).
lloyd::MiniBatchParams mini_batch_params(const Options& o, std::size_t k) {
  lloyd::MiniBatchParams m;
  m.n_clusters = k;
  m.batch_size = o.batch_size;
  if (o.max_iter_given) m.max_iter = o.params.max_iter;
  if (o.tol_given) m.tol = o.params.tol;
  if (o.n_init_given) m.n_init = o.params.n_init;
  m.init = o.params.init;
  m.seed = o.params.seed;
  m.n_threads = o.params.n_threads;
  m.verbose = o.params.verbose;
  return m;
}

// The fit, with its phase on the status line (seeding, then each iteration, at most ten
// updates a second); from the given starting centroids when C is not null.
template <class T>
lloyd::Result<T> fit(const Options& o, lloyd::MatrixView<const T> X, const Table<T>* C, Status& status) {
  const std::size_t k = C ? C->rows : o.params.n_clusters;
  if (o.mini_batch) {
    status.show("  mini-batch k-means, k = " + std::to_string(k) + " ...");
    lloyd::MiniBatchKMeans<T> mb(mini_batch_params(o, k));
    return C ? mb.fit(X, view_of(*C)) : mb.fit(X);
  }
  lloyd::Params p = o.params;
  p.n_clusters = k;
  status.show(C ? "  k = " + std::to_string(k) + ": iterating from " + o.init_path + " ..."
                : "  k = " + std::to_string(k) + ": seeding (" +
                      lloyd::to_string(lloyd::seeding_for(p.init, k, X.rows())) + ") ...");
  double last = -1;
  p.on_iteration = [&](const lloyd::IterationStats& s) {
    if (s.elapsed_seconds - last < 0.1) return;
    last = s.elapsed_seconds;
    char line[160];
    std::snprintf(line, sizeof line, "  k = %zu: run %d, iteration %d, inertia %.6g, %zu changed, %.1f s", k, s.run + 1,
                  s.iteration, s.inertia, s.n_changed, s.elapsed_seconds);
    status.show(line);
  };
  return C ? lloyd::KMeans<T>(p).fit(X, view_of(*C)) : lloyd::KMeans<T>(p).fit(X);
}

// How every command ends: the JSON summary to --summary (written whole or not at all),
// the status line cleared, then the JSON (--json) or the text report on stdout.
template <class PrintText>
int report(const Options& o, const std::string& json, Status& status, PrintText print_text) {
  if (!o.summary_path.empty()) {
    lloyd_io::AtomicFile f(o.summary_path);
    f.stream() << json;
    f.commit();
  }
  status.clear();
  if (o.json)
    std::cout << json;
  else if (!o.quiet)
    print_text();
  return 0;
}

// lloyd-cluster predict: the nearest of the given centroids for every row.
template <class T>
int run_predict(const Options& o, Status& status) {
  Timings t;
  auto t0 = clock_type::now();
  status.show("  reading " + o.input + " ...");
  const Table<T> table = read_input<T>(o);
  const Table<T> C = read_centroids<T>(o.centroids_path, table.cols);
  t.read = seconds_since(t0);
  t0 = clock_type::now();
  status.show("  labelling " + std::to_string(table.rows) + " rows ...");
  const auto model = lloyd::KMeans<T>::from_centroids(view_of(C), o.params);
  auto [labels, dist] = model.predict_with_distances(view_of(table));
  t.fit = seconds_since(t0);
  t0 = clock_type::now();
  status.show("  writing ...");
  if (!o.labels_path.empty()) lloyd_io::write_labels(o.labels_path, labels);
  if (!o.distances_path.empty()) lloyd_io::write_matrix(o.distances_path, dist.data(), dist.size(), 1, 1);
  t.write = seconds_since(t0);
  // The report of a fit that ended at these centroids: inertia as the fit defines it.
  lloyd::Result<T> r;
  r.centroids = lloyd::Matrix<T>(view_of(C));
  r.labels = std::move(labels);
  for (const T v : dist)
    r.inertia += o.params.metric == lloyd::Metric::SquaredEuclidean ? double(v) * double(v) : double(v);
  r.converged = true;
  const Run run{"predict", "", o.centroids_path};
  return report(o, summary_json(o.input, table.rows, o.params.metric, r, t, run), status,
                [&] { print_summary(table.rows, o.params.metric, r, t, run); });
}

// A k sweep: one fit per k (each the fit -k K would run), scored, tabled and plotted.
template <class T>
int run_sweep(const Options& o, Status& status) {
  const auto t_read = clock_type::now();
  status.show("  reading " + o.input + " ...");
  const Table<T> table = read_input<T>(o);
  const double read_seconds = seconds_since(t_read);
  const lloyd::MatrixView<const T> X = view_of(table);
  const std::size_t n = table.rows;
  if (o.sweep.back() >= n)
    throw std::invalid_argument("-k: k = " + std::to_string(o.sweep.back()) + " needs more than " + std::to_string(n) +
                                " rows (the scores need k < n)");
  const std::size_t sampled = std::min(n, sweep_exact_rows);
  std::vector<SweepRow> rows;
  for (std::size_t i = 0; i < o.sweep.size(); ++i) {
    Options one = o;
    one.params.n_clusters = o.sweep[i];
    const auto t0 = clock_type::now();
    const lloyd::Result<T> r = fit<T>(one, X, nullptr, status);
    SweepRow row;
    row.k = o.sweep[i];
    row.inertia = r.inertia;
    row.iterations = r.n_iter;
    row.seconds = seconds_since(t0);
    status.show("  k = " + std::to_string(row.k) + " (" + std::to_string(i + 1) + " of " +
                std::to_string(o.sweep.size()) + "): scoring ...");
    row.silhouette = lloyd::silhouette_score(X, r.labels, sampled == n ? 0 : sampled, o.params.seed, o.params.n_threads);
    row.calinski_harabasz = lloyd::calinski_harabasz(X, r.labels);
    row.davies_bouldin = lloyd::davies_bouldin(X, r.labels);
    rows.push_back(row);
  }
  status.show("  writing ...");
  const char* dtype = sizeof(T) == 4 ? "float32" : "float64";
  if (!o.table_path.empty()) write_sweep_csv(o.table_path, rows);
  if (!o.plot_path.empty())
    write_sweep_svg(o.plot_path, "k-means on " + o.input + ": " + std::to_string(n) + " rows, " +
                                     std::to_string(table.cols) + " features",
                    rows);
  return report(o, sweep_json(o.input, n, table.cols, dtype, sampled, rows), status, [&] {
    print_sweep(n, table.cols, dtype, sampled, rows);
    std::printf("time: read %s\n", duration(read_seconds).c_str());
  });
}

template <class T>
int run(const Options& o) {
  Status status(!o.quiet && !o.params.verbose && LLOYD_CLI_ISATTY(2));
  if (o.predict) return run_predict<T>(o, status);
  if (!o.sweep.empty()) return run_sweep<T>(o, status);
  Timings t;
  auto t0 = clock_type::now();
  status.show("  reading " + o.input + " ...");
  const Table<T> table = read_input<T>(o);
  Table<T> C;
  if (!o.init_path.empty()) {
    C = read_centroids<T>(o.init_path, table.cols);
    if (o.k_given && C.rows != o.params.n_clusters)
      throw InputError(o.init_path + ": " + std::to_string(C.rows) + " centroids, but -k " +
                       std::to_string(o.params.n_clusters));
  }
  t.read = seconds_since(t0);
  const lloyd::MatrixView<const T> X = view_of(table);
  t0 = clock_type::now();
  const lloyd::Result<T> r = fit<T>(o, X, o.init_path.empty() ? nullptr : &C, status);
  t.fit = seconds_since(t0);

  t0 = clock_type::now();
  status.show("  writing ...");
  if (!o.labels_path.empty()) lloyd_io::write_labels(o.labels_path, r.labels);
  if (!o.centroids_path.empty())
    lloyd_io::write_matrix(o.centroids_path, r.centroids.data(), r.centroids.rows(), r.centroids.cols(),
                           r.centroids.stride());
  t.write = seconds_since(t0);

  if (!o.plot_path.empty()) {
    t0 = clock_type::now();
    status.show("  plotting ...");
    write_plot(o.plot_path, X, r, o.plot_sample, o.params.seed);
    t.plot = seconds_since(t0);
  }

  const Run run{o.mini_batch ? "mini-batch" : lloyd::to_string(r.algorithm), o.mini_batch ? "steps" : "iterations",
                o.init_path};
  return report(o, summary_json(o.input, table.rows, o.params.metric, r, t, run), status,
                [&] { print_summary(table.rows, o.params.metric, r, t, run); });
}

int fail(int code, const std::exception& e) {
  std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_args(argc, argv);
    return precision_of(o) == 32 ? run<float>(o) : run<double>(o);
  } catch (const ShowText& s) {
    std::cout << s.text;
    return 0;
  } catch (const UsageError& e) {
    return fail(2, e);
  } catch (const InputError& e) {
    return fail(3, e);
  } catch (const std::invalid_argument& e) {
    return fail(4, e);
  } catch (const OutputError& e) {
    return fail(5, e);
  } catch (const std::exception& e) {
    return fail(1, e);
  }
}
