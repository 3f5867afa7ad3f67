// lloyd-cluster: a 2-D scatter plot (first two principal components) as SVG, no
// dependencies; write_plot is the tool's plot stage. SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <lloyd/lloyd.hpp>

#include "../../file_io/writers.hpp"

namespace lloyd_cli {

/// The two leading principal directions of a sample (power iteration with deflation on
/// the covariance, in double) and the share of variance each explains.
struct Pca2 {
  std::vector<double> mean, axis1, axis2;
  double explained1 = 0, explained2 = 0;
};

inline Pca2 principal_axes(const std::vector<double>& rows, std::size_t n, std::size_t d) {
  Pca2 p;
  p.mean.assign(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) p.mean[j] += rows[i * d + j] / double(n);
  std::vector<double> cov(d * d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a) {
      const double xa = rows[i * d + a] - p.mean[a];
      for (std::size_t b = a; b < d; ++b) cov[a * d + b] += xa * (rows[i * d + b] - p.mean[b]);
    }
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t b = a; b < d; ++b) cov[b * d + a] = cov[a * d + b] /= double(std::max<std::size_t>(1, n - 1));
  double trace = 0;
  for (std::size_t a = 0; a < d; ++a) trace += cov[a * d + a];
  auto power = [&](std::vector<double>& v) {
    double lambda = 0;
    for (std::size_t j = 0; j < d; ++j) v[j] = 1.0 / std::sqrt(double(d)) * (1 + 0.01 * double(j));
    for (int it = 0; it < 300; ++it) {
      std::vector<double> w(d, 0.0);
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = 0; b < d; ++b) w[a] += cov[a * d + b] * v[b];
      double norm = 0;
      for (double x : w) norm += x * x;
      norm = std::sqrt(norm);
      if (norm == 0) break;
      for (std::size_t j = 0; j < d; ++j) v[j] = w[j] / norm;
      lambda = norm;
    }
    return lambda;
  };
  p.axis1.assign(d, 0.0);
  p.axis2.assign(d, 0.0);
  const double l1 = power(p.axis1);
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t b = 0; b < d; ++b) cov[a * d + b] -= l1 * p.axis1[a] * p.axis1[b];
  const double l2 = d > 1 ? power(p.axis2) : 0.0;
  if (d == 1) p.axis2[0] = 0;
  p.explained1 = trace > 0 ? l1 / trace : 0;
  p.explained2 = trace > 0 ? l2 / trace : 0;
  return p;
}

