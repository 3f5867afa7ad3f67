// lloyd-cluster: k-means on a CSV, .npy or raw float32 file from the command line.
// SPDX-License-Identifier: MIT
//
// Exit codes: 0 success; 2 usage error (bad option or value); 3 input error (missing or
// unreadable file, malformed CSV/.npy, NaN/Inf); 4 the data cannot be clustered as asked
// (e.g. k larger than the number of rows); 5 an output could not be written;
// 1 anything else. Errors are one line on stderr: "lloyd-cluster: error: ...".
#include <lloyd/lloyd.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <random>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define LLOYD_CLI_ISATTY(fd) isatty(fd)
#else
#define LLOYD_CLI_ISATTY(fd) 0
#endif

#include "io.hpp"
#include "plot.hpp"

namespace {

using namespace lloyd_cli;
using clock_type = std::chrono::steady_clock;

/// Bad command line (exit code 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* usage_text = R"(usage: lloyd-cluster -k K [options] INPUT

Clusters the rows of INPUT with k-means and reports the result.

INPUT                  .csv/.tsv/.txt (numbers, header optional), .npy (float32/float64),
                       raw float32 (.f32/.bin/.raw, with --dims), or - for CSV on stdin
  --format F           csv, npy or raw (default: from the extension)
  --delimiter C        CSV delimiter: , ; | tab space (default: detected)
  --header, --no-header  whether the CSV's first line names the columns (default: detected)
  --dims D             values per row of raw float32 input

clustering (see lloyd::Params)
  -k, --clusters K     number of clusters (required)
  --max-iter N         at most N iterations per run (300)
  --tol X              relative tolerance on centroid shifts (1e-4)
  --init M             kmeans++, random, kmeans-parallel or auto (kmeans++)
  --n-init N           seeded runs, best kept (1)
  --seed S             seed of every random choice (0)
  --threads N          worker threads, 0 = all (0)
  --algorithm A        auto, lloyd, hamerly, elkan or yinyang (auto)
  --metric M           euclidean, cosine or dot (euclidean)
  --float32, --float64 arithmetic (default: float32 for float32 files, else float64)

outputs (written whole or not at all)
  --labels PATH        cluster of each row: text, one per line, or .npy (int32)
  --centroids PATH     the k centroids: CSV, or .npy
  --summary PATH       the JSON summary to a file
  --plot PATH.svg      scatter of the rows on their first two principal components
  --plot-sample N      rows drawn for the plot (5000)
  --json               print the JSON summary on stdout instead of the text one
  --quiet              print nothing but errors
  --verbose            per-iteration lines from lloyd (stderr)
  -h, --help           this text;  --version  the version

exit codes: 0 ok, 2 usage, 3 input, 4 clustering parameters, 5 output, 1 other
)";

struct Options {
  std::string input;
  std::string format;
  char delimiter = 0;
  int header = -1;
  std::size_t dims = 0;
  lloyd::Params params;
  bool k_given = false;
  int precision = 0;  // 0 auto, 32, 64
  std::string labels_path, centroids_path, summary_path, plot_path;
  std::size_t plot_sample = 5000;
  bool json = false, quiet = false;
};

template <class N>
N parse_number(const std::string& opt, const std::string& text) {
  N value{};
  const char* b = text.data();
  const char* e = b + text.size();
  const auto r = std::from_chars(b, e, value);
  if (text.empty() || r.ec != std::errc() || r.ptr != e)
    throw UsageError("option " + opt + ": '" + text + "' is not a valid number");
  return value;
}

// An Init, Algorithm or Metric by name (the library's names).
template <class E>
E parse_choice(const std::string& opt, const std::string& text) {
  if (const auto v = lloyd::from_string<E>(text)) return *v;
  throw UsageError("option " + opt + ": '" + text + "' is not one of " + lloyd::choices<E>());
}

