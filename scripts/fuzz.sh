#!/usr/bin/env bash
# Fuzzes lloyd with clang's libFuzzer (+ AddressSanitizer, UndefinedBehaviorSanitizer):
# fit/predict on decoded small problems, and the command-line tool's CSV/.npy readers.
# Each target runs LLOYD_FUZZ_SECONDS (default 45) from its seed corpus in tests/fuzz.
# A crash fails the run; keep its input (crash-*) in tests/fuzz/corpus/<target>/ once
# fixed, where ctest replays it forever (fuzz.replay_*).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages clang libclang-rt-14-dev libxsimd-dev
seconds=${LLOYD_FUZZ_SECONDS:-45}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -pthread)
if clang++ -march=native -E -x c++ /dev/null >/dev/null 2>&1; then flags+=(-march=native); fi
for target in kmeans readers; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_${target}.cpp" -o "$out/fuzz_${target}"
done
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=1
for target in kmeans readers; do
  work="$out/corpus_${target}"
  mkdir -p "$work"
  echo "== fuzz_${target}: ${seconds} s"
  (cd "$out" && "./fuzz_${target}" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
     "corpus_${target}" "../../tests/fuzz/corpus/${target}" 2>&1 | tail -n 12)
done
echo "fuzzing: no crash"
