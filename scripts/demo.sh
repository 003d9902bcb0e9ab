#!/usr/bin/env bash
# The main job: builds kiln if needed, then compiles and runs the example
# models end to end and says what it did at each step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
exec build/examples/kiln-demo "$@"
