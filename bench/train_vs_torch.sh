#!/usr/bin/env bash
# kiln's training steps against PyTorch (eager and torch.compile) on this
# machine, in one sitting: the attention LM and the MLP of kiln-train-bench,
# 1 and 2 threads, medians of RUNS runs; prints the markdown table of
# bench/README.md. PyTorch comes from the bench-only environment
# (bench/torch_env.sh: made once, several GB), never from the build.
#   bench/train_vs_torch.sh [BUILD_DIR=build] [RUNS=5]     (ROUNDS=3: alternating rounds)
set -euo pipefail
build=${1:-build}
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/torch_env.sh")
exec "$python" "$here/train_vs_torch.py" "$build/bench/kiln-train-bench" "$runs" "$here/torch_train.py"
