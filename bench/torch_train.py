"""PyTorch's side of the training-step comparison (bench/train_vs_torch.sh).

The same two models as kiln-train-bench, written op for op as kiln builds
them (examples/charlm/charlm_model.h): the attention LM (vocab 96, d_model
128, 4 heads, 2 layers, context 64, batch 32; pre-norm blocks, causal mask
as a select with -1e9, softmax, exact-erf GELU, no biases on the
projections; AdamW with weight decay 0.01, lr 1e-3) and the MLP
784-256-256-10 (batch 64, ReLU, SGD lr 0.01), both with a mean
cross-entropy loss. Prints one line per (model, mode, threads):

    torch <model> <eager|compile> threads=<n> steps/s=<median> forward_ms=<median>

Run only from the bench environment (bench/torch_env.sh); never part of the
build or the tests.
"""
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class AttentionLM(torch.nn.Module):
    def __init__(self, vocab=96, d=128, heads=4, layers=2, context=64, hidden=512):
        super().__init__()
        self.h, self.d, self.t = heads, d, context
        g = torch.Generator().manual_seed(1)
        proj, out = 1 / math.sqrt(d), 1 / math.sqrt(d) / math.sqrt(2 * layers)

        def w(*shape, std):
            return torch.nn.Parameter(torch.randn(*shape, generator=g) * std)

        self.tok = w(vocab, d, std=0.1)
        self.pos = w(context, d, std=0.1)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(d)
            b.wq, b.wk, b.wv = w(d, d, std=proj), w(d, d, std=proj), w(d, d, std=proj)
            b.wo = w(d, d, std=out)
            b.ln2 = torch.nn.LayerNorm(d)
            b.w1, b.b1 = w(d, hidden, std=proj), torch.nn.Parameter(torch.zeros(hidden))
            b.w2 = w(hidden, d, std=1 / math.sqrt(hidden) / math.sqrt(2 * layers))
            self.blocks.append(b)
        self.lnf = torch.nn.LayerNorm(d)
        self.head = w(d, vocab, std=proj)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def forward(self, ids, targets):
        B, T = ids.shape
        H, Dh = self.h, self.d // self.h
        x = self.tok[ids] + self.pos
        for b in self.blocks:
            h = b.ln1(x)
            q, k, v = ((h @ wt).view(B, T, H, Dh).transpose(1, 2) for wt in (b.wq, b.wk, b.wv))
            scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(Dh))
            weights = torch.softmax(torch.where(self.mask, scores, -1e9), -1)
            x = x + (weights @ v).transpose(1, 2).reshape(B, T, self.d) @ b.wo
            m = F.gelu(b.ln2(x) @ b.w1 + b.b1)
            x = x + m @ b.w2
        logits = self.lnf(x) @ self.head
        return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = torch.nn.Linear(784, 256), torch.nn.Linear(256, 256), torch.nn.Linear(256, 10)

    def forward(self, x, y):
        return F.cross_entropy(self.l3(F.relu(self.l2(F.relu(self.l1(x))))), y)


def median_rate(fn, steps, runs):
    fn()  # warm-up (and, compiled, the compile)
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        rates.append(steps / (time.perf_counter() - t))
    return statistics.median(rates)


def measure(name, make, inputs, optimizer, steps, runs, mode, threads):
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = make()
    opt = optimizer(model.parameters())
    forward = torch.compile(model) if mode == "compile" else model
    update = torch.compile(opt.step) if mode == "compile" else opt.step

    def step():
        opt.zero_grad(set_to_none=True)
        forward(*inputs).backward()
        update()

    rate = median_rate(step, steps, runs)
    with torch.no_grad():
        fwd = median_rate(lambda: forward(*inputs), steps, runs)
    print(f"torch {name} {mode} threads={threads} steps/s={rate:.2f} forward_ms={1000 / fwd:.3f}", flush=True)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    threads = [int(t) for t in (sys.argv[2] if len(sys.argv) > 2 else "1,2").split(",")]
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 96, (32, 64), generator=g)
    targets = torch.randint(0, 96, (32, 64), generator=g)
    xs = (torch.arange(64 * 784) % 255).float().reshape(64, 784) / 255
    ys = torch.arange(64) % 10
    lm_opt = lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01)
    sgd = lambda p: torch.optim.SGD(p, lr=0.01)
    for mode in ("eager", "compile"):
        for n in threads:
            measure("attention_lm", AttentionLM, (ids, targets), lm_opt, 3, runs, mode, n)
            measure("mlp", MLP, (xs, ys), sgd, 20, runs, mode, n)


if __name__ == "__main__":
    main()
