#!/usr/bin/env bash
# kiln's compiler, runtime and tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), then the GoogleTest numerics and
# the lit IR/CLI tests run on that build: any invalid memory access, leak or
# undefined behaviour in kiln's own code fails the run. LLVM/MLIR (Debian's)
# and the JIT-compiled kernels are not instrumented; ThreadSanitizer covers
# the kernels and the thread pool (ctest's tsan.parallel_kernels).
# Usage: scripts/sanitize.sh [BUILD_DIR]     (default: build-asan)
# Run by .ci/run after scripts/test.sh; see docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-asan}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # -O1 with line tables: readable reports at about half the speed of -O2.
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DKILN_WERROR=ON \
    "-DKILN_SANITIZE=address;undefined" \
    "-DCMAKE_C_FLAGS_RELEASE=-O1 -gline-tables-only -DNDEBUG" \
    "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only -DNDEBUG" >/dev/null
fi
echo "kiln sanitize: building kiln, kiln-opt and the unit tests with ASan+UBSan in $BUILD_DIR"
ninja -C "$BUILD_DIR" kiln kiln-opt kiln_unit_tests fuzz_npy fuzz_mlir_parse fuzz_mlir_run fuzz_onnx_import \
  kiln-fashion-mnist  # lit: its bad-data messages

# Allocations over 16 GiB fail (NULL) as they do without ASan on this
# machine, so the tests of kiln's "cannot allocate" errors see them.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=16384"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export KILN_CACHE=off

# The unit tests in two shards (two cores), each one process.
start=$(date +%s)
pids=()
for shard in 0 1; do
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard \
    "$BUILD_DIR/tests/kiln_unit_tests" --gtest_brief=1 > "$BUILD_DIR/unit-shard$shard.log" 2>&1 &
  pids+=($!)
done
status=0
for i in 0 1; do
  if ! wait "${pids[$i]}"; then
    status=1
    echo "kiln sanitize: unit test shard $i failed:"
    tail -60 "$BUILD_DIR/unit-shard$i.log"
  fi
done
echo "kiln sanitize: unit tests $( ((status)) && echo FAILED || echo passed) in $(( $(date +%s) - start )) s"

# The lit tests with the instrumented kiln and kiln-opt.
start=$(date +%s)
if ! python3 /usr/lib/llvm-19/build/utils/lit/lit.py -q "$BUILD_DIR/tests/lit"; then
  status=1
  echo "kiln sanitize: lit tests failed"
fi
echo "kiln sanitize: lit tests done in $(( $(date +%s) - start )) s"

# A short smoke run of every fuzz target (the long runs are by hand).
if ! scripts/fuzz.sh "${KILN_FUZZ_SECONDS:-30}" "$BUILD_DIR"; then
  status=1
fi
exit $status
