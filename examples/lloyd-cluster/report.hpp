// lloyd-cluster: what a run reports, as JSON (--json, --summary) or as text.
// SPDX-License-Identifier: MIT
#pragma once

#include <lloyd/lloyd.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace lloyd_cli {

/// Seconds spent in each stage.
struct Timings {
  double read = 0, fit = 0, write = 0, plot = 0;
};

inline std::string json_escape(const std::string& s) {
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
inline std::string duration(double seconds) {
  char buf[32];
  if (seconds < 1)
    std::snprintf(buf, sizeof buf, "%.3g ms", seconds * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.3g s", seconds);
  return buf;
}

/// What ran: the algorithm's name ("hamerly", "mini-batch", "predict"), what its
/// iterations are called ("iterations", "steps"; empty for predict), and the centroids
/// file it started from or labelled with (empty for none).
struct Run {
  std::string algorithm;
  std::string steps;
  std::string centroids_file;
};

/// One status line on stderr, rewritten in place, on a terminal only (never with --quiet
/// or --verbose): the phase the tool is in (reading, seeding, iteration n, scoring,
/// writing, k of a sweep). Cleared before the summary and when an error ends the run.
class Status {
 public:
  explicit Status(bool on) : on_(on) {}
  ~Status() { clear(); }
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;

  void show(const std::string& text) {
    if (!on_) return;
    std::fprintf(stderr, "\r%-78.78s", text.c_str());
    std::fflush(stderr);
    shown_ = true;
  }
  void clear() {
    if (!shown_) return;
    std::fprintf(stderr, "\r%78s\r", "");
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  bool on_;
  bool shown_ = false;
};

/// Rows per cluster.
template <class T>
std::vector<std::size_t> cluster_sizes(const lloyd::Result<T>& r) {
  std::vector<std::size_t> sizes(r.centroids.rows(), 0);
  for (auto l : r.labels) ++sizes[static_cast<std::size_t>(l)];
  return sizes;
}

/// The JSON summary of a fit of `input` (n rows) with metric m.
template <class T>
std::string summary_json(const std::string& input, std::size_t n, lloyd::Metric m, const lloyd::Result<T>& r,
                         const Timings& t, const Run& run) {
  const std::vector<std::size_t> sizes = cluster_sizes(r);
  std::ostringstream js;
  js.precision(17);
  js << "{\n  \"input\": \"" << json_escape(input) << "\",\n  \"n\": " << n << ",\n  \"d\": " << r.centroids.cols()
     << ",\n  \"k\": " << r.centroids.rows() << ",\n  \"dtype\": \"" << (sizeof(T) == 4 ? "float32" : "float64")
     << "\",\n  \"metric\": \"" << lloyd::to_string(m) << "\",\n  \"algorithm\": \"" << json_escape(run.algorithm)
     << "\",\n  \"centroids_file\": \"" << json_escape(run.centroids_file)
     << "\",\n  \"inertia\": " << r.inertia << ",\n  \"iterations\": " << r.n_iter
     << ",\n  \"converged\": " << (r.converged ? "true" : "false")
     << ",\n  \"distance_evaluations\": " << r.distance_evaluations;
  js.precision(6);
  js << ",\n  \"seconds\": {\"read\": " << t.read << ", \"fit\": " << t.fit << ", \"write\": " << t.write
     << ", \"plot\": " << t.plot << "},\n  \"cluster_sizes\": [";
  for (std::size_t c = 0; c < sizes.size(); ++c) js << (c ? ", " : "") << sizes[c];
  js << "]\n}\n";
  return js.str();
}

/// The text summary on stdout.
template <class T>
void print_summary(std::size_t n, lloyd::Metric m, const lloyd::Result<T>& r, const Timings& t, const Run& run) {
  const std::vector<std::size_t> sizes = cluster_sizes(r);
  std::printf("%zu rows x %zu features (%s), k = %zu, metric %s, %s %s%s\n", n, r.centroids.cols(),
              sizeof(T) == 4 ? "float32" : "float64", r.centroids.rows(), lloyd::to_string(m),
              run.steps.empty() ? "nearest of the centroids in" : "algorithm", run.steps.empty() ? "" : run.algorithm.c_str(),
              run.steps.empty() ? run.centroids_file.c_str()
                                : (run.centroids_file.empty() ? "" : (", from " + run.centroids_file).c_str()));
  if (run.steps.empty())
    std::printf("inertia %.10g\n", r.inertia);
  else
    std::printf("%s after %d %s; inertia %.10g\n", r.converged ? "converged" : "stopped", r.n_iter, run.steps.c_str(),
                r.inertia);
  std::printf("time: read %s, %s %s, write %s%s\n", duration(t.read).c_str(), run.steps.empty() ? "predict" : "fit",
              duration(t.fit).c_str(), duration(t.write).c_str(),
              t.plot > 0 ? (", plot " + duration(t.plot)).c_str() : "");
  std::printf("cluster sizes:");
  for (std::size_t s : sizes) std::printf(" %zu", s);
  std::printf("\n");
}

}  // namespace lloyd_cli
