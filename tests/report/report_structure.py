#!/usr/bin/env python3
"""`kiln report`'s page checked structurally (ctest report.structure).

Usage: report_structure.py KILN SOURCE_DIR WORK_DIR

For an MLP, a training step, the attention test model run on inputs and
trained-looking weights, and an ONNX model: every phase is present with its
passes, the IR's ops are linked to real source lines, the graph's nodes and
the decisions name source lines, nothing points outside the page, and the
attention maps equal softmax(q k^T / sqrt(d)) computed here. Bad command
lines and models exit 2 and 1 with a message.
"""
import math
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
sys.path.insert(0, os.path.dirname(__file__))
import npy  # noqa: E402
import report_page  # noqa: E402
from report_page import PHASES  # noqa: E402

KILN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PHASES = ["nn", "grad", "linalg", "fused", "tiled", "bufferized", "llvm"]
os.makedirs(WORK, exist_ok=True)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def check_page(name, html, data, phases=PHASES):
    report_page.check_page(check, name, html, data, phases)


def report(name, model, *options):
    out = os.path.join(WORK, name + ".html")
    run = subprocess.run([KILN, "report", model, "-o", out, *options], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr)
        raise SystemExit(f"kiln report {model} failed with exit {run.returncode}")
    html = open(out, encoding="utf-8").read()
    return html, report_page.page_data(html)


# 1. The MLP: every phase, decisions linked to the lines they name.
html, data = report("mlp", os.path.join(SRC, "examples/mlp/mlp.mlir"), "--graph-layout", "kiln")
check_page("mlp", html, data)
mlp = open(os.path.join(SRC, "examples/mlp/mlp.mlir")).read().split("\n")
check(data["sources"][0]["lines"] == mlp, "mlp: the source is the file's text")
check(len(data["decisions"]) > 0, "mlp: fusion decisions recorded")
for d in data["decisions"]:
    check(d["sources"], f"mlp: decision linked to source lines: {d}")
    for line in re.findall(r"mlp\.mlir:(\d+):", d["message"]):
        check([0, int(line)] in d["sources"], f"mlp: decision linked to line {line}, which it names: {d}")
check(data["profile"] is None and data["attention"] == [], "mlp: no profile or attention without inputs")
check(any("no inputs" in n for n in data["notes"]), "mlp: the page says why there is no profile")
# An nn.add on line 12 becomes a linalg op and, fused, part of a matmul kernel.
linalg = next(p for p in data["phases"] if p["name"] == "linalg")
check(any([0, 12] in refs for _, refs in linalg["map"]), "mlp: line 12 (nn.add) reaches the linalg phase")

# A big model's IR is cut, with a note, where it passes --ir-limit.
html, data = report("mlp_cut", os.path.join(SRC, "examples/mlp/mlp.mlir"), "--ir-limit", "4096")
llvm = data["phases"][-1]
check(llvm["truncated"] and len(llvm["ir"]) <= 4096 < llvm["fullBytes"], "mlp_cut: the llvm phase is cut at 4096 bytes")
check(all(line <= llvm["ir"].count("\n") + 1 for line, _ in llvm["map"]), "mlp_cut: no link past the cut")
# Graphviz's layout where dot is installed (the kiln layout is checked above).
if shutil.which("dot"):
    html, data = report("mlp_dot", os.path.join(SRC, "examples/mlp/mlp.mlir"), "--graph-layout", "dot")
    check_page("mlp_dot", html, data)
    check(data["graph"]["layout"] == "dot", "mlp_dot: drawn by dot")

# 2. A training step: its grad phase runs passes; the entry is the model.
html, data = report("train_step", os.path.join(SRC, "tests/lit/cli/Inputs/neuron-loss.mlir"),
                    "--train-step", "--optimizer", "adamw")
check_page("train_step", html, data)
check("--train-step" in data["options"] and data["entry"] == "main", "train_step: options and entry shown")
grad = next(p for p in data["phases"] if p["name"] == "grad")
check("main_train_step" in grad["ir"], "train_step: the grad phase holds the training step")
# --profile without inputs: a run on made-up ones, said so.
html, data = report("train_step_profiled", os.path.join(SRC, "tests/lit/cli/Inputs/neuron-loss.mlir"),
                    "--train-step", "--profile", "--repeat", "2")
check(data["profile"] is not None and data["profile"]["calls"] == 2, "train_step_profiled: profiled 2 calls")
check(any("made-up inputs" in n for n in data["notes"]), "train_step_profiled: the page says the inputs were made up")

# 3. Attention, run on inputs with weights from --params-dir: the maps are
# softmax(q k^T / sqrt(2)) with the causal mask, per head, and their mean.
rng = random.Random(7)
x = [rng.uniform(-1, 1) for _ in range(20)]
wq = [rng.uniform(-1, 1) for _ in range(16)]
wk = [rng.uniform(-1, 1) for _ in range(16)]
params = os.path.join(WORK, "params")
os.makedirs(params, exist_ok=True)
npy.write(os.path.join(WORK, "x.npy"), "f32", [1, 5, 4], x)
npy.write(os.path.join(params, "wq.npy"), "f32", [4, 4], wq)
npy.write(os.path.join(params, "wk.npy"), "f32", [4, 4], wk)
html, data = report("attention", os.path.join(SRC, "tests/report/Inputs/attention.mlir"),
                    "--input", "x=" + os.path.join(WORK, "x.npy"), "--params-dir", params,
                    "--labels", "你吃了吗?", "--repeat", "3")
