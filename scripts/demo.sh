#!/usr/bin/env bash
# Builds lloyd's demo (Release, -march=native) and runs it: k-means on generated blobs.
# Arguments go to the demo: [n_samples] [n_features] [n_clusters] [float|double]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release \
  -DLLOYD_BUILD_TESTS=OFF -DLLOYD_BUILD_BENCH=OFF -DLLOYD_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/release --target lloyd_demo -j "$(jobs)" >/dev/null
./build/release/examples/lloyd_demo "$@"
