#!/usr/bin/env bash
# Runs every kiln test (GoogleTest numerics, lit IR tests, CLI and fuzz tests)
# after installing and building what is missing. Exit status 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cd build
ctest --output-on-failure -j2
