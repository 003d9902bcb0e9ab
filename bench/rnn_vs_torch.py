"""kiln's GRU and LSTM layers against PyTorch's, call by call
(bench/rnn_vs_torch.sh): kiln-rnn-bench and bench/rnn_torch.py run as
servers side by side, and for each configuration the driver asks each for
one timed call in turn, PAIRS times, the order swapped every pair. The
machine's speed drifts by up to 2x over seconds (other tenants of the
host), so each kiln call is compared with the PyTorch call next to it: the
table gives the median of those pairs' ratios and the middle half of them
(the 25th to 75th percentile), beside each side's median time."""
import os
import statistics
import subprocess
import sys
import time

kiln_bench, pairs, hiddens, torch_script = sys.argv[1:5]
PAIRS = int(pairs)
BATCH, STEPS = 32, 64


class Server:
    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})))

    def call(self, request):
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line.startswith("ms="):
            sys.exit(f"{self.proc.args[0]}: no answer to `{request}`")
        # (the other side's pool threads settle before the next call)
        time.sleep(0.01)
        return float(line[3:])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def quartiles(values):
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


rows = []
for threads in (1, 2):
    # Fresh servers for each thread count, as a program would be started
    # (in one PyTorch process switched from 1 thread to 2, its GRU ran no
    # faster on two; why was not looked into).
    kiln = Server([kiln_bench, "--serve"], {"KILN_NUM_THREADS": str(threads)})
    torch = Server([sys.executable, torch_script, "--serve"])
    for cell in ("gru", "lstm"):
        for mode in ("fwd", "fwdbwd"):
            for hidden in (int(h) for h in hiddens.split(",")):
                request = f"{cell} {mode} {hidden} {threads}"
                kiln.call(request)  # compiled (or made) and warm
                torch.call(request)
                kiln_ms, torch_ms, ratios = [], [], []
                for i in range(PAIRS):
                    if i % 2 == 0:
                        k = kiln.call(request)
                        t = torch.call(request)
                    else:
                        t = torch.call(request)
                        k = kiln.call(request)
                    kiln_ms.append(k)
                    torch_ms.append(t)
                    ratios.append(t / k)
                gates = 3 if cell == "gru" else 4
                flops = 2.0 * BATCH * STEPS * (2 * hidden) * gates * hidden * (3 if mode == "fwdbwd" else 1)
                k_med = statistics.median(kiln_ms)
                low, high = quartiles(ratios)
                rows.append((cell, mode, hidden, threads, k_med, flops / (k_med * 1e-3) / 1e9,
                             statistics.median(torch_ms), statistics.median(ratios), low, high))
    kiln.close()
    torch.close()

print(f"batch 32, 64 steps, input = hidden, one layer; {PAIRS} pairs of calls (kiln's and PyTorch's, one after the")
print("other, the order swapped every pair); vs torch = the median of the pairs' PyTorch time / kiln time")
print("(> 1: kiln faster), middle half = the 25th-75th percentile of those ratios")
print()
print("| layer | pass | H | threads | kiln ms | GFLOP/s | PyTorch ms | vs torch | middle half |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for cell, mode, hidden, threads, k_med, gflops, t_med, ratio, low, high in sorted(rows):
    print(f"| {cell.upper()} | {'forward' if mode == 'fwd' else 'forward + backward'} | {hidden} | {threads} | "
          f"{k_med:.2f} | {gflops:.1f} | {t_med:.2f} | {ratio:.2f}x | {low:.2f}-{high:.2f}x |")
