#!/usr/bin/env bash
# Plants known bugs, one at a time, in a scratch copy of the committed tree
# and reports which ones the test suite (ctest: numerics, gradients, lit,
# TSan, allocation counts, AOT, examples) fails to catch. Every mutant must
# be caught; a mutant whose anchor text is gone is an error (update the list
# with the code). Run by hand, not in CI (each mutant rebuilds and runs the
# suite until its first failure: about half an hour for the list on 2 cores).
# Results: docs/reliability.md, "Mutants".
# Usage: scripts/mutants.sh [WORK_DIR] [MUTANT...]   (default /tmp/kiln-mutants, all)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/kiln-mutants}
shift || true
ONLY=("$@")

# name | file | the exact text to replace | its replacement
MUTANTS=$(cat <<'EOF'
gradient_sign|ir/Gradients.cpp|out.push_back(b.unbroadcast(b.neg(g0(gs)), getRhs().getType()));|out.push_back(b.unbroadcast(g0(gs), getRhs().getType()));
softmax_without_max|passes/lowering/NNToLinalg.cpp|return b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[1]));|return b.create<math::ExpOp>(l, a[0]);
tile_edge_off_by_one|passes/tiling/TileMatmul.cpp|{rewriter.getAffineConstantExpr(columns), n - d0}|{rewriter.getAffineConstantExpr(columns), n - d0 - 1}
skipped_epilogue|passes/tiling/TileMatmul.cpp|rewriter.replaceAllUsesWith(original, replacement);|rewriter.replaceAllUsesWith(original, op->getResult(0));
heap_temporary|passes/lowering/PlanWorkspace.cpp|Buffer b{alloc, nullptr, position[&op], n, byteSize(type)};|Buffer b{alloc, nullptr, position[\&op], n, byteSize(type)}; if (b.bytes > 4096) continue;
racy_parallel_loop|runtime/parallel.c|j.body(chunk_begin(&j, chunk), chunk_begin(&j, chunk + 1), j.args, s);|j.body(chunk_begin(\&j, chunk), chunk + 1 < j.threads ? chunk_begin(\&j, chunk + 1) + 1 : chunk_begin(\&j, chunk + 1), j.args, s);
EOF
)

rm -rf "$WORK" && mkdir -p "$WORK/src"
git archive HEAD | tar -x -C "$WORK/src"
echo "kiln mutants: building the unmutated copy in $WORK/src/build"
(cd "$WORK/src" && scripts/setup.sh build > "$WORK/build.log" 2>&1) || { tail -20 "$WORK/build.log"; exit 2; }

report="$WORK/report.txt"
: > "$report"
missed=0
while IFS='|' read -r name file from to; do
  [ -z "$name" ] && continue
  if ((${#ONLY[@]})) && [[ ! " ${ONLY[*]} " =~ " $name " ]]; then continue; fi
  target="$WORK/src/$file"
  cp "$target" "$target.orig"
  if ! python3 - "$target" "$from" "$to" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2], sys.argv[3].replace("\\&", "&")
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"anchor found {text.count(old)} times in {path}: {old}")
open(path, "w").write(text.replace(old, new))
PY
  then
    echo "kiln mutants: $name: cannot be planted (the code changed: update scripts/mutants.sh)"
    exit 2
  fi
  touch "$target"
  start=$(date +%s)
  log="$WORK/$name.log"
  if ! ninja -C "$WORK/src/build" > "$log" 2>&1; then
    result="caught (does not build)"
  elif (cd "$WORK/src/build" && KILN_CACHE=off ctest -j2 --stop-on-failure --output-on-failure >> "$log" 2>&1); then
    result="MISSED"
    missed=$((missed + 1))
  else
    first=$(grep -E "^\s+[0-9]+ - " "$log" | head -1 | sed -E 's/^\s+[0-9]+ - //; s/ \(.*//')
    result="caught by ${first:-a failing test}"
  fi
  mv "$target.orig" "$target"
  touch "$target" # newer than the mutant's object: the next build restores it
  line=$(printf '%-22s %-45s %4ds' "$name" "$result" $(( $(date +%s) - start )))
  echo "kiln mutants: $line"
  echo "$line" >> "$report"
done <<< "$MUTANTS"
ninja -C "$WORK/src/build" > /dev/null 2>&1 || true
echo "kiln mutants: $missed missed (report: $report)"
exit $((missed > 0))
