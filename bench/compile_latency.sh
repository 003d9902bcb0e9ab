#!/usr/bin/env bash
# Ahead-of-time compile latency (process start to artifact written) and
# artifact size of the MLP (inference and SGD training step) and of the
# attention model's AdamW training step: medians of 5 runs, with the object
# cache off (cold) and warm (the same model compiled before); then chains
# of 1k, 10k and 20k tanh ops (one run each) to show compile time growing
# about linearly with the op count.
# Usage: bench/compile_latency.sh [BUILD_DIR] [--no-chains]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bench/kiln-train-bench" --write-models "$work"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
export KILN_CACHE_DIR="$work/cache" KILN_CACHE=off
runs=5
measure() { # LABEL OUTPUT ARGS...
  local label=$1 out=$2; shift 2
  for ((i = 0; i < runs; i++)); do
    local start=$(date +%s%N)
    "$build/tools/kiln" compile "$@" -o "$work/$out" > /dev/null
    echo $(( ($(date +%s%N) - start) / 1000000 ))
  done | median > "$work/t"
  printf '%-46s %6d ms   %9d bytes\n' "$label" "$(cat "$work/t")" "$(stat -c %s "$work/$out")"
}
models() {
  measure "MLP 784-256-256-10 inference, static-lib" libmlp.a "$src/examples/mlp/mlp.mlir" --emit=static-lib
  measure "MLP 784-256-256-10 inference, exe" mlp_exe "$src/examples/mlp/mlp.mlir" --emit=exe
  measure "MLP train step (SGD), static-lib" libmlp_step.a "$work/mlp_train.mlir" --train-step --emit=static-lib
  measure "attention LM train step (AdamW), static-lib" liblm_step.a "$work/attention_lm.mlir" --train-step --optimizer adamw --emit=static-lib
  measure "attention LM train step (AdamW), obj" lm_step.o "$work/attention_lm.mlir" --train-step --optimizer adamw --emit=obj
}
echo "kiln compile latency (median of $runs, process start to artifact written)"
echo "-- object cache off"
models
echo "-- object cache warm (each model compiled once before)"
export KILN_CACHE=on
models >/dev/null # fills the cache
models
export KILN_CACHE=off
[ "${2:-}" = "--no-chains" ] && exit 0
echo "-- chains of N nn.tanh ops (one run each, cache off)"
runs=1
for n in 1000 10000 20000; do
  python3 "$src/tests/tools/tanh_chain.py" "$n" > "$work/chain$n.mlir"
  measure "chain of $n tanh ops, obj" chain$n.o "$work/chain$n.mlir" --emit=obj
done
