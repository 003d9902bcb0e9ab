#!/usr/bin/env bash
# Compiles a model with about 100M f32 parameters (10 layers of 3200x3200,
# 410 MB of weights, trained values from --params-dir) ahead of time, with
# the weights embedded (raw bytes in a read-only section) and external
# (OUT.weights), and reports wall time and peak memory (RSS) of each
# compile against the weights' size. Needs ~2 GB of disk in TMPDIR.
# Usage: bench/big_weights.sh [BUILD_DIR] [LAYERS] [WIDTH]
set -euo pipefail
# Peak memory comes from GNU time (Debian's package `time`, not in every image).
if [ ! -x /usr/bin/time ]; then
  echo "bench/big_weights.sh needs /usr/bin/time: apt-get install time" >&2
  exit 1
fi
build=$(cd "${1:-build}" && pwd)
layers=${2:-10}
width=${3:-3200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KILN_CACHE=off
python3 - "$work" "$layers" "$width" <<'PY'
import os, struct, sys
work, layers, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# The model: x [1, width] through `layers` matmul + relu layers.
lines = [f'func.func @main(%x: tensor<1x{width}xf32> {{nn.name = "x"}}']
for i in range(layers):
    lines.append(f', %w{i}: tensor<{width}x{width}xf32> {{nn.name = "w{i}", nn.param = {{init = "zeros"}}}}')
lines.append(f') -> (tensor<1x{width}xf32> {{nn.name = "y"}}) {{')
prev = '%x'
for i in range(layers):
    lines.append(f'  %m{i} = nn.matmul {prev}, %w{i} : (tensor<1x{width}xf32>, tensor<{width}x{width}xf32>) -> tensor<1x{width}xf32>')
    lines.append(f'  %h{i} = nn.relu %m{i} : tensor<1x{width}xf32>')
    prev = f'%h{i}'
lines.append(f'  return {prev} : tensor<1x{width}xf32>\n}}')
open(f'{work}/big.mlir', 'w').write('\n'.join(lines) + '\n')
# Trained weights: the same small, finite values in every layer (the
# compile carries bytes; their values do not matter here).
header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({width}, {width}), }}"
header += ' ' * (64 - (10 + len(header) + 1) % 64) + '\n'
row = struct.pack(f'<{width}f', *[((k * 37) % 101 - 50) / 5000.0 for k in range(width)])
os.makedirs(f'{work}/params')
for i in range(layers):
    with open(f'{work}/params/w{i}.npy', 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode())
        f.write(row * width)
PY
bytes=$(( layers * width * width * 4 ))
printf 'kiln AOT compile of %d parameters (%d MB of f32 weights)\n' $(( layers * width * width )) $(( bytes / 1000000 ))
measure() { # LABEL ARGS...
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$build/tools/kiln" compile "$work/big.mlir" --params-dir "$work/params" "$@" > /dev/null
  read -r seconds kb < "$work/time"
  local rss=$(( kb / 1024 ))
  printf '%-34s %7.1f s   peak RSS %6d MiB = %.2f x weights + %d MiB\n' "$label" "$seconds" "$rss" \
    "$(awk -v k="$kb" -v b="$bytes" 'BEGIN {print k * 1024 / b}')" $(( rss - bytes / 1048576 ))
}
measure "embedded, static-lib" --emit=static-lib -o "$work/libbig.a"
ls -l "$work/libbig.a" | awk '{printf "  libbig.a: %d MB\n", $5 / 1000000}'
measure "external, static-lib" --emit=static-lib -o "$work/libbig_ext.a" --weights=external
ls -l "$work/libbig_ext.a.weights" | awk '{printf "  libbig_ext.a.weights: %d MB\n", $5 / 1000000}'
