#!/usr/bin/env python3
"""`kiln report`'s page loaded in a real browser (ctest report.browser).

Usage: browser_test.py KILN SOURCE_DIR WORK_DIR

Headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) loads
the report of the attention test model, run on inputs, and the test reads
the rendered DOM (--dump-dom): the page's script must have set
data-kiln-ready="1" on <html> and built a tab per phase; a link asking for a
source line and a phase must show that line picked and the phase's lines it
became marked; the profile and attention tabs must render their table and
heatmaps. A negative control, the same page with its script broken, must
fail the same checks. A screenshot (WORK_DIR/report.png) is left for a
person to look at.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import npy  # noqa: E402

KILN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PHASES = ["nn", "grad", "linalg", "fused", "tiled", "bufferized", "llvm"]
os.makedirs(WORK, exist_ok=True)

browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if not browser:
    raise SystemExit("no Chromium: install it with scripts/setup.sh (apt-get install chromium)")


def chromium(*args):
    profile = os.path.join(WORK, "chromium-profile")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--user-data-dir=" + profile, "--virtual-time-budget=10000", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({run.returncode}): {run.stderr[-2000:]}")
    return run.stdout


def rendered(page, fragment=""):
    return chromium("--dump-dom", "file://" + os.path.abspath(page) + fragment)


def problems(page):
    """What is wrong with the page as the browser rendered it (empty: nothing)."""
    found = []
    dom = rendered(page, "#tab=phase-linalg&line=24")
    html = re.search(r"<html[^>]*>", dom)
    if not html or 'data-kiln-ready="1"' not in html.group(0):
        found.append("the script did not set data-kiln-ready=\"1\" on <html>")
    for phase in PHASES:
        if not re.search(r'<button[^>]*role="tab"[^>]*data-tab="phase-' + phase + '"', dom):
            found.append(f"no rendered tab for phase {phase}")
    picked = re.findall(r'<span class="l k-linked k-picked" data-n="(\d+)"', dom)
    if picked != ["24"]:
        found.append(f"source line 24 is not the one picked (picked: {picked})")
    linalg = re.search(r'<div class="k-pane" data-pane="phase-linalg">(.*?)</pre>', dom, re.S)
    if not linalg or "k-hit" not in linalg.group(1):
        found.append("the linalg tab marks none of the lines line 24 became")
    dom = rendered(page, "#tab=attention")
    if len(re.findall(r"<canvas ", dom)) != 3:
        found.append("the attention tab does not show its 3 heatmaps")
    dom = rendered(page, "#tab=profile")
    if not re.search(r'<table class="k-table k-profile">.*?<th[^>]*data-col="share"', dom, re.S):
        found.append("the profile tab has no sortable table")
    return found


npy.write(os.path.join(WORK, "x.npy"), "f32", [1, 5, 4], [((i * 7) % 11) / 5.0 - 1 for i in range(20)])
page = os.path.join(WORK, "attention.html")
subprocess.run([KILN, "report", os.path.join(SRC, "tests/report/Inputs/attention.mlir"), "-o", page,
                "--input", "x=" + os.path.join(WORK, "x.npy"), "--labels", "你吃了吗?"], check=True)

found = problems(page)
for p in found:
    print("FAIL:", p)

# The negative control: the same page, its script broken by a syntax error.
broken = os.path.join(WORK, "broken.html")
text = open(page, encoding="utf-8").read()
marker = "'use strict';"
if marker not in text:
    raise SystemExit("the page's script has no 'use strict'; to break")
open(broken, "w", encoding="utf-8").write(text.replace(marker, marker + " ) broken (", 1))
control = problems(broken)
if not control:
    found.append("the negative control (script broken) passed the checks: they prove nothing")
    print("FAIL: the negative control passed")
else:
    print(f"negative control failed as it must ({len(control)} problems, e.g. {control[0]})")

shot = os.path.join(WORK, "report.png")
chromium("--hide-scrollbars", "--window-size=1400,900", "--screenshot=" + shot,
         "file://" + os.path.abspath(page) + "#tab=phase-tiled&line=15")
if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
    found.append("no screenshot")
print(f"browser_test: {len(found)} failure(s); screenshot {shot}")
sys.exit(1 if found else 0)
