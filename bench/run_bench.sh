#!/usr/bin/env bash
# The whole benchmark table: GEMM (square 128-2048, transformer shapes,
# GEMV), the MLP forward and train step, softmax, layer_norm, and the fused
# elementwise chain against one add, convolutions (LeNet's and ResNet-18's
# layers, forward and backward); kiln against OpenBLAS and oneDNN in the
# same process, on 1 and 2 threads, medians of 5 runs; one table on stdout.
# Usage: bench/run_bench.sh [BUILD_DIR]   (takes about twenty minutes)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# OpenBLAS 0.3.21 misdetects this CPU family: name its kernel explicitly.
export OPENBLAS_CORETYPE=${KILN_OPENBLAS_CORETYPE:-Cooperlake}
flags=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2
       --benchmark_out_format=json)
for b in kiln-gemm-bench kiln-model-bench kiln-elementwise-bench kiln-conv-bench; do
  "$build/bench/$b" "${flags[@]}" --benchmark_out="$out/$b.json" | grep '^measured' || true
done
echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
python3 "$here/table.py" "$out"/kiln-gemm-bench.json "$out"/kiln-model-bench.json "$out"/kiln-elementwise-bench.json \
  "$out"/kiln-conv-bench.json
