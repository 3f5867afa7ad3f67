#!/usr/bin/python3
"""lloyd's iteration rate across shapes, beside scikit-learn and faiss on the same arrays
(issue 12, item 5).

For each cell of the grid (d x k, float32 and float64) this runs bench_shapes, which
measures lloyd's time per Lloyd iteration and writes the cell's data and initial
centroids as .npy; then, where they are installed, it times scikit-learn and faiss on
those arrays from the same initial centroids. scikit-learn: its own Lloyd iteration, the
routine KMeans(algorithm="lloyd").fit loops over, called directly (its convergence test
would end runs early), median of iterations 2 to I + 1 as for lloyd (whose figure,
from bench_shapes, is the median of its per-iteration timers). faiss (float32 only):
Kmeans.train with the initial centroids and no subsampling, time per iteration =
(t(2 + I) - t(2)) / I, t the fastest of 3 whole fits (--quick: 2) after a warm-up, so
set-up costs and the first iteration's relocation of empty clusters cancel. Every
library gets the same threads.

Writes bench/results/shapes.md (tables), shapes.svg (heat map of lloyd's share of the
FMA peak, with its lead over the faster peer) and shapes.jsonl (every measurement).

    /usr/bin/python3 bench/shapes.py --bin build/bench/bench/bench_shapes [--threads 2]
        [--quick] [--d 8,64] [--k 256] [--precision float32] [--no-peers] [--out DIR]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

D_GRID = [8, 16, 32, 64, 128, 256, 784, 1024]
K_GRID = [16, 256, 1024, 4096, 16384]


def run_bench(args, precision, extra):
    cmd = [args.bin, "--threads", str(args.threads)] + extra
    if precision == "float64":
        cmd.append("--double")
    if args.quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def two_point(fit, extra, repeats):
    """Seconds per iteration from whole fits of 2 and 2 + extra iterations (so that fixed
    costs and the first iteration's relocation of empty clusters cancel), after a warm-up
    fit of 1; fit(m) returns (seconds, iterations run). Slow peers get fewer iterations
    and runs: about 0.6 s of iterations, at least one; one run where a fit of 2 takes over
    a second."""
    fit(1)
    t1, i1 = fit(2)
    if t1 < 1.0:
        t1, i1 = min([(t1, i1)] + [fit(2) for _ in range(repeats - 1)])
    else:
        repeats = 1
    extra = max(1, min(extra, round(0.6 / (t1 / 2))))
    tm, im = min(fit(2 + extra) for _ in range(repeats))
    if im <= i1 or tm <= t1:  # no iterations to time, or noise larger than them: no figure
        return None, im
    return (tm - t1) / (im - i1), im - i1


def sklearn_rate(X, C, threads, extra, repeats):
    """scikit-learn's own Lloyd iteration, as KMeans.fit loops over it (the E and M steps in
    lloyd_iter_chunked_dense, then the label comparison of its convergence test), called
    directly so that its convergence test cannot end the run: the median of `extra`
    iterations after one, fastest of `repeats` runs. (KMeans.fit computes the inertia only
    at the end; lloyd's iterations include theirs.)"""
    import numpy as np
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense
    from threadpoolctl import threadpool_limits

    n, k = X.shape[0], C.shape[0]
    X = np.ascontiguousarray(X)
    weights = np.ones(n, dtype=X.dtype)
    best = None
    with threadpool_limits(limits=1, user_api="blas"):  # as KMeans.fit; its OpenMP threads come from n_threads
        for _ in range(repeats):
            centers, centers_new = C.copy(), np.zeros_like(C)
            labels = np.full(n, -1, dtype=np.int32)
            labels_old = labels.copy()
            weight_in_clusters = np.zeros(k, dtype=X.dtype)
            center_shift = np.zeros(k, dtype=X.dtype)
            times = []
            for it in range(1 + extra):
                t0 = time.perf_counter()
                lloyd_iter_chunked_dense(X, weights, centers, centers_new, weight_in_clusters, labels, center_shift,
                                         threads)
                centers, centers_new = centers_new, centers
                np.array_equal(labels, labels_old)
                labels_old[:] = labels
                if it > 0:
                    times.append(time.perf_counter() - t0)
            median = sorted(times)[len(times) // 2]
            best = median if best is None else min(best, median)
            if median * extra > 2.0:
                break  # slow: one run is enough
    return best, extra


def faiss_rate(X, C, threads, extra, repeats):
    import faiss

    faiss.omp_set_num_threads(threads)
    n, d = X.shape

    def fit(m):
        km = faiss.Kmeans(d, C.shape[0], niter=m, max_points_per_centroid=n, min_points_per_centroid=1,
                          verbose=False, seed=1)
        t0 = time.perf_counter()
        km.train(X, init_centroids=C)
        return time.perf_counter() - t0, m

    return two_point(fit, extra, repeats)


def peers_available():
    have = {}
    for name in ("sklearn", "faiss"):
        try:
            __import__(name)
            have[name] = True
        except ImportError:
            have[name] = False
    return have


def measure(args):
    import numpy as np

    have = peers_available() if not args.peers_off else {"sklearn": False, "faiss": False}
    records = []
    for precision in args.precision:
        peak = run_bench(args, precision, ["--peak-only"])[0]["peak"]
        records.append({"peak": peak})
        print(f"{precision}: FMA peak {peak['gflops']:.1f} GFLOP/s on {peak['threads']} threads ({peak['isa']})",
              file=sys.stderr)
        for d in args.d:
            for k in args.k:
                with tempfile.TemporaryDirectory() as tmp:
                    cell = run_bench(args, precision,
                                     ["--d", str(d), "--k", str(k), "--arrays", tmp, "--peak", str(peak["gflops"])])[-1]
                    flops = 2.0 * cell["n"] * d * k
                    repeats = 2 if args.quick else 3
                    if have["sklearn"] or have["faiss"]:
                        X = np.load(os.path.join(tmp, f"X_{d}_{k}.npy"))
                        C = np.load(os.path.join(tmp, f"init_{d}_{k}.npy"))
                        for name, rate in (("sklearn", sklearn_rate), ("faiss", faiss_rate)):
                            if not have[name] or (name == "faiss" and precision != "float32"):
                                continue
                            if flops > args.peer_max_flops:
                                cell[name] = {"ms_per_iteration": None, "gflops": None, "iterations": 0,
                                              "skipped": f"one iteration is {flops:.2g} flops"}
                                continue
                            seconds, iterations = rate(X, C, args.threads, cell["iterations"], repeats)
                            cell[name] = {"ms_per_iteration": seconds * 1e3 if seconds else None,
                                          "gflops": flops / seconds * 1e-9 if seconds else None,
                                          "iterations": iterations}
                records.append(cell)
                peers = ", ".join(f"{p} {cell[p]['gflops']:.1f}" for p in ("sklearn", "faiss")
                                  if p in cell and cell[p]["gflops"])
                print(f"  d={d} k={k} n={cell['n']}: lloyd {cell['gflops']:.1f} GFLOP/s "
                      f"({cell['percent_of_peak']:.0f} %){'; ' + peers if peers else ''}", file=sys.stderr)
    return records


def fmt(x, digits=1):
    return "" if x is None else f"{x:.{digits}f}"


def lead(cell):
    rates = [cell[p]["gflops"] for p in ("sklearn", "faiss") if p in cell and cell[p]["gflops"]]
    return cell["gflops"] / max(rates) if rates else None


def write_markdown(records, path, header, peer_max_flops):
    lines = ["# Lloyd iteration rate across shapes", "", *header, "",
             "Time per Lloyd iteration (assignment, update, inertia) over iterations 2 to I + 1 from the "
             "same k random rows (lloyd: median of its per-iteration timers; scikit-learn: median of its "
             "Lloyd iteration routine's times, called as KMeans.fit does; faiss: difference of whole fits "
             "of 2 and 2 + I iterations); rate = 2 n d k flops per iteration; % of the FMA "
             "peak the benchmark measured at start-up on the same threads. Peers on the same arrays, "
             "same threads; faiss is float32 only; the peers skip cells whose iteration needs over "
             f"{peer_max_flops:.2g} flops (minutes each; empty cells). *lead*: lloyd's rate over the faster peer's.", ""]
    peaks = {r["peak"]["precision"]: r["peak"] for r in records if "peak" in r}
    for precision, peak in peaks.items():
        lines += [f"## {precision}", "",
                  f"FMA peak {peak['gflops']:.1f} GFLOP/s on {peak['threads']} threads "
                  f"({peak['gflops_1_thread']:.1f} on one), xsimd architecture {peak['isa']}.", "",
                  "| d | k | n | lloyd ms/it. | lloyd GFLOP/s | % of peak | scikit-learn GFLOP/s | faiss GFLOP/s | lead |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for c in (r for r in records if r.get("precision") == precision):
            sk, fa = c.get("sklearn", {}), c.get("faiss", {})
            ld = lead(c)
            lines.append(f"| {c['d']} | {c['k']} | {c['n']} | {fmt(c['ms_per_iteration'], 2)} | {fmt(c['gflops'])} | "
                         f"{fmt(c['percent_of_peak'], 0)} | {fmt(sk.get('gflops'))} | {fmt(fa.get('gflops'))} | "
                         f"{'' if ld is None else f'{ld:.2f}x'} |")
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def colour(percent):
    """Red (0 %) through amber to green (100 % of peak)."""
    p = max(0.0, min(1.0, percent / 100.0))
    if p < 0.5:
        r, g = 220, int(60 + 2 * p * 150)
    else:
        r, g = int(220 - (p - 0.5) * 2 * 170), 210
    return f"rgb({r},{g},70)"


def write_svg(records, path, title):
    peaks = [r["peak"] for r in records if "peak" in r]
    ds = sorted({r["d"] for r in records if "d" in r})
    ks = sorted({r["k"] for r in records if "k" in r})
    cw, ch, left, top, gap = 86, 40, 60, 56, 40
    panel_w = left + cw * len(ks)
    width = panel_w * len(peaks) + gap * (len(peaks) - 1) + 20
    height = top + ch * len(ds) + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">{title}</text>']
    for p, peak in enumerate(peaks):
        x0 = 10 + p * (panel_w + gap)
        out.append(f'<text x="{x0 + left}" y="38" font-weight="bold">{peak["precision"]}: % of FMA peak '
                   f'({peak["gflops"]:.0f} GFLOP/s), lead over the faster peer</text>')
        for j, k in enumerate(ks):
            out.append(f'<text x="{x0 + left + j * cw + cw / 2}" y="{top - 4}" text-anchor="middle">k={k}</text>')
        for i, d in enumerate(ds):
            y = top + i * ch
            out.append(f'<text x="{x0 + left - 6}" y="{y + ch / 2 + 4}" text-anchor="end">d={d}</text>')
            for j, k in enumerate(ks):
                c = next((r for r in records if r.get("precision") == peak["precision"] and r.get("d") == d
                          and r.get("k") == k), None)
                x = x0 + left + j * cw
                if c is None:
                    continue
                ld = lead(c)
                out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" '
                           f'fill="{colour(c["percent_of_peak"])}"/>')
                out.append(f'<text x="{x + cw / 2}" y="{y + 17}" text-anchor="middle" font-weight="bold">'
                           f'{c["percent_of_peak"]:.0f} %</text>')
                if ld is not None:
                    out.append(f'<text x="{x + cw / 2}" y="{y + 32}" text-anchor="middle" font-size="11">'
                               f'{ld:.1f}x</text>')
    out.append(f'<text x="10" y="{height - 14}" font-size="11">Cell: lloyd\'s rate as a share of the '
               f'machine\'s multiply-add peak; below it, lloyd\'s rate over the faster of scikit-learn and '
               f'faiss (faiss: float32 only).</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    warnings.filterwarnings("ignore")  # scikit-learn's notes on empty clusters after one iteration
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bench/bench/bench_shapes")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--d", default=",".join(map(str, D_GRID)))
    ap.add_argument("--k", default=",".join(map(str, K_GRID)))
    ap.add_argument("--precision", default="float32,float64")
    ap.add_argument("--no-peers", dest="peers_off", action="store_true")
    ap.add_argument("--peer-max-flops", type=float, default=2e11,
                    help="cells whose iteration needs more flops are not run by the peers (default 2e11)")
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--header", action="append", default=[], help="a line for the tables' header (repeatable)")
    args = ap.parse_args()
    args.d = [int(v) for v in args.d.split(",")]
    args.k = [int(v) for v in args.k.split(",")]
    args.precision = args.precision.split(",")

    records = measure(args)
    versions = [f"Python {platform.python_version()}"]
    for name in ("numpy", "sklearn", "faiss"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            versions.append(f"{name}: not installed")
    header = args.header + [f"Threads: {args.threads} for every library; {', '.join(versions)}; "
                            f"{datetime.date.today().isoformat()}" + ("; --quick" if args.quick else "")]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "shapes.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    write_markdown(records, os.path.join(args.out, "shapes.md"), header, args.peer_max_flops)
    write_svg(records, os.path.join(args.out, "shapes.svg"), f"lloyd Lloyd iteration across shapes, {args.threads} threads")


if __name__ == "__main__":
    main()
