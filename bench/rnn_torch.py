"""PyTorch's nn.GRU and nn.LSTM on the CPU, the configurations of
kiln-rnn-bench: batch 32, 64 steps, input size = hidden size, one layer;
forward (no_grad), and forward + backward of sum(output) with respect to x
and every parameter.
  python rnn_torch.py RUNS THREADS H1,H2,...
prints one line per configuration, `torch gru|lstm fwd|fwdbwd H=.. threads=.. ms=..`,
the median of RUNS calls after one warm-up call.
  python rnn_torch.py --serve
answers one timed call per stdin line `CELL fwd|fwdbwd H THREADS` with
`ms=..` (each configuration made on first use and called once to warm up),
so that bench/rnn_vs_torch.py can pair its calls with kiln's."""
import statistics
import sys
import time

import torch

BATCH, STEPS = 32, 64


class Layer:
    def __init__(self, cell, hidden, backward):
        torch.manual_seed(0)
        self.layer = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](hidden, hidden)
        self.x = torch.rand(STEPS, BATCH, hidden) * 2 - 1
        self.backward = backward

    def call(self):
        """One call's milliseconds."""
        start = time.perf_counter()
        if self.backward:
            xg = self.x.clone().requires_grad_(True)
            self.layer.zero_grad(set_to_none=True)
            out, _ = self.layer(xg)
            out.sum().backward()
        else:
            with torch.no_grad():
                self.layer(self.x)
        return (time.perf_counter() - start) * 1e3


def serve():
    layers = {}
    for line in sys.stdin:
        cell, mode, hidden, threads = line.split()
        torch.set_num_threads(int(threads))
        key = (cell, mode, int(hidden), int(threads))
        if key not in layers:
            layers[key] = Layer(cell, int(hidden), mode == "fwdbwd")
            layers[key].call()
        print(f"ms={layers[key].call():.3f}", flush=True)


def table(runs, threads, hiddens):
    torch.set_num_threads(threads)
    for cell in ("gru", "lstm"):
        for hidden in hiddens:
            for backward in (False, True):
                layer = Layer(cell, hidden, backward)
                times = [layer.call() for _ in range(runs + 1)][1:]
                print(f"torch {cell} {'fwdbwd' if backward else 'fwd'} H={hidden} threads={threads} "
                      f"ms={statistics.median(times):.3f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        table(int(sys.argv[1]), int(sys.argv[2]), [int(h) for h in sys.argv[3].split(",")])
