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
python3 - "$n" > "$work/chain.mlir" <<'PY'
import sys
n = int(sys.argv[1])
print('func.func @main(%x: tensor<64xf32> {nn.name = "x"}) -> (tensor<64xf32> {nn.name = "y"}) {')
prev = '%x'
for i in range(n):
    print(f'  %t{i} = nn.tanh {prev} : tensor<64xf32>')
    prev = f'%t{i}'
print(f'  return {prev} : tensor<64xf32>\n}}')
PY
"$kiln" compile "$work/chain.mlir" --emit=obj -o "$work/chain.o" > /dev/null
test -s "$work/chain.o"
echo "a chain of $n tanh ops compiled"
