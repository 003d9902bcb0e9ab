#!/usr/bin/env bash
# The GEMM table: kiln against OpenBLAS and oneDNN, medians of 5 runs.
# OpenBLAS 0.3.21 misdetects this CPU family: name its kernel explicitly.
# Usage: bench/run_gemm.sh [BUILD_DIR] [extra Google Benchmark flags]
set -euo pipefail
build=${1:-build}
shift || true
# (This machine's environment may already set it to something older.)
export OPENBLAS_CORETYPE=${KILN_OPENBLAS_CORETYPE:-Cooperlake}
exec "$build/bench/kiln-gemm-bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 "$@" 2>&1 | grep -vE '_(mean|stddev|cv) '
