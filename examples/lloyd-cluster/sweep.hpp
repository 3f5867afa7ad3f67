// lloyd-cluster: choosing k. `-k 2:12` (every k), `-k 2:64:4` (a step) or `-k 4,8,16` fits
// each k and reports, per k, the inertia, the silhouette score (exact up to
// sweep_exact_rows rows, else on a seeded random sample of that many), the
// Calinski-Harabasz and Davies-Bouldin indices and the time; the suggested k is the one
// with the highest silhouette. Every k's fit is exactly the fit `-k K` with the same
// options would run (nothing is carried from one k to the next); what the sweep shares is
// the input (read or mapped once) and the silhouette's sample rows.
// SPDX-License-Identifier: MIT
#pragma once

#include <lloyd/lloyd.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "../../file_io/writers.hpp"
#include "report.hpp"

namespace lloyd_cli {

/// Rows up to which the sweep's silhouette is exact (n^2 distances); a sample above.
inline constexpr std::size_t sweep_exact_rows = 20000;

struct SweepRow {
  std::size_t k = 0;
  double inertia = 0, silhouette = 0, calinski_harabasz = 0, davies_bouldin = 0, seconds = 0;
  int iterations = 0;
};

/// The index of the suggested row: the highest silhouette (the first on ties).
inline std::size_t suggested(const std::vector<SweepRow>& rows) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (rows[i].silhouette > rows[best].silhouette) best = i;
  return best;
}

inline std::string sweep_json(const std::string& input, std::size_t n, std::size_t d, const char* dtype,
                              std::size_t silhouette_rows, const std::vector<SweepRow>& rows) {
  std::ostringstream js;
  js.precision(12);
  js << "{\n  \"input\": \"" << json_escape(input) << "\",\n  \"n\": " << n << ",\n  \"d\": " << d
     << ",\n  \"dtype\": \"" << dtype << "\",\n  \"silhouette_rows\": " << silhouette_rows
     << ",\n  \"suggested_k\": " << rows[suggested(rows)].k
     << ",\n  \"rule\": \"highest silhouette\",\n  \"sweep\": [";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SweepRow& r = rows[i];
    js << (i ? "," : "") << "\n    {\"k\": " << r.k << ", \"inertia\": " << r.inertia << ", \"silhouette\": " << r.silhouette
       << ", \"calinski_harabasz\": " << r.calinski_harabasz << ", \"davies_bouldin\": " << r.davies_bouldin
       << ", \"iterations\": " << r.iterations << ", \"seconds\": " << r.seconds << "}";
  }
  js << "\n  ]\n}\n";
  return js.str();
}

inline void write_sweep_csv(const std::string& path, const std::vector<SweepRow>& rows) {
  lloyd_io::AtomicFile f(path);
  f.stream().precision(12);
  f.stream() << "k,inertia,silhouette,calinski_harabasz,davies_bouldin,iterations,seconds\n";
  for (const SweepRow& r : rows)
    f.stream() << r.k << ',' << r.inertia << ',' << r.silhouette << ',' << r.calinski_harabasz << ','
               << r.davies_bouldin << ',' << r.iterations << ',' << r.seconds << '\n';
  f.commit();
}

inline void print_sweep(std::size_t n, std::size_t d, const char* dtype, std::size_t silhouette_rows,
                        const std::vector<SweepRow>& rows) {
  std::printf("%zu rows x %zu features (%s); silhouette on %s\n", n, d, dtype,
              silhouette_rows == n ? "all rows" : (std::to_string(silhouette_rows) + " sampled rows").c_str());
  std::printf("%6s %16s %11s %18s %15s %6s %10s\n", "k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
              "iter", "time");
  const std::size_t best = suggested(rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SweepRow& r = rows[i];
    std::printf("%6zu %16.8g %11.4f %18.6g %15.4f %6d %10s%s\n", r.k, r.inertia, r.silhouette, r.calinski_harabasz,
                r.davies_bouldin, r.iterations, duration(r.seconds).c_str(), i == best ? "  <- suggested" : "");
  }
  std::printf("suggested k = %zu (highest silhouette)\n", rows[best].k);
}

/// Two panels as SVG: inertia against k (the elbow) and silhouette against k, the
/// suggested k marked on both.
inline void write_sweep_svg(const std::string& path, const std::string& title, const std::vector<SweepRow>& rows) {
  const double W = 900, H = 380, top = 50, bottom = 50, left = 80, gap = 90, pw = (W - left - gap - 30) / 2,
               ph = H - top - bottom;
  const double kmin = double(rows.front().k), kmax = std::max(double(rows.back().k), kmin + 1);
  const std::size_t best = suggested(rows);
  lloyd_io::AtomicFile f(path);
  std::ostream& out = f.stream();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                "<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">",
                W, H, W / 2);
  out << buf << json_escape(title) << "</text>\n";
  auto panel = [&](double x0, const char* name, auto value) {
    double lo = value(rows[0]), hi = lo;
    for (const SweepRow& r : rows) {
      lo = std::min(lo, value(r));
      hi = std::max(hi, value(r));
    }
    if (hi == lo) hi = lo + 1;
    const double pad = 0.05 * (hi - lo);
    lo -= pad;
    hi += pad;
    auto px = [&](double k) { return x0 + (k - kmin) / (kmax - kmin) * pw; };
    auto py = [&](double v) { return top + ph - (v - lo) / (hi - lo) * ph; };
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">k</text>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
                  x0, top, pw, ph, x0 + pw / 2, H - 12, x0 - 58, top + ph / 2, x0 - 58, top + ph / 2, name);
    out << buf;
    for (int t = 0; t <= 4; ++t) {  // value ticks
      const double v = lo + (hi - lo) * t / 4;
      std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.4g</text>\n",
                    x0 - 4, py(v) + 3, v);
      out << buf;
    }
    const std::size_t step = std::max<std::size_t>(1, rows.size() / 10);
    for (std::size_t i = 0; i < rows.size(); i += step) {  // k ticks
      std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%zu</text>\n",
                    px(double(rows[i].k)), top + ph + 14, rows[i].k);
      out << buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"5,4\"/>\n",
                  px(double(rows[best].k)), top, px(double(rows[best].k)), top + ph);
    out << buf << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
    for (const SweepRow& r : rows) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(double(r.k)), py(value(r)));
      out << buf;
    }
    out << "\"/>\n";
    for (const SweepRow& r : rows) {
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"/>\n", px(double(r.k)),
                    py(value(r)));
      out << buf;
    }
  };
  panel(left, "inertia", [](const SweepRow& r) { return r.inertia; });
  panel(left + pw + gap, "silhouette", [](const SweepRow& r) { return r.silhouette; });
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#d62728\">suggested k = %zu (highest silhouette)</text>\n",
                left + pw + gap, top - 8, rows[best].k);
  out << buf << "</svg>\n";
  f.commit();
}

}  // namespace lloyd_cli
