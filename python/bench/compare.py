#!/usr/bin/python3
"""lloyd against scikit-learn (KMeans "lloyd" and "elkan", MiniBatchKMeans) and faiss
(where installed), from Python, on the same arrays.

For each shape: a whole default fit of each (one init: n_init=1 for every library;
scikit-learn seeds with k-means++, lloyd with its default init="auto", the same below
k = 128 and k-means|| above; tol 1e-4; faiss: its own random seeding, 25 iterations, on all rows
rather than its default sample of 256 per centroid) and 10 fixed iterations
from the same starting centroids (the first run's k-means++ rows, tol=0) with the time
per iteration; mini-batch defaults (batch 1024, n_init=3). The fastest of --repeat runs
is kept (the machine's noise only adds time). Writes a Markdown table and an SVG bar
chart (speed-up over scikit-learn's KMeans) to --out.

    PYTHONPATH=<build>/python /usr/bin/python3 python/bench/compare.py [--large] [--only TEXT] [--repeat N] [--out bench/results]

Shapes: the seed articles' 3000 x 100, k = 5 (float64) and 100k x 128, k = 1000
(float32; --large adds 500k x 128); Fashion-MNIST (Debian dataset-fashion-mnist, 70000 x
784 float32, pixel values 0-255) at k = 10 and 100.
"""
import argparse
import gzip
import os
import platform
import time
import warnings

import numpy as np

import lloyd

warnings.simplefilter("ignore")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.cluster import MiniBatchKMeans as SkMiniBatch  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402

try:
    import faiss
except ImportError:  # optional peer
    faiss = None

FASHION = "/usr/share/datasets/fashion-mnist"


def fashion_mnist():
    parts = []
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        with gzip.open(os.path.join(FASHION, name)) as f:
            data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
        parts.append(data.reshape(-1, 784))
    return np.concatenate(parts).astype(np.float32)


def timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cases(large):
    X, _ = make_blobs(3000, 100, centers=5, cluster_std=5.0, random_state=2024)
    yield "3000 x 100, k = 5, float64", X, 5
    X, _ = make_blobs(100_000, 128, centers=1000, cluster_std=1.0, random_state=1)
    yield "100k x 128, k = 1000, float32", X.astype(np.float32), 1000
    if large:
        X, _ = make_blobs(500_000, 128, centers=1000, cluster_std=1.0, random_state=1)
        yield "500k x 128, k = 1000, float32", X.astype(np.float32), 1000
    if os.path.isdir(FASHION):
        X = fashion_mnist()
        yield "Fashion-MNIST 70000 x 784, k = 10", X, 10
        yield "Fashion-MNIST 70000 x 784, k = 100", X, 100


