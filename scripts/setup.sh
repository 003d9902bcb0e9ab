#!/usr/bin/env bash
# Installs what kiln needs from Debian 12's archive (when missing), then
# configures and builds it. Idempotent: a second run only rebuilds what changed.
# Usage: scripts/setup.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}

PACKAGES=(cmake ninja-build ccache g++ python3 valgrind
          clang-19 llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
          libclang-rt-19-dev  # sanitizer and libFuzzer runtimes (scripts/sanitize.sh, tests/fuzz)
          libfmt-dev libgtest-dev
          libonnx-dev libprotobuf-dev  # the ONNX importer reads models with ONNX's protobuf schema
          libonnx-testdata  # ONNX's backend node tests: the importer's conformance suite
          fortunes-zh  # its tang300: the Tang poems examples/tang_gpt learns
          dataset-fashion-mnist zlib1g-dev  # the images examples/cnn learns, gzip-compressed
          chromium  # headless, loads `kiln report`'s page in tests/report/browser_test.py
          libbenchmark-dev libopenblas-dev libdnnl-dev libhalide14-0-dev)  # the last four: bench/ only
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "kiln setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Warnings are errors (kiln's own code builds clean at -Wall -Wextra).
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DKILN_WERROR=ON >/dev/null
fi
echo "kiln setup: building in $BUILD_DIR (a clean build takes about 4 minutes on 2 cores)"
ninja -C "$BUILD_DIR"