Options parse_args(int argc, char** argv) {
  Options o;
  o.params.n_threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << usage_text;
      std::exit(0);
    } else if (a == "--version") {
      std::cout << "lloyd-cluster " << LLOYD_VERSION_MAJOR << '.' << LLOYD_VERSION_MINOR << '.' << LLOYD_VERSION_PATCH << '\n';
      std::exit(0);
    } else if (a == "-k" || a == "--clusters") {
      o.params.n_clusters = parse_number<std::size_t>(a, value());
      o.k_given = true;
    } else if (a == "--max-iter") {
      o.params.max_iter = parse_number<int>(a, value());
    } else if (a == "--tol") {
      o.params.tol = parse_number<double>(a, value());
    } else if (a == "--n-init") {
      o.params.n_init = parse_number<int>(a, value());
    } else if (a == "--seed") {
      o.params.seed = parse_number<std::uint64_t>(a, value());
    } else if (a == "--threads") {
      o.params.n_threads = parse_number<int>(a, value());
    } else if (a == "--init") {
      o.params.init = parse_choice<lloyd::Init>(a, value());
    } else if (a == "--algorithm") {
      o.params.algorithm = parse_choice<lloyd::Algorithm>(a, value());
    } else if (a == "--metric") {
      o.params.metric = parse_choice<lloyd::Metric>(a, value());
    } else if (a == "--float32") {
      o.precision = 32;
    } else if (a == "--float64") {
      o.precision = 64;
    } else if (a == "--format") {
      o.format = value();
      if (o.format != "csv" && o.format != "npy" && o.format != "raw")
        throw UsageError("option --format: '" + o.format + "' is not one of csv, npy, raw");
    } else if (a == "--delimiter") {
      const std::string v = value();
      if (v == "tab" || v == "\\t") o.delimiter = '\t';
      else if (v == "space") o.delimiter = ' ';
      else if (v.size() == 1) o.delimiter = v[0];
      else throw UsageError("option --delimiter: '" + v + "' is not one character, tab or space");
    } else if (a == "--header") {
      o.header = 1;
    } else if (a == "--no-header") {
      o.header = 0;
    } else if (a == "--dims") {
      o.dims = parse_number<std::size_t>(a, value());
    } else if (a == "--labels") {
      o.labels_path = value();
    } else if (a == "--centroids") {
      o.centroids_path = value();
    } else if (a == "--summary") {
      o.summary_path = value();
    } else if (a == "--plot") {
      o.plot_path = value();
    } else if (a == "--plot-sample") {
      o.plot_sample = parse_number<std::size_t>(a, value());
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--verbose") {
      o.params.verbose = true;
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      throw UsageError("unknown option " + a + " (see --help)");
    } else {
      if (!o.input.empty()) throw UsageError("more than one input: '" + o.input + "' and '" + a + "'");
      o.input = a;
    }
  }
  if (o.input.empty()) throw UsageError("no input file (see --help)");
  if (!o.k_given) throw UsageError("the number of clusters is required: -k K");
  return o;
}

Table read_input(const Options& o) {
  std::string format = o.format;
  if (format.empty()) {
    if (o.input == "-") format = "csv";
    else if (ends_with(o.input, ".npy")) format = "npy";
    else if (ends_with(o.input, ".f32") || ends_with(o.input, ".bin") || ends_with(o.input, ".raw")) format = "raw";
    else format = "csv";
  }
  if (o.input == "-") {
    if (format != "csv") throw UsageError("standard input (-) is read as CSV only");
    return read_csv(std::cin, "<stdin>", {o.delimiter, o.header});
  }
  std::ifstream in(o.input, std::ios::binary);
  if (!in) throw InputError(o.input + ": cannot open (" + std::strerror(errno) + ")");
  if (format == "npy") return read_npy(in, o.input);
  if (format == "raw") return read_raw_f32(in, o.input, o.dims);
  return read_csv(in, o.input, {o.delimiter, o.header});
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out;
}

