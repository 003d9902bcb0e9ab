#!/usr/bin/env python3
"""expect_exit.py CODE CMD ARGS...: runs CMD, prints its stdout and stderr
(both to stdout), and exits 0 only if CMD exited with CODE (a signal never
matches)."""
import subprocess
import sys

want = int(sys.argv[1])
proc = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
sys.stdout.write(proc.stdout.decode("utf-8", "replace"))
if proc.returncode != want:
    print(f"expect_exit.py: exit code {proc.returncode}, expected {want}")
    sys.exit(1)
