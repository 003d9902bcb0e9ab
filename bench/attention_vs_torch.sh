#!/usr/bin/env bash
# kiln's attention (flash, and the plain composite) against PyTorch's
# scaled_dot_product_attention on this machine, in one sitting: batch 1,
# 8 heads, D = 64, forward and forward + backward, causal or not, 1 and 2
# threads; medians of RUNS calls, ROUNDS alternating rounds (default 3);
# prints the markdown table of bench/README.md. PyTorch comes from the
# bench-only environment (bench/torch_env.sh), never from the build.
#   bench/attention_vs_torch.sh [BUILD_DIR=build] [RUNS=5] [LENGTHS=512,1024,2048,4096,8192]
set -euo pipefail
build=${1:-build}
runs=${2:-5}
lengths=${3:-512,1024,2048,4096,8192}
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/torch_env.sh")
exec "$python" "$here/attention_vs_torch.py" "$build/bench/kiln-attention-bench" "$runs" "$lengths" \
  "$here/attention_torch.py"
