#!/usr/bin/env python3
"""Turns bench_lloyd's JSON output into bench/results/README.md (tables) and
bench/results/speedup.svg (speedup over the naive baseline along the three sweeps of
the Mojo k-means port). Standard library only.

usage: report.py RESULTS.json OUT_DIR [machine description lines...]
       (an ALGORITHMS.json beside RESULTS.json, from bench_algorithms, adds its tables)
"""
import json
import re
import sys
from html import escape
from pathlib import Path

NAME = re.compile(r"^(naive|blas|lloyd)/(\w+)/n:(\d+)/d:(\d+)/k:(\d+)")


def load(path):
    with open(path) as f:
        doc = json.load(f)
    cases = {}
    headline = None
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"]
        if name.startswith("headline/"):
            if headline is None or b["ms_per_fit"] < headline["ms_per_fit"]:
                headline = b
            continue
        m = NAME.match(name)
        if not m:
            continue
        impl, sweep, n, d, k = m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5))
        case = cases.setdefault((sweep, n, d, k), {"sweep": sweep, "n": n, "d": d, "k": k})
        # Repetitions: keep the fastest (noise on a shared machine only adds time).
        if impl not in case or b["ms_per_iter"] < case[impl]["ms_per_iter"]:
            case[impl] = b
    return doc.get("context", {}), cases, headline


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}g}"


def row_values(c):
    naive = c.get("naive", {}).get("ms_per_iter")
    lloyd = c.get("lloyd", {}).get("ms_per_iter")
    blas = c.get("blas", {})
    return {
        "naive_ms": naive,
        "lloyd_ms": lloyd,
        "speedup": (naive / lloyd) if naive and lloyd else None,
        "lloyd_gflops": c.get("lloyd", {}).get("GFLOP/s"),
        "blas_gflops": blas.get("GFLOP/s"),
        "vs_blas": (c["lloyd"]["GFLOP/s"] / blas["GFLOP/s"]) if "lloyd" in c and blas.get("GFLOP/s") else None,
        "blas_speedup": (naive / blas["ms_per_iter"]) if naive and blas.get("ms_per_iter") else None,
    }


