#!/usr/bin/env python3
"""Writes and reads small .npy files without numpy (test tooling only).

  npy.py write FILE DTYPE SHAPE VALUES   e.g. npy.py write x.npy f32 2,3 1,2,3,4,5,6
                                           (SHAPE "" is a scalar; VALUES may be
                                            "random:SEED" for uniform [-1, 1))
  npy.py print FILE                      prints dtype, shape and values
"""
import random
import struct
import sys

DTYPES = {"f32": ("<f4", "f"), "f64": ("<f8", "d"), "i32": ("<i4", "i"),
          "i64": ("<i8", "q"), "bool": ("|b1", "?")}


def write(path, dtype, shape, values):
    descr, fmt = DTYPES[dtype]
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")"
    if len(shape) == 1:
        shape_text = f"({shape[0]},)"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header += " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        if dtype in ("i32", "i64", "bool"):
            values = [int(v) for v in values]
        f.write(struct.pack("<" + fmt * len(values), *values))


def read(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", "bad magic"
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = eval(data[start:start + hlen].decode("latin1"))  # trusted test files only
    descr, shape = header["descr"], tuple(header["shape"])
    fmt = {v[0]: v[1] for v in DTYPES.values()}[descr]
    count = 1
    for d in shape:
        count *= d
    body = data[start + hlen:]
    values = struct.unpack("<" + fmt * count, body[:struct.calcsize("<" + fmt * count)])
    name = {v[0]: k for k, v in DTYPES.items()}[descr]
    return name, shape, list(values)


def main(argv):
    if len(argv) >= 2 and argv[1] == "write":
        path, dtype, shape_text, values_text = argv[2:6]
        shape = [int(s) for s in shape_text.split(",") if s]
        count = 1
        for d in shape:
            count *= d
        if values_text.startswith("random:"):
            rng = random.Random(int(values_text.split(":")[1]))
            values = [rng.uniform(-1, 1) for _ in range(count)]
        else:
            values = [float(v) for v in values_text.split(",") if v]
        if len(values) != count:
            sys.exit(f"npy.py: {count} values needed for shape {shape}, got {len(values)}")
        write(path, dtype, shape, values)
    elif len(argv) == 3 and argv[1] == "print":
        name, shape, values = read(argv[2])
        print(name, list(shape), " ".join(f"{v:.6g}" for v in values))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
