"""PyTorch's side of the Fashion-MNIST comparison (bench/fashion_mnist_vs_torch.sh).

The network of kiln-fashion-mnist (examples/cnn/): 5x5 convolution (16
channels, padding 2), ReLU, 2x2 max pooling, 5x5 convolution (32), ReLU,
2x2 max pooling, fully connected 800 -> 128, ReLU, 128 -> 10; the same
normalisation inside the model, He-normal initialisation, batch, Adam and
cosine-decayed learning rate; the same data (Debian's dataset-fashion-mnist,
read with gzip) in a per-epoch shuffled order. Prints a line per epoch and,
last:

    torch-fashion-mnist: test accuracy <a>% (<n> images), <r> training images/s, ...

Run only from the bench environment (bench/torch_env.sh); never part of the
build or the tests.
"""
import argparse
import gzip
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 0x803:
        n, r, c = struct.unpack(">III", data[4:16])
        return np.frombuffer(data, np.uint8, n * r * c, 16).reshape(n, 1, r, c)
    n = struct.unpack(">I", data[4:8])[0]
    return np.frombuffer(data, np.uint8, n, 8)


class LeNet(nn.Module):
    def __init__(self, c1, c2, hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 25, hidden)
        self.fc2 = nn.Linear(hidden, 10)
        for m in (self.conv1, self.conv2, self.fc1):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc2.weight, 0, math.sqrt(1 / hidden))
        nn.init.zeros_(self.fc2.bias)

    def forward(self, pixels):
        x = (pixels / 255 - 0.2860) / 0.3530
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xs = torch.from_numpy(read_idx(a.data + "/train-images-idx3-ubyte.gz").astype(np.float32))
    ys = torch.from_numpy(read_idx(a.data + "/train-labels-idx1-ubyte.gz").astype(np.int64))
    xt = torch.from_numpy(read_idx(a.data + "/t10k-images-idx3-ubyte.gz").astype(np.float32))
    yt = torch.from_numpy(read_idx(a.data + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    n = a.train_limit or len(xs)
    model = LeNet(16, 32, 128)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps_per_epoch = n // a.batch
    total = steps_per_epoch * a.epochs
    rng = np.random.default_rng(a.seed)
    train_seconds = 0.0
    for epoch in range(1, a.epochs + 1):
        order = torch.from_numpy(rng.permutation(n))
        loss_sum, start = 0.0, time.perf_counter()
        model.train()
        for s in range(steps_per_epoch):
            lr = a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * ((epoch - 1) * steps_per_epoch + s) / total)))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = order[s * a.batch:(s + 1) * a.batch]
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xt[i:i + 500]).argmax(1) == yt[i:i + 500]).sum()) for i in range(0, len(xt), 500))
        accuracy = correct / len(xt)
        print("  epoch %2d  loss %.4f  test accuracy %.2f%%  %6.0f images/s  (%.1f s)" % (
            epoch, loss_sum / steps_per_epoch, 100 * accuracy, steps_per_epoch * a.batch / seconds, seconds), flush=True)
    print("torch-fashion-mnist: test accuracy %.2f%% (%d images), %.0f training images/s, %.1f s training, %d epochs, "
          "batch %d, %d threads, torch %s" % (100 * accuracy, len(xt), total * a.batch / train_seconds, train_seconds,
                                               a.epochs, a.batch, a.threads, torch.__version__))


if __name__ == "__main__":
    main()
