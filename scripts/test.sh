#!/usr/bin/env bash
# Builds everything (library checks, examples, benchmarks, the Python package) and runs
# the whole test suite: the unit tests at the default architecture and with
# -march=native, the packaging tests (find_package from an install tree,
# add_subdirectory), and the Python package's pytest suite and pip install.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev catch2 libbenchmark-dev libopenblas-dev libopenmpi-dev openmpi-bin \
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-sklearn python3-setuptools \
  python3-pip python3-venv
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DLLOYD_BUILD_PYTHON=ON >/dev/null
cmake --build build/test -j "$(jobs)"
ctest --test-dir build/test -j "$(jobs)" --output-on-failure
