#!/usr/bin/env python3
"""Seeded fuzzing of an AOT executable's command line.

Compiles a model to a standalone executable (`kiln compile --emit=exe`),
then runs it with random command lines built from its own vocabulary
(--input NAME=FILE, --output-dir DIR, --help, their misspellings, empty and
huge values, missing values, '=' in odd places, repeated options, files
that are no .npy, directories, /dev/zero, a .npy of the wrong type or
shape, non-UTF-8 bytes). Every run must end with exit 0, 1 or 2 within the
time limit, and a non-zero exit must print a message: never a signal, a
hang or a silent failure. (The executable's main is generated C; running it
as a process keeps the test to what a user can do.)

  fuzz_exe_args.py --kiln build/tools/kiln --model examples/neuron/neuron.mlir \
      --count 500 --seed 1 --workdir /tmp/fuzz-exe
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys


def npy(path, descr, shape, count):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join(f"{d}, " for d in shape).rstrip(" ") if len(shape) != 1 else f"{shape[0]},")
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    body = struct.pack("<%df" % count, *([0.5] * count)) if descr == "<f4" else b"\0" * (8 * count)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--model", required=True, help="a model with one f32[8, 1] input named x")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()

    kiln, model = os.path.abspath(args.kiln), os.path.abspath(args.model)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    os.chdir(args.workdir)
    exe = os.path.abspath("model_exe")
    subprocess.run([kiln, "compile", model, "--emit=exe", "-o", exe], check=True,
                   stdout=subprocess.DEVNULL)
    npy("good.npy", "<f4", (8, 1), 8)
    npy("wrong_shape.npy", "<f4", (2, 3), 6)
    npy("wrong_type.npy", "<f8", (8, 1), 8)
    with open("garbage.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\xff\xff{'descr'")
    os.makedirs("a_directory", exist_ok=True)
    files = ["good.npy", "wrong_shape.npy", "wrong_type.npy", "garbage.npy", "a_directory",
             "/dev/zero", "missing.npy", "", "x" * 5000, "good.npy\udcff"]
    names = ["x", "X", "y", "", "x" * 300, "x=x", "d_x", "\udcfe"]
    options = ["--input", "--output-dir", "--help", "-h", "--inputs", "--input=", "--output-dir=",
               "-", "--", "---input", "--frobnicate", "x=good.npy", ""]

    rng = random.Random(args.seed)

    def token():
        kind = rng.randrange(6)
        if kind == 0:
            return rng.choice(options)
        if kind == 1:
            return rng.choice(names) + "=" + rng.choice(files)
        if kind == 2:
            return "--input=" + rng.choice(names) + "=" + rng.choice(files)
        if kind == 3:
            return rng.choice(files)
        if kind == 4:
            return "--output-dir=" + rng.choice(["out", "", "a_directory", "/dev/null/x", "good.npy"])
        return rng.choice(["--input", "--output-dir"])

    failures = 0
    exits = {}
    for i in range(args.count):
        argv = [token() for _ in range(rng.randrange(0, 7))]
        if rng.random() < 0.3:  # a mostly valid command line with one change
            argv = ["--input", "x=good.npy", "--output-dir", "out"]
            argv[rng.randrange(len(argv))] = token()
        cmd = [exe] + [os.fsencode(a) for a in argv]  # lone surrogates: raw bytes
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"HANG ({args.timeout} s): {argv!r}")
            failures += 1
            continue
        rc = proc.returncode
        exits[rc] = exits.get(rc, 0) + 1
        if rc not in (0, 1, 2):
            print(f"exit {rc}: {argv!r}\n{proc.stderr.decode(errors='replace')[-2000:]}")
            failures += 1
        elif rc != 0 and not proc.stderr.strip():
            print(f"exit {rc} without a message: {argv!r}")
            failures += 1
    print(f"{args.count} command lines, {failures} failures; exit codes: {dict(sorted(exits.items()))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
