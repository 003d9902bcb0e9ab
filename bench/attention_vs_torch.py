"""Runs kiln-attention-bench and bench/attention_torch.py for 1 and 2
threads, alternating, in ROUNDS rounds (default 3), and prints one markdown
table of medians (bench/attention_vs_torch.sh). Each ratio is taken within
a round (the machine's speed drifts over minutes), then the median over
rounds. Then the peak resident memory of a fresh process running the causal
forward once at the largest length, for each."""
import os
import re
import statistics
import subprocess
import sys

kiln_bench, runs, lengths, torch_script = sys.argv[1:5]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
LINE = re.compile(r"^(kiln|torch) (\S+) (fwd|fwdbwd) L=(\d+) causal=(\d) threads=(\d+) ms=([0-9.]+)(.*)$", re.M)


def parse(text):
    out = {}
    for who, kind, mode, length, causal, threads, ms, rest in LINE.findall(text):
        extra = dict(re.findall(r"(\w+)=([0-9.]+)", rest))
        out[(f"{who} {kind}", mode, int(length), int(causal))] = (float(ms), extra)
    return out


def kiln(threads):
    env = dict(os.environ, KILN_NUM_THREADS=str(threads))
    return parse(subprocess.run([kiln_bench, runs, lengths], env=env, check=True, capture_output=True,
                                text=True).stdout)


def torch(threads):
    return parse(subprocess.run([sys.executable, torch_script, runs, str(threads), lengths], check=True,
                                capture_output=True, text=True).stdout)


samples = {}
for _ in range(ROUNDS):
    for threads in (1, 2):
        k, t = kiln(threads), torch(threads)
        for key, (ms, extra) in k.items():
            flash = key[0] == "kiln flash"
            torch_ms = t[("torch sdpa",) + key[1:]][0]
            row = samples.setdefault((threads,) + key[1:], {})
            name = "flash" if flash else "composite"
            row.setdefault(name + "_ms", []).append(ms)
            row.setdefault(name + "_vs_torch", []).append(torch_ms / ms)
            if flash:
                row.setdefault("gflops", []).append(float(extra["gflops"]))
                row.setdefault("peak_pct", []).append(float(extra["peak_pct"]))
                row.setdefault("mib", []).append(float(extra["mib"]))
                row.setdefault("torch_ms", []).append(torch_ms)


def med(row, key, fmt):
    return fmt.format(statistics.median(row[key])) if key in row else "—"


print(f"medians of {runs} calls, {ROUNDS} alternating rounds; vs torch = PyTorch's time / kiln's (> 1: kiln faster)")
print()
print("| threads | pass | L | causal | kiln flash ms | GFLOP/s | % peak | scratch + workspace MiB | PyTorch ms "
      "| flash vs torch | composite ms | composite vs torch |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (threads, mode, length, causal), row in sorted(samples.items()):
    print(f"| {threads} | {'forward' if mode == 'fwd' else 'fwd + bwd'} | {length} | {'yes' if causal else 'no'} "
          f"| {med(row, 'flash_ms', '{:.1f}')} | {med(row, 'gflops', '{:.1f}')} | {med(row, 'peak_pct', '{:.0f}')} "
          f"| {med(row, 'mib', '{:.1f}')} | {med(row, 'torch_ms', '{:.1f}')} | {med(row, 'flash_vs_torch', '{:.2f}x')} "
          f"| {med(row, 'composite_ms', '{:.1f}')} | {med(row, 'composite_vs_torch', '{:.2f}x')} |")


def peak_rss(command, env=None):
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    fields = dict(re.findall(r"(\w+)=([0-9.]+)", out))
    return float(fields["rss_before_mib"]), float(fields["peak_rss_mib"])


longest = max(int(x) for x in lengths.split(","))
k_before, k_peak = peak_rss([kiln_bench, "--peak-rss", str(longest)], dict(os.environ, KILN_NUM_THREADS="1"))
t_before, t_peak = peak_rss([sys.executable, torch_script, "--peak-rss", str(longest), "1"])
io = 4 * 8 * longest * 64 * 4 / (1 << 20)
print()
print(f"Peak RSS of a fresh process that runs the causal forward once at L = {longest} (1 thread): "
      f"kiln {k_peak:.0f} MiB ({k_peak - k_before:.0f} MiB above the {k_before:.0f} MiB resident before the call: "
      f"the compiler, its inputs), PyTorch {t_peak:.0f} MiB ({t_peak - t_before:.0f} MiB above {t_before:.0f} MiB); "
      f"q, k, v and o are {io:.0f} MiB, one head's [L, L] f32 scores {longest * longest * 4 / (1 << 20):.0f} MiB.")
