"""Runs kiln-rnn-bench and bench/rnn_torch.py for 1 and 2 threads,
alternating, in ROUNDS rounds (default 3), and prints one markdown table of
medians (bench/rnn_vs_torch.sh). Each ratio is taken within a round (the
machine's speed drifts over minutes), then the median over rounds."""
import os
import re
import statistics
import subprocess
import sys

kiln_bench, runs, hiddens, torch_script = sys.argv[1:5]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LINE = re.compile(r"^(kiln|torch) (gru|lstm) (fwd|fwdbwd) H=(\d+) threads=(\d+) ms=([0-9.]+)(.*)$", re.M)


def parse(text):
    out = {}
    for who, cell, mode, hidden, threads, ms, rest in LINE.findall(text):
        out[(who, cell, mode, int(hidden))] = (float(ms), dict(re.findall(r"(\w+)=([0-9.]+)", rest)))
    return out


def kiln(threads):
    env = dict(os.environ, KILN_NUM_THREADS=str(threads))
    return parse(subprocess.run([kiln_bench, runs, hiddens], env=env, check=True, capture_output=True,
                                text=True).stdout)


def torch(threads):
    return parse(subprocess.run([sys.executable, torch_script, runs, str(threads), hiddens], check=True,
                                capture_output=True, text=True).stdout)


samples = {}
for _ in range(ROUNDS):
    for threads in (1, 2):
        k, t = kiln(threads), torch(threads)
        for (who, cell, mode, hidden), (ms, extra) in k.items():
            torch_ms = t[("torch", cell, mode, hidden)][0]
            row = samples.setdefault((cell, mode, hidden, threads), {})
            row.setdefault("kiln_ms", []).append(ms)
            row.setdefault("torch_ms", []).append(torch_ms)
            row.setdefault("vs_torch", []).append(torch_ms / ms)
            row.setdefault("gflops", []).append(float(extra["gflops"]))

print(f"batch 32, 64 steps, input = hidden, one layer; medians of {runs} calls, {ROUNDS} alternating rounds;")
print("vs torch = PyTorch's time / kiln's (> 1: kiln faster)")
print()
print("| layer | pass | H | threads | kiln ms | GFLOP/s | PyTorch ms | vs torch |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for (cell, mode, hidden, threads), row in sorted(samples.items()):
    med = lambda key: statistics.median(row[key])
    print(f"| {cell.upper()} | {'forward' if mode == 'fwd' else 'forward + backward'} | {hidden} | {threads} | "
          f"{med('kiln_ms'):.2f} | {med('gflops'):.1f} | {med('torch_ms'):.2f} | {med('vs_torch'):.2f}x |")