/// SVG scatter: points coloured by label, centroids as crossed circles, axes labelled.
inline void write_scatter_svg(std::ostream& out, const std::vector<double>& x, const std::vector<double>& y,
                              const std::vector<std::int32_t>& label, const std::vector<double>& cx,
                              const std::vector<double>& cy, const std::string& title, const std::string& x_label,
                              const std::string& y_label) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e6550d", "#31a354", "#756bb1",
                                  "#843c39", "#637939", "#d6616b", "#3182bd", "#fd8d3c", "#74c476"};
  const double W = 760, H = 560, left = 70, right = 150, top = 50, bottom = 60;
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xmin = std::min(xmin, x[i]), xmax = std::max(xmax, x[i]);
    ymin = std::min(ymin, y[i]), ymax = std::max(ymax, y[i]);
  }
  for (std::size_t c = 0; c < cx.size(); ++c) {
    xmin = std::min(xmin, cx[c]), xmax = std::max(xmax, cx[c]);
    ymin = std::min(ymin, cy[c]), ymax = std::max(ymax, cy[c]);
  }
  if (!(xmax > xmin)) xmin -= 1, xmax += 1;
  if (!(ymax > ymin)) ymin -= 1, ymax += 1;
  const double padx = 0.04 * (xmax - xmin), pady = 0.04 * (ymax - ymin);
  xmin -= padx, xmax += padx, ymin -= pady, ymax += pady;
  const double pw = W - left - right, ph = H - top - bottom;
  auto sx = [&](double v) { return left + (v - xmin) / (xmax - xmin) * pw; };
  auto sy = [&](double v) { return top + ph - (v - ymin) / (ymax - ymin) * ph; };
  char buf[256];
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << ' '
      << H << "\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << left + pw / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">"
      << title << "</text>\n";
  out << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (int t = 0; t <= 4; ++t) {  // ticks
    const double vx = xmin + (xmax - xmin) * t / 4, vy = ymin + (ymax - ymin) * t / 4;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%.3g</text>\n", sx(vx),
                  top + ph + 16, vx);
    out << buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.3g</text>\n", left - 6,
                  sy(vy) + 4, vy);
    out << buf;
  }
  out << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 18 << "\" text-anchor=\"middle\" font-size=\"13\">" << x_label
      << "</text>\n";
  out << "<text x=\"18\" y=\"" << top + ph / 2 << "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 "
      << top + ph / 2 << ")\">" << y_label << "</text>\n<g fill-opacity=\"0.65\">\n";
  for (std::size_t i = 0; i < x.size(); ++i) {
    std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"%s\"/>\n", sx(x[i]), sy(y[i]),
                  palette[static_cast<std::size_t>(label[i]) % 20]);
    out << buf;
  }
  out << "</g>\n";
  for (std::size_t c = 0; c < cx.size(); ++c) {
    const double px = sx(cx[c]), py = sy(cy[c]);
    std::snprintf(buf, sizeof buf,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"%s\" stroke=\"black\" stroke-width=\"2\"/>"
                  "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"black\" stroke-width=\"1.5\"/>\n",
                  px, py, palette[c % 20], px - 5, py - 5, px + 5, py + 5, px - 5, py + 5, px + 5, py - 5);
    out << buf;
  }
  // Legend (clusters beyond 20 reuse the colours).
  const std::size_t shown = std::min<std::size_t>(cx.size(), 20);
  for (std::size_t c = 0; c < shown; ++c) {
    const double ly = top + 10 + 18.0 * double(c);
    std::snprintf(buf, sizeof buf,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">cluster %zu</text>\n",
                  W - right + 20, ly, palette[c], W - right + 32, ly + 4, c);
    out << buf;
  }
  if (cx.size() > shown) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">(+%zu more)</text>\n", W - right + 14,
                  top + 10 + 18.0 * double(shown), cx.size() - shown);
    out << buf;
  }
  std::snprintf(buf, sizeof buf,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"white\" stroke=\"black\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">centroid</text>\n",
                W - right + 20, H - bottom - 4, W - right + 32, H - bottom);
  out << buf << "</svg>\n";
}

/// The plot stage of lloyd-cluster: a sample of rows (all of them when few), projected on
/// its first two principal components with the centroids, as SVG at path (atomically).
template <class T>
void write_plot(const std::string& path, lloyd::MatrixView<const T> X, const lloyd::Result<T>& r,
                std::size_t sample_size, std::uint64_t seed) {
  const std::size_t n = X.rows(), d = X.cols(), k = r.centroids.rows();
  // A sample of rows (all of them when few), then PCA on it.
  std::vector<std::size_t> rows;
  if (n <= sample_size) {
    for (std::size_t i = 0; i < n; ++i) rows.push_back(i);
  } else {
    std::mt19937_64 rng(seed + 7);
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    for (std::size_t i = 0; i < sample_size; ++i) std::swap(all[i], all[i + rng() % (n - i)]);
    rows.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(sample_size));
  }
  std::vector<double> sample(rows.size() * d);
  for (std::size_t q = 0; q < rows.size(); ++q)
    for (std::size_t j = 0; j < d; ++j) sample[q * d + j] = static_cast<double>(X(rows[q], j));
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
  lloyd_io::AtomicFile f(path);
  write_scatter_svg(f.stream(), px, py, pl, cx, cy, title, xl, yl);
  f.commit();
}

}  // namespace lloyd_cli
