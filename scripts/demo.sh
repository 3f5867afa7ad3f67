#!/usr/bin/env bash
# Builds lloyd's demo and the lloyd-cluster tool (Release, -march=native) and runs the demo:
# k-means on generated blobs. The tool is then build/release/examples/lloyd-cluster.
# Arguments go to the demo: [n_samples] [n_features] [n_clusters] [float|double]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release \
  -DLLOYD_BUILD_TESTS=OFF -DLLOYD_BUILD_BENCH=OFF -DLLOYD_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/release --target lloyd_demo lloyd-cluster -j "$(jobs)" >/dev/null
./build/release/examples/lloyd_demo "$@"
