// lloyd-cluster: the command line, parsed into Options. Every option is one row of
// option_table; errors are UsageError (exit code 2). SPDX-License-Identifier: MIT
#pragma once

#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace lloyd_cli {

/// Bad command line (exit code 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// --help or --version: print text to stdout and exit with 0.
struct ShowText {
  std::string text;
};

inline constexpr const char* usage_text = R"(usage: lloyd-cluster -k K [options] INPUT
       lloyd-cluster predict --centroids C.npy|C.csv [options] INPUT

Clusters the rows of INPUT with k-means and reports the result; or (predict) labels
each row of INPUT with its nearest centroid in C.

INPUT                  .csv/.tsv/.txt (numbers, header optional), .npy (float16/32/64,
                       int8/16/32, uint8/16; float32/64 of the fit's type are mapped, not
                       copied), raw float32 (.f32/.bin/.raw, with --dims), or - for CSV on stdin
  --format F           csv, npy or raw (default: from the extension)
  --delimiter C        CSV delimiter: , ; | tab space (default: detected)
  --header, --no-header  whether the CSV's first line names the columns (default: detected)
  --dims D             values per row of raw float32 input

clustering (see lloyd::Params)
  -k, --clusters K     number of clusters (required unless --init FILE gives them);
                       A:B, A:B:STEP or a list K1,K2,... fits each k and reports inertia,
                       silhouette, Calinski-Harabasz, Davies-Bouldin and a suggested k
  --max-iter N         at most N iterations per run (300; mini-batch: passes, 100)
  --tol X              relative tolerance on centroid shifts (1e-4; mini-batch 0)
  --init M|FILE        auto (kmeans-parallel for k >= 128 and n >= 4 k, else kmeans++),
                       kmeans++, random, kmeans-parallel, or a CSV/.npy file of
                       starting centroids (k x d)
  --n-init N           seeded runs, best kept (1; mini-batch: seedings tried, 3)
  --mini-batch         mini-batch k-means (lloyd::MiniBatchKMeans), for very large inputs
  --batch-size N       rows per mini-batch step (1024)
  --seed S             seed of every random choice (0)
  --threads N          worker threads, 0 = all (0)
  --algorithm A        auto, lloyd, hamerly, elkan, yinyang or exponion (auto)
  --metric M           euclidean, cosine or dot (euclidean)
  --float32, --float64 arithmetic (default: float64 for float64 .npy and CSV, else float32)

outputs (written whole or not at all)
  --labels PATH        cluster of each row: text, one per line, or .npy (int32)
  --centroids PATH     the k centroids: CSV, or .npy (predict: the centroids to use)
  --distances PATH     predict: each row's distance to its centroid: text, or .npy
  --summary PATH       the JSON summary to a file
  --plot PATH.svg      scatter of the rows on their first two principal components
                       (a k sweep: inertia and silhouette against k)
  --table PATH.csv     a k sweep's table as CSV
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
  std::vector<std::size_t> sweep;            // -k A:B[:S] or K1,K2,...: the k of a sweep
  std::string table_path;
  bool predict = false;                      // the predict command
  std::string init_path;                     // --init FILE
  bool mini_batch = false;
  std::size_t batch_size = 1024;
  bool max_iter_given = false, tol_given = false, n_init_given = false;
  std::string distances_path;
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

inline char parse_delimiter(const std::string& v) {
  if (v == "tab" || v == "\\t") return '\t';
  if (v == "space") return ' ';
  if (v.size() == 1) return v[0];
  throw UsageError("option --delimiter: '" + v + "' is not one character, tab or space");
}

inline std::string parse_format(const std::string& v) {
  if (v != "csv" && v != "npy" && v != "raw") throw UsageError("option --format: '" + v + "' is not one of csv, npy, raw");
  return v;
}

