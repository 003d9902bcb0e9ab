#!/usr/bin/env bash
# Runs kiln's libFuzzer targets (tests/fuzz; built by scripts/sanitize.sh in
# build-asan/ with AddressSanitizer + UBSan + libFuzzer) for SECONDS each,
# starting from the seed corpora in tests/fuzz/corpus (copied: the
# repository's seeds never change). Any crash, leak, timeout or sanitizer
# report fails the run and leaves the input in BUILD_DIR/fuzz/TARGET/.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR] [TARGET...]
#   CI runs it for 30 s per target; the long runs (docs/reliability.md) use
#   e.g. scripts/fuzz.sh 1800.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
BUILD_DIR=${2:-build-asan}
shift $(( $# > 2 ? 2 : $# ))
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(npy mlir_parse mlir_run onnx_import)

# A single allocation over 2 GiB fails (NULL), which kiln must report as an
# error; libFuzzer's own limits catch anything that gets past that.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export KILN_CACHE=off

status=0
for target in "${TARGETS[@]}"; do
  binary="$BUILD_DIR/tests/fuzz_$target"
  [ -x "$binary" ] || { echo "kiln fuzz: $binary is missing (run scripts/sanitize.sh)"; exit 2; }
  work="$BUILD_DIR/fuzz/$target"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  case $target in
    npy) seeds=tests/fuzz/corpus/npy; extra=(-max_len=1024) ;;
    onnx_import) seeds=tests/fuzz/corpus/onnx; extra=(-max_len=16384) ;;
    *) seeds=tests/fuzz/corpus/mlir; extra=(-max_len=8192 -dict=tests/fuzz/mlir.dict) ;;
  esac
  cp "$seeds"/* "$work/corpus/"
  # Inputs that compile and run get a generous per-input limit; memory is
  # capped so that a model asking for too much is refused, not swapped.
  if "$binary" "$work/corpus" "${extra[@]}" -max_total_time="$SECONDS_PER_TARGET" -timeout=120 \
       -rss_limit_mb=4096 -malloc_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/" > "$work/log.txt" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$' || echo "?")
    echo "kiln fuzz: $target: $runs inputs in ${SECONDS_PER_TARGET} s, no failure"
  else
    status=1
    echo "kiln fuzz: $target FAILED; the input is in $work/artifacts/:"
    grep -E "ERROR|SUMMARY|Test unit written|==.*==" "$work/log.txt" | head -20
    tail -40 "$work/log.txt"
  fi
done
exit $status
