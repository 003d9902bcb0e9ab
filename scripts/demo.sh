#!/usr/bin/env bash
# The main job: builds kiln if needed, then (1) compiles and runs the example
# models end to end, saying what it did at each step, and (2) trains the
# character-level language model with self-attention on its shipped text,
# continues the seed's prompts and shows the attention weights (terminal
# colours and charlm_attention.html), and writes charlm_report.html: kiln
# report's page of the trained model (every phase linked to the model's C++
# lines, the graph, the profile, the attention maps). About a minute after
# the build.
#   scripts/demo.sh [kiln-charlm options]
#   scripts/demo.sh --tang-gpt [kiln-tang-gpt options]   the GPT on the Tang poems
#       instead (examples/tang_gpt: about 4 minutes on 2 cores; writes
#       tang_gpt_loss.svg and tang_gpt_attention.html)
#   scripts/demo.sh --tang-gru [kiln-tang-gru options]   a GRU on the Tang poems
#       instead (examples/tang_gru: a recurrent network trained through time)
#   scripts/demo.sh --seq2seq [kiln-seq2seq options]     an encoder-decoder with
#       attention instead (examples/seq2seq: answers 你吃了吗? and completes Tang
#       couplets; about 3 minutes on 2 cores; writes seq2seq_attention.html)
#   scripts/demo.sh --cnn [kiln-fashion-mnist options]   the CNN on Fashion-MNIST
#       instead (examples/cnn: about 4 minutes on 2 cores; then an executable
#       compiled ahead of time classifies test images; writes fashion_mnist_out/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
if [[ ${1:-} == --tang-gpt ]]; then
  shift
  echo "== A GPT learns the Tang poems (fortunes-zh's tang300), trained by kiln"
  exec build/examples/kiln-tang-gpt "$@"
fi
if [[ ${1:-} == --tang-gru ]]; then
  shift
  echo "== A GRU learns the Tang poems (fortunes-zh's tang300), trained through time by kiln"
  exec build/examples/kiln-tang-gru "$@"
fi
if [[ ${1:-} == --seq2seq ]]; then
  shift
  echo "== An encoder-decoder with attention learns 你吃了吗? -> 吃了! and the Tang couplets, trained by kiln"
  exec build/examples/kiln-seq2seq "$@"
fi
if [[ ${1:-} == --cnn ]]; then
  shift
  echo "== A CNN learns Fashion-MNIST (dataset-fashion-mnist), trained by kiln"
  exec build/examples/kiln-fashion-mnist "$@"
fi
build/examples/kiln-demo
echo
echo "== 7. A character-level language model with self-attention, trained by kiln"
exec build/examples/kiln-charlm --report charlm_report.html "$@"
