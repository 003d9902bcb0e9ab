#!/usr/bin/env bash
# The main job: builds kiln if needed, then (1) compiles and runs the example
# models end to end, saying what it did at each step, and (2) trains the
# character-level language model with self-attention on its shipped text,
# continues the seed's prompts and shows the attention weights (terminal
# colours and charlm_attention.html). About a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
build/examples/kiln-demo
echo
echo "== 7. A character-level language model with self-attention, trained by kiln"
exec build/examples/kiln-charlm "$@"
