"""PyTorch's nn.GRU and nn.LSTM on the CPU, the configurations of
kiln-rnn-bench: batch 32, 64 steps, input size = hidden size, one layer;
forward (no_grad), and forward + backward of sum(output) with respect to x
and every parameter. One line per configuration:
  torch gru|lstm fwd|fwdbwd H=.. threads=.. ms=..
ms is the median of RUNS calls after one warm-up call.
Usage: python rnn_torch.py RUNS THREADS H1,H2,..."""
import statistics
import sys
import time

import torch

runs, threads, hiddens = int(sys.argv[1]), int(sys.argv[2]), [int(h) for h in sys.argv[3].split(",")]
torch.set_num_threads(threads)
torch.manual_seed(0)
BATCH, STEPS = 32, 64
for name, cls in (("gru", torch.nn.GRU), ("lstm", torch.nn.LSTM)):
    for hidden in hiddens:
        layer = cls(hidden, hidden)
        for backward in (False, True):
            x = torch.rand(STEPS, BATCH, hidden) * 2 - 1
            times = []
            for i in range(runs + 1):
                start = time.perf_counter()
                if backward:
                    xg = x.clone().requires_grad_(True)
                    layer.zero_grad(set_to_none=True)
                    out, _ = layer(xg)
                    out.sum().backward()
                else:
                    with torch.no_grad():
                        layer(x)
                elapsed = (time.perf_counter() - start) * 1e3
                if i > 0:
                    times.append(elapsed)
            print(f"torch {name} {'fwdbwd' if backward else 'fwd'} H={hidden} threads={threads} "
                  f"ms={statistics.median(times):.3f}", flush=True)
