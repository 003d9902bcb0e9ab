#!/usr/bin/env bash
# Runs every kiln test (GoogleTest numerics, lit IR tests, CLI, AOT, TSan and
# fuzz tests through ctest), then the sanitizer build's runs
# (scripts/sanitize.sh: ASan + UBSan unit and lit tests, libFuzzer smoke
# runs), after installing and building what is missing. Exit status 0 only
# if all pass. `scripts/test.sh --quick` skips the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
(cd build && ctest --output-on-failure -j2)
if [ "${1:-}" != "--quick" ]; then
  scripts/sanitize.sh
fi
