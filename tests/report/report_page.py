"""The checks every `kiln report` page must pass (report_structure.py and
check_pages.py use them): phases with passes and IR, links to real lines,
the graph's nodes in its SVG, and nothing outside the page."""
import json
import re

PHASES = ["nn", "grad", "linalg", "fused", "tiled", "bufferized", "llvm"]


def page_data(html):
    """The JSON the page's script builds it from."""
    return json.loads(re.search(r'<script type="application/json" id="k-data">(.*?)</script>', html, re.S).group(1))


def check_page(check, name, html, data, phases=PHASES):
    """Calls check(condition, what) for each property of the page."""
    check(html.startswith("<!doctype html>") and 'data-kiln-ready="0"' in html, f"{name}: an HTML page, not ready before its script runs")
    # Self-contained: no URL, no external script, style sheet, image or font.
    for pattern in [r"https?://", r"<link\b", r"\bsrc\s*=", r"@import", r"url\((?!#)"]:
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
