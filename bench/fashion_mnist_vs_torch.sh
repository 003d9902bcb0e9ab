#!/usr/bin/env bash
# The Fashion-MNIST CNN (examples/cnn/) trained by kiln and by PyTorch on
# this machine, one after the other with the same network, data order
# policy, batch, optimizer and schedule: training throughput (images/s, the
# training steps alone) and test accuracy after the same epochs; prints the
# markdown row of bench/README.md. PyTorch comes from the bench-only
# environment (bench/torch_env.sh), never from the build.
#   bench/fashion_mnist_vs_torch.sh [BUILD_DIR=build] [THREADS=2] [EPOCHS=6]
set -euo pipefail
build=${1:-build}
threads=${2:-2}
epochs=${3:-6}
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/torch_env.sh")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== kiln ($threads threads)"
KILN_NUM_THREADS=$threads "$build/examples/kiln-fashion-mnist" --epochs "$epochs" --out "$out/kiln" --no-aot \
  --min-accuracy 0 | tee "$out/kiln.log" | grep -E "^(  epoch|model|compiled|fashion-mnist)"
echo "== PyTorch ($threads threads)"
"$python" "$here/fashion_mnist_torch.py" --epochs "$epochs" --threads "$threads" | tee "$out/torch.log"
kiln=$(grep '^fashion-mnist:' "$out/kiln.log")
torch=$(grep '^torch-fashion-mnist:' "$out/torch.log")
field() { sed -E "s/.*test accuracy ([0-9.]+)% .*, ([0-9.]+) training images\/s.*/\\$2/" <<<"$1"; }
ki=$(field "$kiln" 2) ti=$(field "$torch" 2)
echo
echo "| threads | epochs | kiln images/s | PyTorch images/s | kiln / PyTorch | kiln test accuracy | PyTorch test accuracy |"
echo "|---|---|---|---|---|---|---|"
echo "| $threads | $epochs | $ki | $ti | $(awk -v a="$ki" -v b="$ti" 'BEGIN{printf "%.2fx", a/b}') | $(field "$kiln" 1)% | $(field "$torch" 1)% |"