def table(cases, sweep, var):
    rows = sorted((c for c in cases.values() if c["sweep"] == sweep), key=lambda c: c[var])
    out = [
        "| n | d | k | naive ms/iter | lloyd ms/iter | speedup | lloyd GFLOP/s | OpenBLAS gemm GFLOP/s | lloyd / gemm |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in rows:
        v = row_values(c)
        out.append(
            f"| {c['n']} | {c['d']} | {c['k']} | {fmt(v['naive_ms'])} | {fmt(v['lloyd_ms'])} | "
            f"**{fmt(v['speedup'])}x** | {fmt(v['lloyd_gflops'])} | {fmt(v['blas_gflops'])} | {fmt(v['vs_blas'])} |"
        )
    return "\n".join(out), rows


def panel_svg(rows, var, title, subtitle, x0, y0, w, h):
    """One panel: speedup of lloyd (and of a bare gemm) over the naive baseline."""
    pts = [(c[var], row_values(c)) for c in rows]
    pts = [(x, v) for x, v in pts if v["speedup"]]
    if not pts:
        return ""
    xs = [x for x, _ in pts]
    ymax = max(max(v["speedup"] for _, v in pts), max((v["blas_speedup"] or 0) for _, v in pts))
    ymax = ymax * 1.15 if ymax > 0 else 1
    left, right, top, bottom = 52, 12, 46, 46
    pw, ph = w - left - right, h - top - bottom
    xmin, xmax = min(xs), max(xs)
    span = (xmax - xmin) or 1

    def sx(x):
        return x0 + left + (x - xmin) / span * pw

    def sy(y):
        return y0 + top + ph - y / ymax * ph

    parts = [
        f'<text x="{x0 + w / 2:.1f}" y="{y0 + 18}" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{x0 + w / 2:.1f}" y="{y0 + 34}" text-anchor="middle" font-size="11" fill="#555">{escape(subtitle)}</text>',
        f'<rect x="{x0 + left}" y="{y0 + top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    # y grid and labels
    step = nice_step(ymax / 5)
    y = 0.0
    while y <= ymax:
        parts.append(f'<line x1="{x0 + left}" x2="{x0 + left + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 + left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="10">{y:g}</text>')
        y += step
    # x labels (at most ~8)
    every = max(1, len(xs) // 8 + (1 if len(xs) % 8 else 0))
    for i, x in enumerate(xs):
        if i % every == 0 or i == len(xs) - 1:
            parts.append(f'<text x="{sx(x):.1f}" y="{y0 + top + ph + 14}" text-anchor="middle" font-size="10">{x}</text>')
    parts.append(f'<text x="{x0 + left + pw / 2:.1f}" y="{y0 + h - 8}" text-anchor="middle" font-size="11">{escape(var)}</text>')
    parts.append(
        f'<text x="{x0 + 14}" y="{y0 + top + ph / 2:.1f}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 {x0 + 14} {y0 + top + ph / 2:.1f})">speedup over naive (x)</text>'
    )
    for key, colour, label in (("speedup", "#d62728", "lloyd"), ("blas_speedup", "#1f77b4", "OpenBLAS gemm only")):
        series = [(x, v[key]) for x, v in pts if v[key]]
        if not series:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in series)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in series:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
    # legend
    ly = y0 + top + 10
    for colour, label in (("#d62728", "lloyd (whole iteration)"), ("#1f77b4", "one OpenBLAS gemm of the shape")):
        parts.append(f'<line x1="{x0 + left + 8}" x2="{x0 + left + 26}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x0 + left + 30}" y="{ly + 4}" font-size="10">{label}</text>')
        ly += 14
    return "\n".join(parts)


def algorithm_tables(path):
    """Tables from bench_algorithms' JSON (fastest repetition of each benchmark)."""
    if not path.exists():
        return []
    with open(path) as f:
        doc = json.load(f)
    best = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = re.sub(r"/(min_time|repeats):[^/]*", "", b["name"]).replace("/real_time", "").rstrip("/")
        key = "ms_per_fit" if "ms_per_fit" in b else "seconds"
        if name not in best or b[key] < best[name][key]:
            best[name] = b
    md = ["## Exact algorithms to convergence (float32, same k-means++ start, tol 1e-4)", "",
          "Every algorithm returns Lloyd's labels, centroids and inertia bit for bit; what differs is the",
          "time and the point-centroid distances they compute (Lloyd: n k per pass, final relabelling included).",
          "",
          "| data | algorithm | ms per fit | iterations | distances computed | share of Lloyd's | speedup vs Lloyd |",
          "|---|---|---:|---:|---:|---:|---:|"]
    for name, b in best.items():
        if not name.startswith("algo/"):
            continue
        _, data, algo = name.split("/")
        md.append(f"| {data} | {algo} | {fmt(b['ms_per_fit'])} | {b['iterations']:.0f} | "
                  f"{b['distance_evaluations'] / 1e6:.1f} M | {100 * b['share_of_lloyd_evaluations']:.1f} % | "
                  f"**{b.get('speedup_vs_lloyd', 0):.2f}x** |")
    md.append("")
    mb = {n.split("/")[-1]: b for n, b in best.items() if n.startswith("minibatch/")}
    if mb:
        full, mini = mb.get("KMeans"), mb.get("MiniBatchKMeans")
        md += ["## Mini-batch vs full k-means (float32 blobs, n = 1 000 000, d = 64, k = 100, defaults)", "",
               "| | ms per fit | iterations / steps | inertia |", "|---|---:|---:|---:|"]
        if full:
            md.append(f"| KMeans (k-means++, Auto) | {fmt(full['ms_per_fit'])} | {full['iterations']:.0f} | {full['inertia']:.6g} |")
        if mini:
            md.append(f"| MiniBatchKMeans (batch 1024) | {fmt(mini['ms_per_fit'])} | {mini['steps']:.0f} | {mini['inertia']:.6g} |")
        if full and mini:
            md += ["", f"Mini-batch: **{full['ms_per_fit'] / mini['ms_per_fit']:.1f}x less time**, inertia "
                       f"**{100 * (mini['inertia'] / full['inertia'] - 1):+.2f} %** of the full fit's."]
        md.append("")
    seeds = [(n, b) for n, b in best.items() if n.startswith("seeding/")]
    if seeds:
        md += ["## Seeding at large k (float32 blobs, d = 128, k = 1000)", "",
               "| n | method | seconds | vs 3 Lloyd iterations |", "|---:|---|---:|---:|"]
        for name, b in seeds:
            _, shape, method = name.split("/")
            md.append(f"| {shape.split('_')[0][1:]} | {method.replace('_', ' ')} | {b['seconds']:.3f} | "
                      f"{b.get('vs_3_lloyd_iterations', 1.0):.2f} |")
        md.append("")
    return md


def nice_step(raw):
    if raw <= 0:
        return 1
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    context, cases, headline = load(sys.argv[1])
    out_dir = Path(sys.argv[2])
    machine = sys.argv[3:]
    out_dir.mkdir(parents=True, exist_ok=True)

    sweeps = [
        ("mojo_k", "k", "Clusters", "n = 2000, d = 200, float64, 10 iterations"),
        ("mojo_n", "n", "Samples", "k = 80, d = 200, float64, 10 iterations"),
        ("mojo_d", "d", "Features", "k = 5, n = 4000, float64, 10 iterations"),
    ]
    md = ["# lloyd benchmark results", ""]
    md += ["Machine:", ""] + [f"- {line}" for line in machine] + [""]
    if context:
        md.append(f"Google Benchmark context: {context.get('num_cpus', '?')} CPUs at "
                  f"{context.get('mhz_per_cpu', '?')} MHz, run {context.get('date', '?')}.")
        md.append("")
    md += [
        "All cases: `run_till_max_iter`, the same initial centroids for every implementation;",
        "each figure is the fastest of the repetitions of that benchmark in this one run.",
        "*naive*: the project's scalar reference (`detail/reference.hpp`), one point-centroid pair",
        "at a time, one thread. *lloyd*: `KMeans<T>::fit` on all threads, whole iterations",
        "(assignment, exact inertia, update) plus the final relabelling pass, divided by the",
        "iteration count. *OpenBLAS gemm*: one `cblas_?gemm` of the same n x k x d shape per",
        "iteration, the distance products alone, no arg-min, no update.",
        "GFLOP/s counts 2 n k d per iteration.",
        "",
    ]
    svg_parts = []
    W, H = 400, 300
    for i, (sweep, var, title, subtitle) in enumerate(sweeps):
        text, rows = table(cases, sweep, var)
        md += [f"## {title}: {subtitle}", "", text, ""]
        svg_parts.append(panel_svg(rows, var, f"Speedup vs {title.lower()}", subtitle, i * W, 0, W, H))
    large = sorted((c for c in cases.values() if c["sweep"] == "large"), key=lambda c: c["n"])
    if large:
        md += ["## Large float32", "", "| n | d | k | naive ms/iter | lloyd ms/iter | speedup | lloyd GFLOP/s | OpenBLAS sgemm GFLOP/s | lloyd / sgemm |",
               "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in large:
            v = row_values(c)
            md.append(f"| {c['n']} | {c['d']} | {c['k']} | {fmt(v['naive_ms'])} | {fmt(v['lloyd_ms'])} | "
                      f"**{fmt(v['speedup'])}x** | {fmt(v['lloyd_gflops'])} | {fmt(v['blas_gflops'])} | {fmt(v['vs_blas'])} |")
        md.append("")
    if headline:
        md += ["## The Mojo port's headline case", "",
               f"3000 x 100, k = 5, float64, a whole `fit` with k-means++: **{headline['ms_per_fit']:.3f} ms** for "
               f"{headline['iterations']:.0f} iterations ({headline['ms_per_iter']:.3f} ms per iteration, seeding included).",
               ""]
    md += algorithm_tables(Path(sys.argv[1]).with_name("bench_algorithms.json"))
    (out_dir / "README.md").write_text("\n".join(md))
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * W}" height="{H}" viewBox="0 0 {3 * W} {H}" '
           f'font-family="Helvetica, Arial, sans-serif">', f'<rect width="{3 * W}" height="{H}" fill="white"/>']
    svg += svg_parts + ["</svg>"]
    (out_dir / "speedup.svg").write_text("\n".join(svg))
    print(f"wrote {out_dir / 'README.md'} and {out_dir / 'speedup.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
