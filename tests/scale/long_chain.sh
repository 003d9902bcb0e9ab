#!/usr/bin/env bash
# Hang guard: a chain of N nn.tanh ops compiles to an object (compile time
# grew cubically with the op count before fused kernels were capped; 20,000
# ops now take about a minute on this project's 2-core machines). Run by
# ctest with a generous time-out; no timing is asserted.
# Usage: long_chain.sh KILN WORKDIR [N]
set -euo pipefail
kiln=$1
work=$2
n=${3:-20000}
mkdir -p "$work"
python3 "$(dirname "$0")/../tools/tanh_chain.py" "$n" > "$work/chain.mlir"
"$kiln" compile "$work/chain.mlir" --emit=obj -o "$work/chain.o" > /dev/null
test -s "$work/chain.o"
echo "a chain of $n tanh ops compiled"
