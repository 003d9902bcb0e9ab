#!/usr/bin/env bash
# kiln's GRU and LSTM layers against PyTorch's nn.GRU and nn.LSTM on this
# machine, in one sitting: batch 32, 64 steps, hidden 256 and 512, forward
# and forward + backward, 1 and 2 threads; PAIRS calls of each, kiln's and
# PyTorch's one after the other (bench/rnn_vs_torch.py says why); prints
# the markdown table of bench/README.md. PyTorch comes from the bench-only
# environment (bench/torch_env.sh), never from the build.
#   bench/rnn_vs_torch.sh [BUILD_DIR=build] [PAIRS=15] [HIDDEN=256,512]
set -euo pipefail
build=${1:-build}
pairs=${2:-15}
hiddens=${3:-256,512}
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/torch_env.sh")
exec "$python" "$here/rnn_vs_torch.py" "$build/bench/kiln-rnn-bench" "$pairs" "$hiddens" "$here/rnn_torch.py"