def measure(name, X, k, repeat):
    rows = []
    n_threads = os.cpu_count()
    # Whole default fits.
    t, m = timed(lambda: lloyd.KMeans(k, random_state=0).fit(X), repeat)
    rows.append((name, "fit", "lloyd", t, m.inertia_, m.n_iter_))
    for algorithm in ("lloyd", "elkan"):
        t, m = timed(lambda: SkKMeans(k, n_init=1, algorithm=algorithm, random_state=0).fit(X), repeat)
        rows.append((name, "fit", f"scikit-learn ({algorithm})", t, m.inertia_, m.n_iter_))
    if faiss is not None:
        X32 = np.ascontiguousarray(X, dtype=np.float32)

        def faiss_fit():
            # All rows (faiss samples 256 per centroid by default).
            km = faiss.Kmeans(X.shape[1], k, niter=25, seed=1, verbose=False, max_points_per_centroid=X.shape[0])
            km.train(X32)
            return km

        t, km = timed(faiss_fit, repeat)
        _, labels = km.index.search(X32, 1)
        inertia = float(((X32 - km.centroids[labels[:, 0]]) ** 2).sum())
        rows.append((name, "fit", "faiss", t, inertia, 25))
    # Fixed iterations from the same start.
    C0 = X[lloyd.kmeans_plusplus(X, k, random_state=0)[1]]
    iters = 10
    t, m = timed(lambda: lloyd.KMeans(k, init=C0, max_iter=iters, tol=0, algorithm="lloyd").fit(X), repeat)
    rows.append((name, "iteration", "lloyd", t / m.n_iter_, m.inertia_, m.n_iter_))
    t, m = timed(lambda: lloyd.KMeans(k, init=C0, max_iter=iters, tol=0).fit(X), repeat)
    rows.append((name, "iteration", "lloyd (auto)", t / m.n_iter_, m.inertia_, m.n_iter_))
    for algorithm in ("lloyd", "elkan"):
        t, m = timed(lambda: SkKMeans(k, init=C0, n_init=1, max_iter=iters, tol=0, algorithm=algorithm).fit(X), repeat)
        rows.append((name, "iteration", f"scikit-learn ({algorithm})", t / m.n_iter_, m.inertia_, m.n_iter_))
    if faiss is not None:
        X32 = np.ascontiguousarray(X, dtype=np.float32)

        def faiss_iters():
            km = faiss.Kmeans(X.shape[1], k, niter=iters, verbose=False, max_points_per_centroid=X.shape[0])
            km.train(X32, init_centroids=np.ascontiguousarray(C0, dtype=np.float32))
            return km

        t, km = timed(faiss_iters, repeat)
        rows.append((name, "iteration", "faiss", t / iters, float("nan"), iters))
    # Mini-batch defaults.
    t, m = timed(lambda: lloyd.MiniBatchKMeans(k, random_state=0).fit(X), repeat)
    rows.append((name, "mini-batch", "lloyd", t, m.inertia_, m.n_iter_))
    t, m = timed(lambda: SkMiniBatch(k, random_state=0, n_init=3).fit(X), repeat)
    rows.append((name, "mini-batch", "scikit-learn", t, m.inertia_, m.n_iter_))
    print(f"done: {name} ({n_threads} threads)", flush=True)
    return rows


def table(rows):
    out = ["| shape | what | library | time | vs scikit-learn (lloyd) | inertia | iterations |", "|---|---|---|---:|---:|---:|---:|"]
    ref = {(r[0], r[1]): r[3] for r in rows if r[2] in ("scikit-learn (lloyd)", "scikit-learn")}
    for shape, what, lib, t, inertia, n_iter in rows:
        unit = f"{t * 1e3:.1f} ms" if t < 10 else f"{t:.2f} s"
        speed = ref.get((shape, what), float("nan")) / t
        out.append(f"| {shape} | {what} | {lib} | {unit} | {speed:.2f}x | {inertia:.6g} | {n_iter} |")
    return "\n".join(out)


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fits = [r for r in rows if r[1] in ("fit", "iteration")]
    groups = sorted({(r[0], r[1]) for r in fits}, key=lambda g: [r[:2] for r in fits].index(g))
    libs = ["lloyd", "scikit-learn (elkan)", "faiss"]
    ref = {(r[0], r[1]): r[3] for r in fits if r[2] == "scikit-learn (lloyd)"}
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(libs)
    for li, lib in enumerate(libs):
        vals = [next((ref[g] / r[3] for r in fits if (r[0], r[1]) == g and r[2] == lib), 0) for g in groups]
        ax.bar(np.arange(len(groups)) + li * width, vals, width, label=lib)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(groups)) + width * (len(libs) - 1) / 2)
    ax.set_xticklabels([f"{g[0]}\n{'whole fit' if g[1] == 'fit' else 'per iteration'}" for g in groups], fontsize=6)
    ax.set_ylabel("speed-up over scikit-learn KMeans (lloyd)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--only", help="run the cases whose name contains this text; results go to python_compare_only.md")
    args = ap.parse_args()
    rows = []
    for name, X, k in cases(args.large):
        if args.only is None or args.only in name:
            rows += measure(name, X, k, args.repeat)
    import sklearn

    head = (
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; lloyd {lloyd.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
        + (f", faiss {faiss.__version__}" if faiss is not None else "")
    )
    text = head + "\n\n" + table(rows) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    stem = "python_compare" if args.only is None else "python_compare_only"
    with open(os.path.join(args.out, stem + ".md"), "w") as f:
        f.write(text)
    if args.only is None:
        chart(rows, os.path.join(args.out, stem + ".svg"))


if __name__ == "__main__":
    main()
