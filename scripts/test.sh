#!/usr/bin/env bash
# Builds everything (library checks, examples, benchmarks) and runs the whole test suite:
# the unit tests at the default architecture and with -march=native, and the packaging
# tests (find_package from an install tree, add_subdirectory).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev catch2 libbenchmark-dev libopenblas-dev libopenmpi-dev openmpi-bin
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/test -j "$(jobs)"
ctest --test-dir build/test -j "$(jobs)" --output-on-failure
