#!/usr/bin/env bash
# kiln as an installed library: `cmake --install` into a temporary prefix,
# the public headers compile with only that prefix on the include path, an
# out-of-tree CMake project (examples/cpp_jit) finds the package, builds,
# links and runs, and the installed tools work.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

# The public headers name no MLIR or LLVM type and need no MLIR header.
if grep -rlE '#include [<"](mlir|llvm)/' "$prefix/include"; then
  echo "FAIL: an installed header includes MLIR or LLVM"; exit 1
fi
printf '#include <kiln/kiln.h>\nint main() { kiln::Graph g; return g.status().ok() ? 0 : 1; }\n' > "$work/headers_only.cpp"
c++ -std=c++20 -fsyntax-only -I"$prefix/include" "$work/headers_only.cpp"

# An out-of-tree program: find_package(kiln) and kiln::kiln.
cmake -S "$src/examples/cpp_jit" -B "$work/app" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/app" > "$work/build.log"
"$work/app/cpp_jit"

# The installed tools run from the prefix.
# (Into files first: `grep -q` stops reading at the first match, and under
# pipefail the writer's SIGPIPE would fail the test.)
"$prefix/bin/kiln" phases > "$work/phases.txt"
grep -q bufferized "$work/phases.txt"
"$prefix/bin/kiln-opt" "$src/examples/neuron/neuron.mlir" --kiln-to-linalg > "$work/linalg.mlir"
grep -q linalg.generic "$work/linalg.mlir"
echo "install test passed"
