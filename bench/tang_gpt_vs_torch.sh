#!/usr/bin/env bash
# The Tang GPT (examples/tang_gpt/) trained by kiln and by PyTorch on this
# machine, one after the other with the same settings: training throughput
# (tokens/s, the training steps alone) and validation loss after the same
# number of steps; prints the markdown row of bench/README.md. PyTorch comes
# from the bench-only environment (bench/torch_env.sh), never from the build.
#   bench/tang_gpt_vs_torch.sh [BUILD_DIR=build] [THREADS=2] [STEPS=400] [extra kiln-tang-gpt/torch options]
set -euo pipefail
build=${1:-build}
threads=${2:-2}
steps=${3:-400}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/torch_env.sh")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== kiln ($threads threads)"
KILN_NUM_THREADS=$threads "$build/examples/kiln-tang-gpt" --steps "$steps" --svg "$out/loss.svg" \
  --html "$out/attention.html" "$@" | tee "$out/kiln.log" | grep -E "^(  step|model|compiled|tang-gpt)"
echo "== PyTorch ($threads threads)"
(cd "$here" && "$python" tang_gpt_torch.py --steps "$steps" --threads "$threads" "$@") | tee "$out/torch.log"
kiln=$(grep '^tang-gpt:' "$out/kiln.log")
torch=$(grep '^torch-tang-gpt:' "$out/torch.log")
field() { sed -E "s/.* ([0-9.]+) tokens\/s, val loss ([0-9.]+) at the end \(best ([0-9.]+) .*/\\$2/" <<<"$1"; }
kt=$(field "$kiln" 1) tt=$(field "$torch" 1)
echo
echo "| threads | steps | kiln tokens/s | PyTorch tokens/s | kiln / PyTorch | kiln val loss (best) | PyTorch val loss (best) |"
echo "|---|---|---|---|---|---|---|"
echo "| $threads | $steps | $kt | $tt | $(awk -v a="$kt" -v b="$tt" 'BEGIN{printf "%.2fx", a/b}') | $(field "$kiln" 2) ($(field "$kiln" 3)) | $(field "$torch" 2) ($(field "$torch" 3)) |"
