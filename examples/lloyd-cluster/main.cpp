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

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
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

namespace {

using namespace lloyd_cli;
using lloyd_io::InputError;
using lloyd_io::OutputError;
using lloyd_io::Table;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

Table read_input(const Options& o) {
  const std::string format = o.format.empty() ? lloyd_io::format_from_name(o.input) : o.format;
  if (o.input == "-") {
    if (format != "csv") throw UsageError("standard input (-) is read as CSV only");
    return lloyd_io::read_csv(std::cin, "<stdin>", {o.delimiter, o.header});
  }
  std::ifstream in(o.input, std::ios::binary);
  if (!in) throw InputError(o.input + ": cannot open (" + std::strerror(errno) + ")");
  if (format == "npy") return lloyd_io::read_npy(in, o.input);
  if (format == "raw") return lloyd_io::read_raw_f32(in, o.input, o.dims);
  return lloyd_io::read_csv(in, o.input, {o.delimiter, o.header});
}

// The fit, with progress on a terminal for runs that take a while (after the first second).
template <class T>
lloyd::Result<T> fit(const Options& o, const Table& table) {
  const std::size_t n = table.rows, d = table.cols;
  lloyd::Matrix<T> X(n, d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<T>(table.values[i * d + j]);
  lloyd::Params p = o.params;
  bool progress_shown = false;
  if (!o.quiet && !p.verbose && LLOYD_CLI_ISATTY(2)) {
    p.on_iteration = [&](const lloyd::IterationStats& s) {
      if (s.elapsed_seconds < 1.0) return;
      std::fprintf(stderr, "\r  run %d  iteration %4d  inertia %.6g  changed %zu  %.1f s   ", s.run + 1, s.iteration,
                   s.inertia, s.n_changed, s.elapsed_seconds);
      progress_shown = true;
    };
  }
  struct EndLine {  // ends the progress line, also when the fit throws
    const bool& shown;
    ~EndLine() {
      if (shown) std::fprintf(stderr, "\n");
    }
  } end_line{progress_shown};
  return lloyd::KMeans<T>(p).fit(X);
}

template <class T>
int run(const Options& o, const Table& table, Timings t) {
  auto t0 = clock_type::now();
  const lloyd::Result<T> r = fit<T>(o, table);
  t.fit = seconds_since(t0);

  t0 = clock_type::now();
  if (!o.labels_path.empty()) lloyd_io::write_labels(o.labels_path, r.labels);
  if (!o.centroids_path.empty())
    lloyd_io::write_matrix(o.centroids_path, r.centroids.data(), r.centroids.rows(), r.centroids.cols(),
                           r.centroids.stride());
  t.write = seconds_since(t0);

  if (!o.plot_path.empty()) {
    t0 = clock_type::now();
    write_plot(o.plot_path, table, r, o.plot_sample, o.params.seed);
    t.plot = seconds_since(t0);
  }

  const std::string json = summary_json(o.input, table.rows, o.params.metric, r, t);
  if (!o.summary_path.empty()) {
    lloyd_io::AtomicFile f(o.summary_path);
    f.stream() << json;
    f.commit();
  }
  if (o.json)
    std::cout << json;
  else if (!o.quiet)
    print_summary(table.rows, o.params.metric, r, t);
  return 0;
}

int fail(int code, const std::exception& e) {
  std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_args(argc, argv);
    const auto t0 = clock_type::now();
    const Table table = read_input(o);
    Timings t;
    t.read = seconds_since(t0);
    const bool single = o.precision == 32 || (o.precision == 0 && table.single_precision);
    return single ? run<float>(o, table, t) : run<double>(o, table, t);
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
