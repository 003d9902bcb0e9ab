#!/usr/bin/env bash
# A GPT-2-small-shaped ONNX model (124M parameters, context 1024, 620 MiB of
# weights as external data: the tied embedding is stored twice, as the
# table and transposed as the output projection; exported from PyTorch with
# random weights), batch 1 and 128 tokens, through `kiln
# run` — imported, compiled and run, its weights never printed as text —
# against ONNX Runtime in the bench environment (bench/torch_env.sh): wall
# time and peak memory (RSS) of kiln's whole process, per-call times of
# both, and each one's error against PyTorch's output. Needs ~1 GB of disk.
# Usage: bench/onnx_gpt2.sh [BUILD_DIR] [RUNS]
set -euo pipefail
if [ ! -x /usr/bin/time ]; then
  echo "bench/onnx_gpt2.sh needs /usr/bin/time: apt-get install time" >&2
  exit 1
fi
build=$(cd "${1:-build}" && pwd)
runs=${2:-5}
cd "$(dirname "$0")/.."
python=$(bench/torch_env.sh)
work=${KILN_GPT2_DIR:-$(mktemp -d)}
[ -f "$work/model.onnx" ] || "$python" bench/onnx_gpt2.py export "$work"
export KILN_CACHE=off
echo "== kiln run (import, compile, $runs calls), $(nproc) cores"
/usr/bin/time -f "kiln: %e s wall, peak RSS %M KB" "$build/tools/kiln" run "$work/model.onnx" \
  --input input_0="$work/input_0.npy" --output-dir "$work/kiln_out" --repeat "$runs" \
  --profile-json "$work/profile.json" 2>&1 | grep -v "^output_0"
python3 -c "import json; p = json.load(open('$work/profile.json')); print(f\"kiln: run {1000 * p['seconds_per_call']:.1f} ms per call (mean of {p['calls']})\")"
echo "kiln: max |error| vs PyTorch $("$python" bench/onnx_gpt2.py compare "$work/kiln_out/output_0.npy" "$work/output_0.npy")"
echo "weights: $(( $(stat -c %s "$work/model.onnx.data") / 1024 )) KB"
echo "== ONNX Runtime"
"$python" bench/onnx_gpt2.py ort "$work" "$runs"