check_page("attention", html, data)
check(data["positionLabels"] == ["你", "吃", "了", "吗", "?"], "attention: labels are the text's characters")
profile = data["profile"]
check(profile is not None and profile["calls"] == 3 and len(profile["kernels"]) > 0, "attention: profiled 3 calls")
check(any(k["kind"] == "matmul" and k["flops"] > 0 for k in profile["kernels"]), "attention: the profile counts matmul FLOPs")
f32 = lambda v: __import__("struct").unpack("f", __import__("struct").pack("f", v))[0]  # noqa: E731
x, wq, wk = [f32(v) for v in x], [f32(v) for v in wq], [f32(v) for v in wk]
q = [[sum(x[t * 4 + c] * wq[c * 4 + n] for c in range(4)) for n in range(4)] for t in range(5)]
k = [[sum(x[t * 4 + c] * wk[c * 4 + n] for c in range(4)) for n in range(4)] for t in range(5)]
want = []
for h in range(2):
    rows = []
    for i in range(5):
        s = [sum(q[i][2 * h + c] * k[j][2 * h + c] for c in range(2)) / math.sqrt(2) for j in range(i + 1)]
        top = max(s)
        e = [math.exp(v - top) for v in s]
        rows.append([v / sum(e) for v in e] + [0.0] * (4 - i))
    want.append(rows)
mean = [[(want[0][i][j] + want[1][i][j]) / 2 for j in range(5)] for i in range(5)]
maps = data["attention"]
check(len(maps) == 3 and all(m["rows"] == 5 and m["cols"] == 5 for m in maps), "attention: the mean and 2 heads, 5 x 5")
for m, expected in zip(maps, [mean, want[0], want[1]]):
    got = [m["weights"][i * 5:(i + 1) * 5] for i in range(5)]
    err = max(abs(got[i][j] - expected[i][j]) for i in range(5) for j in range(5))
    check(err < 2e-3, f"attention: {m['title']} matches the reference (max error {err:.2e})")
    check(m["sources"], f"attention: {m['title']} links to its source lines")

# 4. An ONNX model: its nodes are the source's lines.
html, data = report("onnx", os.path.join(SRC, "tests/onnx/models/mlp/model.onnx"))
check_page("onnx", html, data)
check(data["sources"][0]["synthesized"] and "(Gemm)" in data["sources"][0]["lines"][0], "onnx: node names as the source")
# Its trained weights from --params-dir, named as PyTorch names them (the
# signature read from the imported graph, not from its text).
onnx_params = os.path.join(WORK, "onnx_params")
os.makedirs(onnx_params, exist_ok=True)
npy.write(os.path.join(onnx_params, "fc1.bias.npy"), "f32", [32], [0.5] * 32)
html, data = report("onnx_params", os.path.join(SRC, "tests/onnx/models/mlp/model.onnx"), "--params-dir", onnx_params,
                    "--input", "input_0=" + os.path.join(SRC, "tests/onnx/models/mlp/input_0.npy"))
check_page("onnx_params", html, data)
check(data["profile"] is not None, "onnx_params: ran with the trained weights")

# 5. Every example written in kiln IR (the C++ examples write theirs with
# --report: tests/report/check_pages.py checks those pages).
for model, options in [("examples/neuron/neuron.mlir", []), ("examples/aot_c/neuron_loss.mlir", ["--train-step"]),
                       ("examples/aot_c/spirals.mlir", ["--train-step", "--optimizer", "adam", "--loss", "loss"])]:
    name = os.path.basename(model)
    html, data = report(name, os.path.join(SRC, model), *options)
    check_page(name, html, data)

# 6. Bad command lines exit 2, bad models 1, both with a message.
bad = os.path.join(WORK, "bad.mlir")
open(bad, "w").write("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %y = nn.bogus %x\n}\n")
for argv, code, words in [([KILN, "report", bad], 2, "needs -o"),
                          ([KILN, "report", bad, "-o", os.path.join(WORK, "bad.html")], 1, "bad.mlir:2:"),
                          ([KILN, "report", os.path.join(SRC, "examples/mlp/mlp.mlir"), "-o", os.path.join(WORK, "x.html"),
                            "--input", "nope=" + os.path.join(WORK, "x.npy")], 1, "nope"),
                          ([KILN, "report", bad, "-o", "x.html", "--graph-layout", "circle"], 2, "--graph-layout"),
                          ([KILN, "report", os.path.join(SRC, "tests/onnx/models/mlp/model.onnx"), "-o",
                            os.path.join(WORK, "x.html"), "--params-dir", os.path.join(SRC, "tests/report/Inputs")], 1,
                           "holds none of the model's parameters")]:
    run = subprocess.run(argv, capture_output=True, text=True)
    check(run.returncode == code and words in run.stderr, f"{argv[2:]}: exit {run.returncode} (want {code}), stderr {run.stderr!r}")

print(f"report_structure: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
