"""PyTorch's scaled_dot_product_attention on the CPU, the configurations of
kiln-attention-bench: batch 1, 8 heads, D = 64, forward and forward +
backward, causal or not. One line per configuration:
  torch sdpa fwd|fwdbwd L=.. causal=0|1 threads=.. ms=.. peak_rss_mib=..
ms is the median of RUNS calls after one warm-up call.
Usage: python attention_torch.py RUNS THREADS L1,L2,...
       python attention_torch.py --peak-rss L THREADS     (in a fresh process)
The second form runs the causal forward at L once and prints the resident
memory before the call and the process's peak:
  torch sdpa fwd L=.. causal=1 threads=.. rss_before_mib=.. peak_rss_mib=.."""
import resource
import statistics
import sys
import time

import torch


def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / (1 << 20)


if sys.argv[1] == "--peak-rss":
    length, threads = int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    q, k, v = (torch.rand(1, 8, length, 64) * 2 - 1 for _ in range(3))
    before = resident_mib()
    with torch.no_grad():
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    print(f"torch sdpa fwd L={length} causal=1 threads={threads} rss_before_mib={before:.0f} "
          f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", flush=True)
    sys.exit(0)

runs, threads, lengths = int(sys.argv[1]), int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")]
torch.set_num_threads(threads)
torch.manual_seed(0)
for length in lengths:
    for causal in (True, False):
        for backward in (False, True):
            q, k, v = (torch.rand(1, 8, length, 64) * 2 - 1 for _ in range(3))
            g = torch.rand(1, 8, length, 64) * 2 - 1
            if backward:
                for t in (q, k, v):
                    t.requires_grad_(True)

            def call():
                o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                if backward:
                    for t in (q, k, v):
                        t.grad = None
                    o.backward(g)

            times = []
            for r in range(runs + 1):
                start = time.perf_counter()
                call()
                if r > 0:
                    times.append(time.perf_counter() - start)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"torch sdpa {'fwdbwd' if backward else 'fwd'} L={length} causal={int(causal)} "
                  f"threads={threads} ms={statistics.median(times) * 1e3:.3f} peak_rss_mib={rss:.0f}", flush=True)
