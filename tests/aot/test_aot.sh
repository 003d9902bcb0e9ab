#!/usr/bin/env bash
# Ahead-of-time artifacts as a new user meets them: compile models kiln has
# not seen, link them into fresh C programs, run them, with bad input too.
# Usage: test_aot.sh KILN_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
kiln=$1 src=$2 work=$3
npy="python3 $src/tests/tools/npy.py"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
expect_exit() { # CODE MESSAGE CMD...: the command exits CODE and prints MESSAGE on stderr
  local code=$1 message=$2; shift 2
  set +e; "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code ($(cat err.txt))"
  grep -qF -- "$message" err.txt || fail "$*: expected '$message' in: $(cat err.txt)"
}

# 1. An executable gives kiln run's results, bit for bit.
$npy write x.npy f32 8,1 -2,-1,-0.5,0,0.25,0.5,1,3
$npy write img.npy f32 16,784 random:5
"$kiln" compile "$src/examples/neuron/neuron.mlir" --emit=exe -o neuron_exe > /dev/null
"$kiln" compile "$src/examples/mlp/mlp.mlir" --emit=exe -o mlp_exe > /dev/null
./neuron_exe --input x=x.npy --output-dir aot > /dev/null
"$kiln" run "$src/examples/neuron/neuron.mlir" --input x=x.npy --output-dir jit > /dev/null 2>&1
cmp aot/y.npy jit/y.npy || fail "neuron: AOT and JIT outputs differ"
./mlp_exe --input x=img.npy --output-dir aot > /dev/null
"$kiln" run "$src/examples/mlp/mlp.mlir" --input x=img.npy --output-dir jit > /dev/null 2>&1
cmp aot/probs.npy jit/probs.npy || fail "mlp: AOT and JIT probabilities differ"
cmp aot/logits.npy jit/logits.npy || fail "mlp: AOT and JIT logits differ"

# 2. The executable's bad input: the same messages as kiln run, exit 1 (2 for usage).
$npy write x64.npy f64 8,1 1,2,3,4,5,6,7,8
$npy write x81.npy f32 8,2 1,2,3,4,5,6,7,8,1,2,3,4,5,6,7,8
printf 'not npy' > garbage.npy
expect_exit 1 'missing input "x" (f32[8, 1])' ./neuron_exe --output-dir o
expect_exit 1 'input "x": expected f32[8, 1], given f64[8, 1]' ./neuron_exe --input x=x64.npy --output-dir o
expect_exit 1 'input "x": expected f32[8, 1], given f32[8, 2]' ./neuron_exe --input x=x81.npy --output-dir o
expect_exit 1 'unknown input "z" (the model'"'"'s inputs: x)' ./neuron_exe --input x=x.npy --input z=x.npy --output-dir o
expect_exit 1 'garbage.npy: not a .npy file' ./neuron_exe --input x=garbage.npy --output-dir o
expect_exit 1 'missing.npy' ./neuron_exe --input x=missing.npy --output-dir o
expect_exit 2 "unknown option '--frobnicate'" ./neuron_exe --frobnicate
expect_exit 2 'needs --output-dir DIR' ./neuron_exe --input x=x.npy

# 3. Two models in one program, static and shared; the MLP's weights external.
cat > model.mlir <<'MLIR'
// A model the repository's tests have not seen: a gated residual block.
func.func @main(%x: tensor<4x6xf32> {nn.name = "x"},
                %w: tensor<6x6xf32> {nn.name = "w", nn.param = {init = "values", value = dense<0.25> : tensor<6x6xf32>}},
                %g: tensor<6xf32> {nn.name = "g", nn.param = {init = "uniform", low = -1.0, high = 1.0, seed = 9}})
    -> (tensor<4x6xf32> {nn.name = "y"}, tensor<4xf32> {nn.name = "norm"}) {
  %h = nn.matmul %x, %w : (tensor<4x6xf32>, tensor<6x6xf32>) -> tensor<4x6xf32>
  %s = nn.sigmoid %g : tensor<6xf32>
  %t = nn.mul %h, %s : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  %y = nn.add %t, %x : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %sq = nn.mul %y, %y : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %n = nn.reduce_sum %sq axes [1] : tensor<4x6xf32> -> tensor<4xf32>
  %r = nn.sqrt %n : tensor<4xf32>
  return %y, %r : tensor<4x6xf32>, tensor<4xf32>
}
MLIR
"$kiln" compile model.mlir --emit=static-lib -o libneuron.a --name neuron > /dev/null
# Trained weights for the MLP (stored, so they travel in the weights file).
mkdir -p mlp_params
for p in w1:784,256 b1:256 w2:256,256 b2:256 w3:256,10 b3:10; do
  $npy write "mlp_params/${p%%:*}.npy" f32 "${p#*:}" "random:${#p}"
