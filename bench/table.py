#!/usr/bin/env python3
"""One table from the benchmark binaries' JSON (Google Benchmark,
--benchmark_out_format=json, medians of repetitions): per row and thread
count, kiln's rate, its percent of the machine's measured peak, the
libraries' rates and kiln's ratio to each. Usage: table.py [--sort] FILE.json ...
(bench/run_bench.sh runs the binaries and calls this)."""
import json
import re
import sys

rows = {}  # (row, threads) -> {lib: (rate, unit, pct)}
order = []
# --sort: rows by name (a run with --benchmark_enable_random_interleaving
# reports them in random order).
sort = "--sort" in sys.argv
for path in [a for a in sys.argv[1:] if a != "--sort"]:
    with open(path) as f:
        data = json.load(f)
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue  # mean, stddev, cv: the table shows medians
        name = re.sub(r"/real_time(_median)?$", "", b["name"])
        parts = name.split("/")
        threads = "default"
        if parts[-1].startswith("threads:"):
            threads = parts.pop()[len("threads:"):]
        if parts[0] in ("kiln", "openblas", "onednn"):
            lib, row = parts[0], "/".join(parts[1:])
        else:  # kiln-elementwise-bench: kiln only, its default thread count
            lib, row = "kiln", "/".join(parts)
        unit = "GFLOP/s" if "GFLOP/s" in b else "GB/s"
        rate = b.get(unit, 0.0)
        pct = b.get("%peak", b.get("%triad"))
        key = (row, threads)
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][lib] = (rate, unit, pct)

def fmt(x):
    return "—" if x is None else ("%.1f" % x if x < 100 else "%.0f" % x)

if sort:
    order.sort()

print("| row | threads | kiln | unit | % peak | OpenBLAS | oneDNN | kiln / OpenBLAS | kiln / oneDNN |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for key in order:
    libs = rows[key]
    if "kiln" not in libs:
        continue
    rate, unit, pct = libs["kiln"]
    ob = libs.get("openblas", (None,))[0]
    dn = libs.get("onednn", (None,))[0]
    ratio = lambda other: "—" if not other else "%.2f" % (rate / other)
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        key[0], key[1], fmt(rate), unit, "—" if pct is None else "%.0f%%" % pct,
        fmt(ob), fmt(dn), ratio(ob), ratio(dn)))