/// The k of a sweep: "A:B" (every k from A to B), "A:B:STEP" or "K1,K2,..." (sorted,
/// distinct); every k at least 2 (the scores need two clusters).
inline std::vector<std::size_t> parse_sweep(const std::string& opt, const std::string& v) {
  std::vector<std::size_t> ks;
  auto parts = [&](char sep) {
    std::vector<std::string> out;
    std::size_t b = 0;
    for (std::size_t e; (e = v.find(sep, b)) != std::string::npos; b = e + 1) out.push_back(v.substr(b, e - b));
    out.push_back(v.substr(b));
    return out;
  };
  if (v.find(':') != std::string::npos) {
    const auto p = parts(':');
    if (p.size() > 3) throw UsageError("option " + opt + ": '" + v + "' is not A:B, A:B:STEP or K1,K2,...");
    const auto first = parse_number<std::size_t>(opt, p[0]), last = parse_number<std::size_t>(opt, p[1]);
    const auto step = p.size() == 3 ? parse_number<std::size_t>(opt, p[2]) : std::size_t(1);
    if (step == 0) throw UsageError("option " + opt + ": " + v + " has a step of 0");
    if (first > last) throw UsageError("option " + opt + ": " + v + " is an empty range (" + p[0] + " > " + p[1] + ")");
    for (std::size_t k = first; k <= last; k += step) ks.push_back(k);
  } else {
    for (const auto& t : parts(',')) ks.push_back(parse_number<std::size_t>(opt, t));
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  }
  if (ks.front() < 2)
    throw UsageError("option " + opt + ": " + v + " includes k = " + std::to_string(ks.front()) +
                     "; a sweep needs k >= 2 (the scores compare two or more clusters)");
  return ks;
}

/// One option: its names, whether it takes a value, and what it does to Options (`opt`
/// is the name used, for messages).
struct OptionSpec {
  const char* name;
  const char* alias;  // or nullptr
  bool takes_value;
  void (*apply)(Options& o, const std::string& opt, const std::string& value);
};

using S = const std::string&;
inline const OptionSpec option_table[] = {
    {"-h", "--help", false, [](Options&, S, S) { throw ShowText{usage_text}; }},
    {"--version", nullptr, false,
     [](Options&, S, S) {
       throw ShowText{"lloyd-cluster " + std::to_string(LLOYD_VERSION_MAJOR) + '.' + std::to_string(LLOYD_VERSION_MINOR) +
                      '.' + std::to_string(LLOYD_VERSION_PATCH) + '\n'};
     }},
    {"-k", "--clusters", true,
     [](Options& o, S a, S v) {
       if (v.find_first_of(":,") != std::string::npos)
         o.sweep = parse_sweep(a, v);
       else
         o.params.n_clusters = parse_number<std::size_t>(a, v);
       o.k_given = true;
     }},
    {"--table", nullptr, true, [](Options& o, S, S v) { o.table_path = v; }},
    {"--max-iter", nullptr, true,
     [](Options& o, S a, S v) {
       o.params.max_iter = parse_number<int>(a, v);
       o.max_iter_given = true;
     }},
    {"--tol", nullptr, true,
     [](Options& o, S a, S v) {
       o.params.tol = parse_number<double>(a, v);
       o.tol_given = true;
     }},
    {"--n-init", nullptr, true,
     [](Options& o, S a, S v) {
       o.params.n_init = parse_number<int>(a, v);
       o.n_init_given = true;
     }},
    {"--mini-batch", nullptr, false, [](Options& o, S, S) { o.mini_batch = true; }},
    {"--batch-size", nullptr, true, [](Options& o, S a, S v) { o.batch_size = parse_number<std::size_t>(a, v); }},
    {"--distances", nullptr, true, [](Options& o, S, S v) { o.distances_path = v; }},
    {"--seed", nullptr, true, [](Options& o, S a, S v) { o.params.seed = parse_number<std::uint64_t>(a, v); }},
    {"--threads", nullptr, true, [](Options& o, S a, S v) { o.params.n_threads = parse_number<int>(a, v); }},
    {"--init", nullptr, true,
     [](Options& o, S, S v) {  // a seeding's name, or a file (a name with '.' or '/')
       if (v.find('.') == std::string::npos && v.find('/') == std::string::npos)
         o.params.init = parse_choice<lloyd::Init>("--init", v);
       else
         o.init_path = v;
     }},
    {"--algorithm", nullptr, true, [](Options& o, S a, S v) { o.params.algorithm = parse_choice<lloyd::Algorithm>(a, v); }},
    {"--metric", nullptr, true, [](Options& o, S a, S v) { o.params.metric = parse_choice<lloyd::Metric>(a, v); }},
    {"--float32", nullptr, false, [](Options& o, S, S) { o.precision = 32; }},
    {"--float64", nullptr, false, [](Options& o, S, S) { o.precision = 64; }},
    {"--format", nullptr, true, [](Options& o, S, S v) { o.format = parse_format(v); }},
    {"--delimiter", nullptr, true, [](Options& o, S, S v) { o.delimiter = parse_delimiter(v); }},
    {"--header", nullptr, false, [](Options& o, S, S) { o.header = 1; }},
    {"--no-header", nullptr, false, [](Options& o, S, S) { o.header = 0; }},
    {"--dims", nullptr, true, [](Options& o, S a, S v) { o.dims = parse_number<std::size_t>(a, v); }},
    {"--labels", nullptr, true, [](Options& o, S, S v) { o.labels_path = v; }},
    {"--centroids", nullptr, true, [](Options& o, S, S v) { o.centroids_path = v; }},
    {"--summary", nullptr, true, [](Options& o, S, S v) { o.summary_path = v; }},
    {"--plot", nullptr, true, [](Options& o, S, S v) { o.plot_path = v; }},
    {"--plot-sample", nullptr, true, [](Options& o, S a, S v) { o.plot_sample = parse_number<std::size_t>(a, v); }},
    {"--json", nullptr, false, [](Options& o, S, S) { o.json = true; }},
    {"--quiet", nullptr, false, [](Options& o, S, S) { o.quiet = true; }},
    {"--verbose", nullptr, false, [](Options& o, S, S) { o.params.verbose = true; }},
};

