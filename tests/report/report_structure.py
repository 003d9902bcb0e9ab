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
import json
import math
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import npy  # noqa: E402

KILN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PHASES = ["nn", "grad", "linalg", "fused", "tiled", "bufferized", "llvm"]
os.makedirs(WORK, exist_ok=True)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def report(name, model, *options):
    out = os.path.join(WORK, name + ".html")
    run = subprocess.run([KILN, "report", model, "-o", out, *options], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr)
        raise SystemExit(f"kiln report {model} failed with exit {run.returncode}")
    html = open(out, encoding="utf-8").read()
    data = json.loads(re.search(r'<script type="application/json" id="k-data">(.*?)</script>', html, re.S).group(1))
    return html, data


def check_page(name, html, data, phases=PHASES):
    check(html.startswith("<!doctype html>") and 'data-kiln-ready="0"' in html, f"{name}: an HTML page, not ready before its script runs")
    # Self-contained: no URL, no external script, style sheet, image or font.
    for pattern in [r"https?://", r"<link\b", r"\bsrc\s*=", r"@import", r"url\("]:
        check(not re.search(pattern, html), f"{name}: no '{pattern}' in the page")
    check([p["name"] for p in data["phases"]] == phases, f"{name}: phases {[p['name'] for p in data['phases']]}")
    check(data["version"] and data["hostCpu"] and data["targetCpu"], f"{name}: kiln version and CPUs named")
    sources = data["sources"]
    check(len(sources) >= 1, f"{name}: the model's source is in the page")
    for p in data["phases"]:
        check(p["ir"].startswith("module") or p["ir"].startswith("#"), f"{name}: phase {p['name']} has its IR")
        if p["name"] != "grad" or "--train-step" in data["options"] or "--wrt" in data["options"]:
            check(len(p["passes"]) > 0 and all(s >= 0 for _, s in p["passes"]), f"{name}: phase {p['name']} lists its passes and times")
        check(len(p["map"]) > 0, f"{name}: phase {p['name']} links ops to source lines")
        ir_lines = p["ir"].count("\n") + 1
        for line, refs in p["map"]:
            check(1 <= line <= ir_lines, f"{name}: {p['name']} IR line {line} exists")
            for f, l in refs:
                check(0 <= f < len(sources) and 1 <= l <= len(sources[f]["lines"]), f"{name}: {p['name']} links to a real line {f}:{l}")
    check(data["graph"]["layout"] in ("kiln", "dot") and "<svg" in html, f"{name}: the graph is drawn")
    for node, refs in data["graph"]["nodes"].items():
        check(f'id="{node}"' in html, f"{name}: graph node {node} is in the SVG")
    check(any(refs for refs in data["graph"]["nodes"].values()), f"{name}: graph nodes link to source lines")


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

# 2. A training step: its grad phase runs passes; the entry is the model.
html, data = report("train_step", os.path.join(SRC, "tests/lit/cli/Inputs/neuron-loss.mlir"),
                    "--train-step", "--optimizer", "adamw")
check_page("train_step", html, data)
check("--train-step" in data["options"] and data["entry"] == "main", "train_step: options and entry shown")
grad = next(p for p in data["phases"] if p["name"] == "grad")
check("main_train_step" in grad["ir"], "train_step: the grad phase holds the training step")

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

# 5. Bad command lines exit 2, bad models 1, both with a message.
bad = os.path.join(WORK, "bad.mlir")
open(bad, "w").write("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %y = nn.bogus %x\n}\n")
for argv, code, words in [([KILN, "report", bad], 2, "needs -o"),
                          ([KILN, "report", bad, "-o", os.path.join(WORK, "bad.html")], 1, "bad.mlir:2:"),
                          ([KILN, "report", os.path.join(SRC, "examples/mlp/mlp.mlir"), "-o", os.path.join(WORK, "x.html"),
                            "--input", "nope=" + os.path.join(WORK, "x.npy")], 1, "nope"),
                          ([KILN, "report", bad, "-o", "x.html", "--graph-layout", "circle"], 2, "--graph-layout")]:
    run = subprocess.run(argv, capture_output=True, text=True)
    check(run.returncode == code and words in run.stderr, f"{argv[2:]}: exit {run.returncode} (want {code}), stderr {run.stderr!r}")

print(f"report_structure: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
