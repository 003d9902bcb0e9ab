"""PyTorch's side of the Tang GPT comparison (bench/tang_gpt_vs_torch.sh).

The model of kiln-tang-gpt (examples/tang_gpt/), written as kiln builds it
(torch_train.AttentionLM: pre-norm blocks, learned positions, exact-erf
GELU, no biases on the projections) but with the attention as PyTorch's
fused scaled_dot_product_attention (is_causal), what a PyTorch user would
write; the same text, held-out split (every 10th poem), vocabulary, batch,
context, dropout, AdamW (weight decay 0.1) and warm-up + cosine schedule. Prints the
validation loss every --eval-every steps and, last:

    torch-tang-gpt: <steps> steps, ... <tokens/s> tokens/s, val loss <v> at the end (best <b> at step <s>) ...

Run only from the bench environment (bench/torch_env.sh); never part of the
build or the tests.
"""
import argparse
import math
import re
import time

import torch
import torch.nn.functional as F

from torch_train import AttentionLM


class TangGPT(AttentionLM):
    def __init__(self, dropout, **kwargs):
        super().__init__(**kwargs)
        self.p = dropout

    def forward(self, ids, targets):
        B, T = ids.shape
        H, Dh = self.h, self.d // self.h
        drop = lambda t: F.dropout(t, self.p, self.training)  # where kiln's charLm drops
        x = drop(self.tok[ids] + self.pos)
        for b in self.blocks:
            h = b.ln1(x)
            q, k, v = ((h @ wt).view(B, T, H, Dh).transpose(1, 2) for wt in (b.wq, b.wk, b.wv))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + drop(a.transpose(1, 2).reshape(B, T, self.d) @ b.wo)
            x = x + drop(F.gelu(b.ln2(x) @ b.w1 + b.b1) @ b.w2)
        logits = self.lnf(x) @ self.head
        return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))


def read_poems(path, val_every=10):
    """As examples/tang_gpt/tang_poems.h: colour codes removed, poems split at
    '%' lines, every val_every-th poem held out, each poem followed by '%\\n'."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(path, encoding="utf-8").read())
    poems, poem = [], ""
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line == "%":
            if poem:
                poems.append(poem)
            poem = ""
        elif line:
            poem += line + "\n"
    if poem:
        poems.append(poem)
    train = "".join(p + "%\n" for i, p in enumerate(poems) if i % val_every != val_every - 1)
    val = "".join(p + "%\n" for i, p in enumerate(poems) if i % val_every == val_every - 1)
    return poems, train, val


def validation_starts(n, T, B):
    last = n - T - 1
    count = max(1, (last + T * B - 1) // (T * B)) * B
    return [0 if count == 1 else i * last // (count - 1) for i in range(count)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--text", default="/usr/share/games/fortunes/tang300")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    poems, train, val = read_poems(a.text)
    chars = sorted(set(train + val))
    ids = {c: i for i, c in enumerate(chars)}
    train_ids = torch.tensor([ids[c] for c in train])
    val_ids = torch.tensor([ids[c] for c in val])
    B, T, D = a.batch, a.context, a.d_model
    model = TangGPT(a.dropout, vocab=len(chars), d=D, heads=4, layers=a.layers, context=T, hidden=4 * D)
    params = sum(q.numel() for q in model.parameters())
    print(f"torch {torch.__version__}, {a.threads} threads; {len(poems)} poems, vocabulary {len(chars)}, "
          f"{params / 1e6:.2f}M parameters", flush=True)
    peak, warm = 1e-3, max(1.0, 0.05 * a.steps)

    def lr(s):
        if s <= warm:
            return peak * s / warm
        return 0.1 * peak + 0.9 * peak * 0.5 * (1 + math.cos(math.pi * (s - warm) / (a.steps - warm)))

    opt = torch.optim.AdamW(model.parameters(), lr=lr(1), weight_decay=0.1)
    starts = validation_starts(len(val_ids), T, B)
    val_x = torch.stack([val_ids[s:s + T] for s in starts])
    val_y = torch.stack([val_ids[s + 1:s + T + 1] for s in starts])

    def validation_loss():
        model.eval()
        with torch.no_grad():
            loss = sum(model(val_x[i:i + B], val_y[i:i + B]).item() for i in range(0, len(starts), B))
        model.train()
        return loss / (len(starts) // B)

    g = torch.Generator().manual_seed(a.seed)
    seconds, best, best_step, recent, v = 0.0, float("inf"), 0, [], float("nan")
    for s in range(1, a.steps + 1):
        begin = torch.randint(0, len(train_ids) - T - 1, (B,), generator=g)
        x = torch.stack([train_ids[i:i + T] for i in begin])
        y = torch.stack([train_ids[i + 1:i + T + 1] for i in begin])
        for group in opt.param_groups:
            group["lr"] = lr(s)
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - t
        recent.append(loss.item())
        if s % a.eval_every == 0 or s == a.steps:
            v = validation_loss()
            if v < best:
                best, best_step = v, s
            print(f"  step {s:5d}  train {sum(recent) / len(recent):.3f}  val {v:.3f}  lr {lr(s):.2e}  "
                  f"{s * B * T / seconds:6.0f} tokens/s", flush=True)
            recent = []
    print(f"torch-tang-gpt: {a.steps} steps, batch {B}, context {T}, {a.steps * B * T / seconds:.0f} tokens/s, "
          f"val loss {v:.4f} at the end (best {best:.4f} at step {best_step}), {seconds:.1f} s training", flush=True)


if __name__ == "__main__":
    main()
