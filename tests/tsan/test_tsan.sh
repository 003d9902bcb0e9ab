#!/usr/bin/env bash
# ThreadSanitizer over the thread pool and parallel kernels: models compiled
# with `kiln compile --sanitize=thread` (kernels, runtime and driver all
# instrumented) run on 1-4 threads and from two callers at once; any data
# race fails the test. A planted race (two callers sharing one workspace)
# must be reported, which shows the instrumentation is really there.
# Usage: test_tsan.sh KILN_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
kiln=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
fail() { echo "FAIL: $*"; exit 1; }

build() { # NAME MODEL [kiln options...]: NAME.o, NAME.h and the drivers
  local name=$1 model=$2; shift 2
  "$kiln" compile "$model" --emit=obj --sanitize=thread --name "$name" -o "$name.o" "$@" > /dev/null
  for variant in clean race; do
    local flags=(); [ $variant = race ] && flags=(-DSHARE_WORKSPACE)
    clang-19 -std=gnu11 -O1 -g -fsanitize=thread -I. "-DMODEL_HEADER=\"$name.h\"" "-DPREFIX=$name" \
      "${flags[@]}" "$src/tests/tsan/driver.c" "$name.o" -lm -lpthread -o "${name}_$variant"
  done
}

build kernels "$src/tests/tsan/parallel_kernels.mlir"
# A training step: the backward matmuls (dA = dY B^T, dB = A^T dY) in parallel.
build step "$src/tests/tsan/train_step.mlir" --train-step --optimizer adam

for name in kernels step; do
  "./${name}_clean" || fail "$name: a data race or a different result (see above)"
  # ThreadSanitizer sees a race only between accesses no synchronization
  # orders; the thread pool's locks, taken by both callers, sometimes order
  # the two calls' workspace accesses in one run (a step whose kernels are
  # few and short). The race is there in every run: one of five must
  # report it.
  reported=0
  for attempt in 1 2 3 4 5; do
    set +e; "./${name}_race" > race.out 2> race.err; rc=$?; set -e
    if [ $rc = 66 ] && grep -q "WARNING: ThreadSanitizer: data race" race.err; then
      reported=$attempt
      break
    fi
  done
  [ $reported != 0 ] || fail "$name: the planted race (one workspace, two callers) was not reported in 5 runs (last exit $rc)"
  echo "$name: the planted race was reported (run $reported)"
done