done
"$kiln" compile "$src/examples/mlp/mlp.mlir" --emit=static-lib -o libmlp.a --weights=external --params-dir mlp_params > /dev/null
cp "$src/examples/aot_c/two_models.c" two_models.c
cc -std=c99 -O1 -Wall -Werror -I. two_models.c libneuron.a libmlp.a -lm -o two_static
./two_static libmlp.a.weights > static.txt || fail "two models (static) failed: $(cat static.txt)"
grep -q "sums to 1.00000" static.txt || fail "static: probabilities: $(cat static.txt)"
mkdir -p shared && cd shared
"$kiln" compile ../model.mlir --emit=shared-lib -o libneuron.so --name neuron > /dev/null
"$kiln" compile "$src/examples/mlp/mlp.mlir" --emit=shared-lib -o libmlp.so --weights=external --params-dir ../mlp_params > /dev/null
cc -std=c99 -O1 -Wall -Werror -I. ../two_models.c -L. -lneuron -lmlp -Wl,-rpath,"$PWD" -o two_shared
./two_shared libmlp.so.weights > shared.txt || fail "two models (shared) failed"
cd ..
diff static.txt shared/shared.txt || fail "static and shared artifacts disagree"
# A wrong weights file is an error code with its reason, not a crash.
printf 'KILNWTS1\377\377\377\377' > bad.weights
! ./two_static bad.weights > /dev/null 2>&1 || fail "a bad weights file was accepted"
# Another format version (byte 8), a changed weight (the last byte), a cut file.
cp libmlp.a.weights version.weights
printf '\007' | dd of=version.weights bs=1 seek=8 conv=notrunc 2> /dev/null
! ./two_static version.weights 2> version.txt > /dev/null || fail "a weights file of another version was accepted"
grep -q "another format version" version.txt || fail "version mismatch: $(cat version.txt)"
cp libmlp.a.weights changed.weights
size=$(stat -c %s changed.weights)
printf '\125' | dd of=changed.weights bs=1 seek=$((size - 1)) conv=notrunc 2> /dev/null
! ./two_static changed.weights 2> changed.txt > /dev/null || fail "a changed weights file was accepted"
grep -q "checksum" changed.txt || fail "changed weights: $(cat changed.txt)"
head -c $((size / 2)) libmlp.a.weights > cut.weights
! ./two_static cut.weights > /dev/null 2>&1 || fail "a truncated weights file was accepted"
# Stored weights are raw bytes in a read-only section, never C source: the
# embedded MLP's parameters are in .rodata.kiln_weights, whole.
"$kiln" compile "$src/examples/mlp/mlp.mlir" --emit=obj -o mlp_embedded.o --name mlpe --params-dir mlp_params > /dev/null
section=$(objdump -h mlp_embedded.o | awk '$2 == ".rodata.kiln_weights" {print $3}')
[ -n "$section" ] && [ $((16#$section)) -ge $((784 * 256 * 4)) ] || fail "no weights section of the MLP's size: '$section'"

# 4. Only libc/libm left undefined; only NAME_* exported; NEEDED only libc, libm, the loader.
"$kiln" compile model.mlir --emit=obj -o model.o --name gated > /dev/null
grep -v '^#' "$src/tests/aot/allowed_undefined.txt" | sort > allowed.txt
for f in model.o libneuron.a libmlp.a; do
  nm -u "$f" | awk 'NF == 2 {print $2}' | sort -u > undefined.txt
  extra=$(comm -23 undefined.txt allowed.txt)
  [ -z "$extra" ] || fail "$f leaves undefined: $extra"
done
exported=$(nm -g --defined-only model.o | awk '{print $3}' | grep -v '^gated' || true)
[ -z "$exported" ] || fail "model.o exports more than gated_*: $exported"
for f in shared/libneuron.so shared/libmlp.so neuron_exe two_static; do
  needed=$(readelf -d "$f" | awk '/NEEDED/ {print $5}' | tr -d '[]' | grep -vE '^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|libpthread\.so\.0)$' || true)
  [ -z "$needed" ] || fail "$f needs $needed"
done

# 5. The header compiles as strict C99 and as C++.
printf '#include "neuron.h"\nint main(void) { return NEURON_NUM_TENSORS > 0 ? 0 : 1; }\n' > h.c
cc -std=c99 -pedantic -Wall -Wextra -Werror -I. -c h.c -o h.o
c++ -std=c++17 -Wall -Werror -I. -x c++ -c h.c -o hpp.o

# 6. Training from plain C: the examples/aot_c CMake project.
cmake -G Ninja -S "$src/examples/aot_c" -B aot_c -DKILN="$kiln" > /dev/null
cmake --build aot_c > build.log 2>&1 || fail "examples/aot_c: $(tail -20 build.log)"
aot_c/train_neuron > neuron.txt || fail "AOT neuron training: $(cat neuron.txt)"
aot_c/train_spirals > spirals.txt || fail "AOT spirals training: $(cat spirals.txt)"
echo "aot test passed"
