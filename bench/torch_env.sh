#!/usr/bin/env bash
# Makes (once) the one bench-only Python environment with the frameworks kiln
# is compared with, at pinned versions, and prints its python's path.
# Never used by the product, the build, the tests or CI (scripts/export_onnx_models.py
# uses it once to write the ONNX files tests/onnx/models/ holds).
#   bench/torch_env.sh            # creates or reuses $KILN_BENCH_VENV
# The environment lives outside the repository (pip's torch is several GB):
# KILN_BENCH_VENV, default ~/.cache/kiln-bench-venv.
set -euo pipefail
venv=${KILN_BENCH_VENV:-$HOME/.cache/kiln-bench-venv}
# Pinned: the figures in bench/README.md were measured with these.
pins=(torch==2.5.1 numpy==2.1.3 onnx==1.17.0 onnxruntime==1.20.1)  # onnx: torch.onnx.export; onnxruntime: bench/onnx_gpt2.sh
stamp="$venv/.kiln-pins"
if [[ -f $stamp && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --upgrade pip >&2
"$venv/bin/pip" install --quiet "${pins[@]}" >&2
echo "${pins[*]}" >"$stamp"
echo "$venv/bin/python"