// "0.42 ms", "3.1 s": three significant digits in a readable unit.
std::string duration(double seconds) {
  char buf[32];
  if (seconds < 1)
    std::snprintf(buf, sizeof buf, "%.3g ms", seconds * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.3g s", seconds);
  return buf;
}

template <class T>
int run(const Options& o, const Table& table, double read_seconds) {
  const std::size_t n = table.rows, d = table.cols;
  lloyd::Matrix<T> X(n, d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) X(i, j) = static_cast<T>(table.values[i * d + j]);

  lloyd::Params p = o.params;
  // Progress on a terminal for runs that take a while (after the first second).
  const bool progress = !o.quiet && !p.verbose && LLOYD_CLI_ISATTY(2);
  const auto fit_start = clock_type::now();
  bool progress_shown = false;
  if (progress) {
    p.on_iteration = [&](const lloyd::IterationStats& s) {
      if (s.elapsed_seconds < 1.0) return;
      std::fprintf(stderr, "\r  run %d  iteration %4d  inertia %.6g  changed %zu  %.1f s   ", s.run + 1, s.iteration,
                   s.inertia, s.n_changed, s.elapsed_seconds);
      progress_shown = true;
    };
  }
  lloyd::KMeans<T> km(p);
  lloyd::Result<T> r;
  try {
    r = km.fit(X);
  } catch (const std::invalid_argument& e) {
    if (progress_shown) std::fprintf(stderr, "\n");
    throw;
  }
  if (progress_shown) std::fprintf(stderr, "\n");
  const double fit_seconds = std::chrono::duration<double>(clock_type::now() - fit_start).count();

  const std::size_t k = r.centroids.rows();
  std::vector<std::size_t> sizes(k, 0);
  for (auto l : r.labels) ++sizes[static_cast<std::size_t>(l)];

  const auto write_start = clock_type::now();
  if (!o.labels_path.empty()) {
    AtomicFile f(o.labels_path);
    if (ends_with(o.labels_path, ".npy")) {
      write_npy_header(f.stream(), "<i4", {n});
      f.stream().write(reinterpret_cast<const char*>(r.labels.data()), static_cast<std::streamsize>(n * sizeof(std::int32_t)));
    } else {
      for (auto l : r.labels) f.stream() << l << '\n';
    }
    f.commit();
  }
  if (!o.centroids_path.empty()) {
    AtomicFile f(o.centroids_path);
    if (ends_with(o.centroids_path, ".npy")) {
      write_npy_header(f.stream(), sizeof(T) == 4 ? "<f4" : "<f8", {k, d});
      for (std::size_t c = 0; c < k; ++c)
        f.stream().write(reinterpret_cast<const char*>(r.centroids.row(c)), static_cast<std::streamsize>(d * sizeof(T)));
    } else {
      char buf[64];
      for (std::size_t c = 0; c < k; ++c) {
        for (std::size_t j = 0; j < d; ++j) {
          std::snprintf(buf, sizeof buf, sizeof(T) == 4 ? "%.9g" : "%.17g", static_cast<double>(r.centroids(c, j)));
          f.stream() << (j ? "," : "") << buf;
        }
        f.stream() << '\n';
      }
    }
    f.commit();
  }
  const double write_seconds = std::chrono::duration<double>(clock_type::now() - write_start).count();

  double plot_seconds = 0;
  if (!o.plot_path.empty()) {
    const auto t0 = clock_type::now();
    // A sample of rows (all of them when few), then PCA on it.
    std::vector<std::size_t> rows;
    if (n <= o.plot_sample) {
      for (std::size_t i = 0; i < n; ++i) rows.push_back(i);
    } else {
      std::mt19937_64 rng(p.seed + 7);
      std::vector<std::size_t> all(n);
      for (std::size_t i = 0; i < n; ++i) all[i] = i;
      for (std::size_t i = 0; i < o.plot_sample; ++i) std::swap(all[i], all[i + rng() % (n - i)]);
      rows.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(o.plot_sample));
    }
    std::vector<double> sample(rows.size() * d);
    for (std::size_t q = 0; q < rows.size(); ++q)
      for (std::size_t j = 0; j < d; ++j) sample[q * d + j] = table.values[rows[q] * d + j];
    const Pca2 pca = principal_axes(sample, rows.size(), d);
    auto project = [&](const double* v, double& x, double& y) {
      x = y = 0;
      for (std::size_t j = 0; j < d; ++j) {
        x += (v[j] - pca.mean[j]) * pca.axis1[j];
        y += (v[j] - pca.mean[j]) * pca.axis2[j];
      }
    };
    std::vector<double> px(rows.size()), py(rows.size()), cx(k), cy(k);
    std::vector<std::int32_t> pl(rows.size());
    for (std::size_t q = 0; q < rows.size(); ++q) {
      project(&sample[q * d], px[q], py[q]);
      pl[q] = r.labels[rows[q]];
    }
    std::vector<double> c(d);
    for (std::size_t cl = 0; cl < k; ++cl) {
      for (std::size_t j = 0; j < d; ++j) c[j] = static_cast<double>(r.centroids(cl, j));
      project(c.data(), cx[cl], cy[cl]);
    }
    char title[256], xl[64], yl[64];
    std::snprintf(title, sizeof title, "k-means: %zu rows%s, %zu features, k = %zu", n,
                  rows.size() < n ? (" (" + std::to_string(rows.size()) + " shown)").c_str() : "", d, k);
    std::snprintf(xl, sizeof xl, "PC1 (%.1f %% of variance)", 100 * pca.explained1);
    std::snprintf(yl, sizeof yl, "PC2 (%.1f %% of variance)", 100 * pca.explained2);
    AtomicFile f(o.plot_path);
    write_scatter_svg(f.stream(), px, py, pl, cx, cy, title, xl, yl);
    f.commit();
    plot_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  }

  std::ostringstream js;
  js.precision(17);
  js << "{\n  \"input\": \"" << json_escape(o.input) << "\",\n  \"n\": " << n << ",\n  \"d\": " << d << ",\n  \"k\": " << k
     << ",\n  \"dtype\": \"" << (sizeof(T) == 4 ? "float32" : "float64") << "\",\n  \"metric\": \""
     << lloyd::to_string(p.metric) << "\",\n  \"algorithm\": \"" << lloyd::to_string(r.algorithm) << "\",\n  \"inertia\": " << r.inertia
     << ",\n  \"iterations\": " << r.n_iter << ",\n  \"converged\": " << (r.converged ? "true" : "false")
     << ",\n  \"distance_evaluations\": " << r.distance_evaluations;
  js.precision(6);
  js << ",\n  \"seconds\": {\"read\": " << read_seconds
     << ", \"fit\": " << fit_seconds << ", \"write\": " << write_seconds << ", \"plot\": " << plot_seconds
     << "},\n  \"cluster_sizes\": [";
  for (std::size_t c = 0; c < k; ++c) js << (c ? ", " : "") << sizes[c];
  js << "]\n}\n";
  if (!o.summary_path.empty()) {
    AtomicFile f(o.summary_path);
    f.stream() << js.str();
    f.commit();
  }
  if (o.json) {
    std::cout << js.str();
  } else if (!o.quiet) {
    std::printf("%zu rows x %zu features (%s), k = %zu, metric %s, algorithm %s\n", n, d,
                sizeof(T) == 4 ? "float32" : "float64", k, lloyd::to_string(p.metric), lloyd::to_string(r.algorithm));
    std::printf("%s after %d iterations; inertia %.10g\n", r.converged ? "converged" : "stopped", r.n_iter, r.inertia);
    std::printf("time: read %s, fit %s, write %s%s\n", duration(read_seconds).c_str(), duration(fit_seconds).c_str(),
                duration(write_seconds).c_str(), plot_seconds > 0 ? (", plot " + duration(plot_seconds)).c_str() : "");
    std::printf("cluster sizes:");
    for (std::size_t c = 0; c < k; ++c) std::printf(" %zu", sizes[c]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_args(argc, argv);
    const auto t0 = clock_type::now();
    const Table table = read_input(o);
    const double read_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    const bool single = o.precision == 32 || (o.precision == 0 && table.single_precision);
    return single ? run<float>(o, table, read_seconds) : run<double>(o, table, read_seconds);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
    return 2;
  } catch (const InputError& e) {
    std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
    return 3;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
    return 4;
  } catch (const OutputError& e) {
    std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
    return 5;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lloyd-cluster: error: %s\n", e.what());
    return 1;
  }
}
