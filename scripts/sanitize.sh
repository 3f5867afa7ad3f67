#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer, and the threaded
# tests under ThreadSanitizer (GCC). Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake make libxsimd-dev catch2 libopenmpi-dev openmpi-bin
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# -O1 -g1: a third of the compile time of -O2 -g, with line numbers in every report.
# (-Wno-maybe-uninitialized: GCC 12 misfires on <functional> at -O1 with sanitizers.)
optimize="-O1 -g1 -DNDEBUG -Wno-maybe-uninitialized"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
# One test suite (the -march=native one where the machine has it; test.sh runs both
# architectures), no golden test (bit patterns; its code paths are the suite's) and no
# peak-memory test (shadow memory inflates it), none of them even built: the ASan stage
# took ~32 of CI's ~49 minutes, two thirds of it compiling.
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLOYD_BUILD_BENCH=OFF -DLLOYD_TEST_DEFAULT_ARCH=OFF \
  -DLLOYD_TEST_GOLDEN=OFF -DLLOYD_TEST_MEMORY=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$optimize" \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" >/dev/null
cmake --build build/asan -j "$(jobs)"
# Everything but the packaging projects (built without the sanitizers) and MPI (below).
ctest --test-dir build/asan -j "$(jobs)" --output-on-failure -E "package\\.|mpi"
# The distributed fit: memory errors and UB are fatal as everywhere; leak checking is
# off, because Open MPI keeps (and never frees) its own allocations past MPI_Finalize.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1 \
  ctest --test-dir build/asan --output-on-failure -R "mpi"

echo "== ThreadSanitizer"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLOYD_BUILD_BENCH=OFF -DLLOYD_BUILD_EXAMPLES=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$optimize" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" >/dev/null
cmake --build build/tsan -j "$(jobs)" --target tests_native_arch example_predict_new_points
# The tests that run several threads: the pool, determinism across thread counts,
# batches, concurrent predict.
build/tsan/tests/tests_native_arch "[parallel],[determinism],[batch]"
build/tsan/examples/example_predict_new_points
echo "sanitizers: no reports"
