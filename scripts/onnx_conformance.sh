#!/usr/bin/env bash
# Runs ONNX's node tests through kiln (kiln-onnx-conformance) and rewrites
# the conformance table at the end of docs/onnx.md (below its marker line).
#   scripts/onnx_conformance.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=/usr/share/libonnx-testdata/data/node
table=$(mktemp)
summary=$(KILN_CACHE=off "$build/tests/kiln-onnx-conformance" "$data" --markdown "$table" | tail -1)
marker='<!-- conformance: everything below is written by scripts/onnx_conformance.sh -->'
{
  awk -v m="$marker" '{ print } $0 == m { exit }' docs/onnx.md
  echo
  echo "Run of $(date +%F) ($(lscpu | sed -n 's/^Model name: *//p' | head -1)): **${summary#*: }**. Per op:"
  echo
  cat "$table"
} > docs/onnx.md.new
mv docs/onnx.md.new docs/onnx.md
rm -f "$table"
echo "$summary"
