#!/usr/bin/env python3
"""Seeded mutation fuzzing of `kiln run`.

Takes the example models and valid .npy inputs, applies random mutations
(byte flips, deletions, duplicated or swapped lines, changed numbers, inserted
garbage, truncation) to the model or to the input, and runs `kiln run` on each
variant. Every run must end with exit code 0 or 1 within the time limit:
never a signal (crash, abort), never a hang, never another code.

  fuzz_kiln_run.py --kiln build/tools/kiln --examples examples --count 500 --seed 1
"""
import argparse
import concurrent.futures
import os
import random
import re
import shutil
import struct
import subprocess
import sys

MODELS = {  # model file -> (input name, dtype, shape)
    "neuron/neuron.mlir": ("x", "<f4", (8, 1)),
    "mlp/mlp.mlir": ("x", "<f4", (16, 784)),
}


def npy_bytes(descr, shape, rng):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join(f"{d}, " for d in shape).rstrip(" "))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    count = 1
    for d in shape:
        count *= d
    body = struct.pack("<%df" % count, *(rng.uniform(-1, 1) for _ in range(count)))
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def mutate_text(text, rng):
    lines = text.split("\n")
    kind = rng.randrange(8)
    if kind == 0 and lines:  # delete a line
        del lines[rng.randrange(len(lines))]
    elif kind == 1 and lines:  # duplicate a line
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == 2 and len(lines) > 1:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:  # change a number
        text = "\n".join(lines)
        numbers = list(re.finditer(r"\d+", text))
        if numbers:
            m = rng.choice(numbers)
            new = str(rng.choice([0, 1, 2, 3, 7, 64, 65535, 2**31, 2**63, int(m.group()) + 1]))
            text = text[:m.start()] + new + text[m.end():]
        return text
    elif kind == 4:  # swap two identifiers or op names
        text = "\n".join(lines)
        words = re.findall(r"[%@]?[A-Za-z_][\w.]*", text)
        if len(words) > 1:
            a, b = rng.choice(words), rng.choice(words)
            text = text.replace(a, "\0").replace(b, a).replace("\0", b)
        return text
    elif kind == 5:  # delete a span of characters
        text = "\n".join(lines)
        i = rng.randrange(max(1, len(text)))
        return text[:i] + text[i + rng.randrange(1, 40):]
    elif kind == 6:  # insert garbage
        text = "\n".join(lines)
        i = rng.randrange(max(1, len(text)))
        junk = "".join(rng.choice("{}()<>[]:,=%@\"x0-9 \n\t\\") for _ in range(rng.randrange(1, 12)))
        return text[:i] + junk + text[i:]
    else:  # truncate
        text = "\n".join(lines)
        return text[:rng.randrange(max(1, len(text)))]
    return "\n".join(lines)


def mutate_bytes(data, rng):
    data = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:  # flip bytes in the header region
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(min(len(data), 128))
            data[i] = rng.randrange(256)
    elif kind == 1:  # truncate
        del data[rng.randrange(len(data)):]
    elif kind == 2:  # append bytes
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    elif kind == 3:  # rewrite the header text
        text = data[10:min(len(data), 128)].decode("latin1")
        for a, b in [("<f4", rng.choice(["<f8", ">f4", "<i4", "|b1", "<u2", "<f"])),
                     ("False", rng.choice(["True", "0", "Flase"])),
                     ("(", rng.choice(["((", "[", ""]))]:
            if rng.random() < 0.5:
                text = text.replace(a, b, 1)
        data[10:10 + len(text)] = text.encode("latin1")
    else:  # change the header length field
        struct.pack_into("<H", data, 8, rng.randrange(65536))
    return bytes(data)


def run_case(args, index):
    rng = random.Random(args.seed * 100003 + index)
    model_rel = rng.choice(list(MODELS))
    name, descr, shape = MODELS[model_rel]
    work = os.path.join(args.workdir, f"case{index}")
    os.makedirs(work, exist_ok=True)
    model_text = open(os.path.join(args.examples, model_rel)).read()
    npy = npy_bytes(descr, shape, rng)
    if rng.random() < 0.6:
        model_text = mutate_text(model_text, rng)
    else:
        npy = mutate_bytes(npy, rng)
    model_path = os.path.join(work, "model.mlir")
    npy_path = os.path.join(work, "input.npy")
    open(model_path, "w").write(model_text)
    open(npy_path, "wb").write(npy)
    cmd = [args.kiln, "run", model_path, "--input", f"{name}={npy_path}",
           "--output-dir", os.path.join(work, "out")]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return index, "timeout", work
    if proc.returncode == 1 and not proc.stderr.strip():
        return index, "exit 1 without a message", work
    if proc.returncode in (0, 1):
        shutil.rmtree(work, ignore_errors=True)
        return index, None, None
    return index, f"exit code {proc.returncode}: {proc.stderr.decode(errors='replace')[-400:]}", work


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--examples", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--workdir", default="fuzz-work")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for index, problem, work in pool.map(lambda i: run_case(args, i), range(args.count)):
            if problem:
                failures.append((index, problem, work))
    for index, problem, work in failures:
        print(f"case {index}: {problem} (kept in {work})")
    print(f"{args.count - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
