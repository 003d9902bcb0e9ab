#!/usr/bin/env python3
"""Exports the small PyTorch models kiln's ONNX importer is checked against.

Dev-only: run once with the bench environment's python (bench/torch_env.sh:
pinned torch and onnx from PyPI), never by the build or the tests:

    $(bench/torch_env.sh) scripts/export_onnx_models.py tests/onnx/models

Each model gets a folder with model.onnx, its inputs (input_<k>.npy, in the
order of the graph's inputs) and PyTorch's outputs (output_<k>.npy); the
training export (mlp_loss) also the gradient of its loss with respect to
every parameter (grad_<name>.npy, PyTorch's names). tests/unit/
OnnxExportsTest.cpp imports, runs and differentiates them with kiln.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
# PyTorch's fused inference kernel for transformer layers has no ONNX export.
torch.backends.mha.set_fastpath_enabled(False)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=-1)


class MlpLoss(nn.Module):
    """The MLP with its loss, as a training export: cross-entropy of labels."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x, labels):
        return F.cross_entropy(self.fc2(torch.tanh(self.fc1(x))), labels)


class Block(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        heads = lambda z: z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        scores = q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5
        scores = scores.masked_fill(~self.mask[:t, :t], float("-inf"))
        y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Gpt(nn.Module):
    """A GPT with tied embeddings: the output projection is the embedding table."""

    def __init__(self, vocab=50, d=32, heads=2, layers=2, context=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.position = nn.Parameter(torch.randn(context, d) * 0.1)
        self.blocks = nn.ModuleList([Block(d, heads, context) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)

    def forward(self, ids):
        x = self.embed(ids) + self.position[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.ln(x) @ self.embed.weight.t()


class Seq2SeqTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.t = nn.Transformer(d_model=32, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                dim_feedforward=64, dropout=0.0, batch_first=True)

    def forward(self, src, tgt):
        mask = torch.triu(torch.full((tgt.shape[1], tgt.shape[1]), float("-inf")), diagonal=1)
        return self.t(src, tgt, tgt_mask=mask)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(y, 1))


class GruModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out)


def save(folder, name, model, inputs, opset=17, training_grads=False):
    path = os.path.join(folder, name)
    os.makedirs(path, exist_ok=True)
    model.eval()
    outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    torch.onnx.export(model, tuple(inputs), os.path.join(path, "model.onnx"), opset_version=opset,
                      input_names=[f"input_{k}" for k in range(len(inputs))],
                      output_names=[f"output_{k}" for k in range(len(outputs))],
                      do_constant_folding=not training_grads, export_params=True, dynamo=False)
    for k, x in enumerate(inputs):
        np.save(os.path.join(path, f"input_{k}.npy"), x.numpy())
    for k, y in enumerate(outputs):
        np.save(os.path.join(path, f"output_{k}.npy"), y.detach().numpy())
    if training_grads:
        model.zero_grad()
        outputs[0].backward()
        for pname, p in model.named_parameters():
            np.save(os.path.join(path, f"grad_{pname}.npy"), p.grad.numpy())
    print(name, os.path.getsize(os.path.join(path, "model.onnx")), "bytes")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "tests/onnx/models"
    with torch.no_grad():
        save(folder, "mlp", Mlp(), [torch.randn(4, 16)])
        save(folder, "gpt_tied", Gpt(), [torch.randint(0, 50, (2, 8))])
        save(folder, "transformer", Seq2SeqTransformer(), [torch.randn(2, 5, 32), torch.randn(2, 4, 32)])
        cnn = Cnn()
        cnn.bn.running_mean.uniform_(-0.5, 0.5)
        cnn.bn.running_var.uniform_(0.5, 1.5)
        save(folder, "cnn", cnn, [torch.randn(2, 1, 12, 12)])
        save(folder, "gru", GruModel(), [torch.randn(2, 5, 8)])
    save(folder, "mlp_loss", MlpLoss(), [torch.randn(6, 16), torch.randint(0, 10, (6,))], training_grads=True)


if __name__ == "__main__":
    main()
