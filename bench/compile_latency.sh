#!/usr/bin/env bash
# Ahead-of-time compile latency (process start to artifact written) and
# artifact size of the MLP (inference and SGD training step) and of the
# attention model's AdamW training step: medians of 5 runs.
# Usage: bench/compile_latency.sh [BUILD_DIR]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bench/kiln-train-bench" --write-models "$work"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
measure() { # LABEL OUTPUT ARGS...
  local label=$1 out=$2; shift 2
  for i in 1 2 3 4 5; do
    local start=$(date +%s%N)
    "$build/tools/kiln" compile "$@" -o "$work/$out" > /dev/null
    echo $(( ($(date +%s%N) - start) / 1000000 ))
  done | median > "$work/t"
  printf '%-46s %6d ms   %9d bytes\n' "$label" "$(cat "$work/t")" "$(stat -c %s "$work/$out")"
}
echo "kiln compile latency (median of 5, process start to artifact written)"
measure "MLP 784-256-256-10 inference, static-lib" libmlp.a "$src/examples/mlp/mlp.mlir" --emit=static-lib
measure "MLP 784-256-256-10 inference, exe" mlp_exe "$src/examples/mlp/mlp.mlir" --emit=exe
measure "MLP train step (SGD), static-lib" libmlp_step.a "$work/mlp_train.mlir" --train-step --emit=static-lib
measure "attention LM train step (AdamW), static-lib" liblm_step.a "$work/attention_lm.mlir" --train-step --optimizer adamw --emit=static-lib
