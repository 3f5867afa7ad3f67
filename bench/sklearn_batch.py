#!/usr/bin/python3
"""scikit-learn's side of bench_lloyd's batch case (issue 12): 1000 problems of
1000 x 16, k = 8, float64, each fitted by KMeans in a loop, as a caller would.

Same shapes and data distribution as bench_lloyd's batch/ cases (blobs around 8 centres
drawn in [-10, 10]^16, unit standard deviation); one k-means++ init per problem
(n_init=1, as lloyd's default), scikit-learn's defaults otherwise (max_iter 300,
tol 1e-4, the Lloyd algorithm). Prints the time per problem; the fastest of `--repeat`
runs is kept (noise only adds time).

    /usr/bin/python3 bench/sklearn_batch.py [--problems 1000] [--repeat 3]
"""
import argparse
import os
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    problems = [
        make_blobs(n_samples=1000, n_features=16, centers=8, cluster_std=1.0, random_state=100 + b)[0]
        for b in range(args.problems)
    ]
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        inertia = 0.0
        for b, X in enumerate(problems):
            inertia += KMeans(n_clusters=8, n_init=1, random_state=b).fit(X).inertia_
        best = min(best, time.perf_counter() - t0)
    print(
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, {os.cpu_count()} cpus: "
        f"{args.problems} problems of 1000 x 16, k = 8, float64: {best:.3f} s, "
        f"{best * 1e3 / args.problems:.3f} ms per problem (sum of inertia {inertia:.6g})"
    )


if __name__ == "__main__":
    main()
