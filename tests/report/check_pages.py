#!/usr/bin/env python3
"""Checks report pages written by the examples' --report (ctest
report.examples, after the example tests): each must exist and pass
report_page.check_page; those named with :attention must hold attention maps.

Usage: check_pages.py PAGE.html[:attention] ...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import report_page  # noqa: E402

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


for arg in sys.argv[1:]:
    path, _, want = arg.partition(":")
    if not os.path.exists(path):
        check(False, f"{path}: not written (did its example run?)")
        continue
    html = open(path, encoding="utf-8").read()
    data = report_page.page_data(html)
    report_page.check_page(check, os.path.basename(path), html, data)
    check(data["profile"] is not None, f"{path}: a profile of the run")
    if want == "attention":
        check(len(data["attention"]) > 0, f"{path}: attention maps")
print(f"check_pages: {len(sys.argv) - 1} page(s), {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