inline const OptionSpec* find_option(const std::string& a) {
  for (const OptionSpec& s : option_table)
    if (a == s.name || (s.alias && a == s.alias)) return &s;
  return nullptr;
}

/// The command line, left to right; --help and --version end it (ShowText).
inline Options parse_args(int argc, char** argv) {
  Options o;
  o.params.n_threads = 0;
  int first = 1;
  if (argc > 1 && std::string(argv[1]) == "predict") {
    o.predict = true;
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (const OptionSpec* s = find_option(a)) {
      if (s->takes_value && i + 1 >= argc) throw UsageError("option " + a + " needs a value");
      s->apply(o, a, s->takes_value ? std::string(argv[++i]) : std::string());
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      throw UsageError("unknown option " + a + " (see --help)");
    } else {
      if (!o.input.empty()) throw UsageError("more than one input: '" + o.input + "' and '" + a + "'");
      o.input = a;
    }
  }
  if (o.input.empty()) throw UsageError("no input file (see --help)");
  if (o.predict) {
    if (o.centroids_path.empty()) throw UsageError("predict needs --centroids FILE (the centroids to label with)");
    if (o.k_given) throw UsageError("predict takes k from --centroids; drop -k");
    if (o.mini_batch || !o.init_path.empty() || !o.plot_path.empty())
      throw UsageError("predict takes no --mini-batch, --init FILE or --plot");
    return o;
  }
  if (!o.distances_path.empty()) throw UsageError("--distances is for predict (lloyd-cluster predict ...)");
  if (!o.sweep.empty()) {
    if (!o.labels_path.empty() || !o.centroids_path.empty() || !o.init_path.empty() || o.mini_batch)
      throw UsageError("a k sweep (-k A:B) takes no --labels, --centroids, --init FILE or --mini-batch");
  } else if (!o.table_path.empty()) {
    throw UsageError("--table is for a k sweep (-k A:B or -k K1,K2,...)");
  }
  if (!o.k_given && o.init_path.empty()) throw UsageError("the number of clusters is required: -k K");
  if (o.mini_batch && o.params.metric != lloyd::Metric::SquaredEuclidean)
    throw UsageError("--mini-batch clusters with --metric euclidean only");
  if (o.batch_size == 0) throw UsageError("option --batch-size: 0 must be >= 1");
  return o;
}

}  // namespace lloyd_cli
