"""Runs kiln-train-bench and bench/torch_train.py for 1 and 2 threads,
alternating, and prints one markdown table (bench/train_vs_torch.sh)."""
import os
import re
import subprocess
import sys

kiln_bench, runs, torch_script = sys.argv[1], sys.argv[2], sys.argv[3]


def kiln(threads):
    env = dict(os.environ, KILN_NUM_THREADS=str(threads))
    out = subprocess.run([kiln_bench, runs], env=env, check=True, capture_output=True, text=True).stdout
    rates = dict(re.findall(r"^(attention LM|MLP)\b.*?\s([0-9.]+) steps/s", out, re.M))
    forward = re.search(r"([0-9.]+) ms forward, ([0-9.]+) ms step: backward \+ update = ([0-9.]+)x", out)
    return {"attention_lm": float(rates["attention LM"]), "mlp": float(rates["MLP"]),
            "lm_forward_ms": float(forward.group(1)), "lm_backward_ratio": float(forward.group(3))}


def torch(threads):
    out = subprocess.run([sys.executable, torch_script, runs, str(threads)], check=True, capture_output=True,
                         text=True).stdout
    result = {}
    for model, mode, rate, fwd in re.findall(r"^torch (\S+) (\S+) threads=\d+ steps/s=([0-9.]+) forward_ms=([0-9.]+)",
                                             out, re.M):
        result[(model, mode)] = (float(rate), float(fwd))
    return result


rows = []
for threads in (1, 2):
    k = kiln(threads)
    t = torch(threads)
    for model, name in (("attention_lm", "attention LM step (AdamW)"), ("mlp", "MLP 784-256-256-10 step (SGD)")):
        eager, compiled = t[(model, "eager")][0], t[(model, "compile")][0]
        rows.append((name, threads, k[model], eager, compiled, k[model] / eager, k[model] / compiled))
    lm_torch_fwd = t[("attention_lm", "eager")][1]
    rows.append(("attention LM forward, ms (kiln: backward+update / forward)", threads, k["lm_forward_ms"],
                 lm_torch_fwd, t[("attention_lm", "compile")][1], k["lm_backward_ratio"], None))

print("| row | threads | kiln | PyTorch eager | torch.compile | kiln / eager | kiln / compile |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name, threads, kv, ev, cv, r1, r2 in rows:
    if r2 is None:
        print(f"| {name} | {threads} | {kv:.1f} | {ev:.1f} | {cv:.1f} | ({r1:.2f}x) | — |")
    else:
        print(f"| {name}, steps/s | {threads} | {kv:.1f} | {ev:.1f} | {cv:.1f} | {r1:.2f} | {r2:.2f} |")
