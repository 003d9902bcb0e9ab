"""Runs kiln-train-bench and bench/torch_train.py for 1 and 2 threads,
alternating, in ROUNDS rounds (default 3), and prints one markdown table of
medians (bench/train_vs_torch.sh)."""
import os
import re
import statistics
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


# The machine is shared and its speed drifts over minutes: rounds that
# alternate kiln and PyTorch, each ratio taken within a round, and the
# medians over rounds.
ROUNDS = int(os.environ.get("ROUNDS", "3"))
samples = {}  # (threads, key) -> list of values
def add(threads, key, value):
    samples.setdefault((threads, key), []).append(value)

for _ in range(ROUNDS):
    for threads in (1, 2):
        k = kiln(threads)
        t = torch(threads)
        for model in ("attention_lm", "mlp"):
            eager, compiled = t[(model, "eager")][0], t[(model, "compile")][0]
            add(threads, (model, "kiln"), k[model])
            add(threads, (model, "eager"), eager)
            add(threads, (model, "compile"), compiled)
            add(threads, (model, "vs_eager"), k[model] / eager)
            add(threads, (model, "vs_compile"), k[model] / compiled)
        add(threads, ("forward", "kiln"), k["lm_forward_ms"])
        add(threads, ("forward", "eager"), t[("attention_lm", "eager")][1])
        add(threads, ("forward", "compile"), t[("attention_lm", "compile")][1])
        add(threads, ("forward", "ratio"), k["lm_backward_ratio"])


def med(threads, key):
    return statistics.median(samples[(threads, key)])


print(f"medians of {ROUNDS} rounds (each: kiln then PyTorch, {runs} runs each)")
print("| row | threads | kiln | PyTorch eager | torch.compile | kiln / eager | kiln / compile |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for threads in (1, 2):
    for model, name in (("attention_lm", "attention LM step (AdamW), steps/s"),
                        ("mlp", "MLP 784-256-256-10 step (SGD), steps/s")):
        print(f"| {name} | {threads} | {med(threads, (model, 'kiln')):.1f} | {med(threads, (model, 'eager')):.1f} | "
              f"{med(threads, (model, 'compile')):.1f} | {med(threads, (model, 'vs_eager')):.2f} | "
              f"{med(threads, (model, 'vs_compile')):.2f} |")
    print(f"| attention LM forward, ms (kiln: backward + update / forward) | {threads} | "
          f"{med(threads, ('forward', 'kiln')):.1f} | {med(threads, ('forward', 'eager')):.1f} | "
          f"{med(threads, ('forward', 'compile')):.1f} | ({med(threads, ('forward', 'ratio')):.2f}x) | — |")
