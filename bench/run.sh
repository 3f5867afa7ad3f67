#!/usr/bin/env bash
# Builds the benchmarks (Release, -march=native), runs them and writes Markdown tables
# and an SVG plot into bench/results/. Extra arguments go to bench_lloyd, e.g.
# --benchmark_filter=mojo_k to run one sweep (bench_algorithms always runs whole).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev libbenchmark-dev libopenblas-dev python3 python3-numpy python3-sklearn \
  python3-faiss
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DLLOYD_NATIVE=ON \
  -DLLOYD_BUILD_TESTS=OFF -DLLOYD_BUILD_EXAMPLES=OFF -DLLOYD_BUILD_BENCH=ON >/dev/null
cmake --build build/bench --target bench_lloyd bench_algorithms bench_grid bench_shapes -j "$(jobs)"
mkdir -p bench/results
LLOYD_BENCH_REPETITIONS=${LLOYD_BENCH_REPETITIONS:-3} ./build/bench/bench/bench_lloyd --benchmark_out=bench/results/bench_lloyd.json --benchmark_out_format=json "$@"
./build/bench/bench/bench_algorithms --benchmark_out=bench/results/bench_algorithms.json --benchmark_out_format=json
for precision in float32 float64; do  # every exact algorithm on a grid of regimes, and Auto's pick
  flag=$([ "$precision" = float64 ] && echo --double || true)
  { echo "# bench_grid, $precision"; echo; ./build/bench/bench/bench_grid $flag; } > "bench/results/grid_$precision.md"
done

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
cores=$(nproc)
flags=$(grep -o -w 'avx512f\|avx2\|fma' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
# Lloyd's iteration rate across d x k, float32 and float64, as a share of the FMA peak,
# beside scikit-learn and faiss on the same arrays (bench/results/shapes.md, shapes.svg)
/usr/bin/python3 bench/shapes.py --bin ./build/bench/bench/bench_shapes --out bench/results \
  --header "CPU: ${cpu:-unknown}, ${cores} cores visible; SIMD: ${flags}; $(c++ --version | head -1), -O3 -march=native"
blas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo "?")
python3 bench/report.py bench/results/bench_lloyd.json bench/results \
  "CPU: ${cpu:-unknown}, ${cores} cores visible; SIMD: ${flags}" \
  "Compiler: $(c++ --version | head -1), -O3 -march=native" \
  "OpenBLAS ${blas} (Debian), threads: all cores; lloyd threads: all cores" \
  "Date: $(date -u +%Y-%m-%d)"
