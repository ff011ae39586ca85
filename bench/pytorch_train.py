#!/usr/bin/python3
# PyTorch twin of `leancnn train` for bench/train_vs_pytorch.sh: same zoo architecture, data, optimizer and timing.
"""Trains one epoch of ResNet-20 (CIFAR-style, projection shortcuts) or LeNet-5 on the first N
Fashion-MNIST training images with PyTorch and prints one JSON line with the throughput.

Timing mirrors leancnn's trainer (src/train/trainer.cpp): the clock starts at the beginning of
the epoch, after the model, optimizer and data are ready, and stops after the last step; it
includes every step (also the first ones), taking the batch, forward, loss, backward, the
optimizer step and counting correct predictions. Shuffled, last partial batch dropped.
Also reported: `steady_images_per_s`, the same epoch without its first --warmup steps.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn


def read_idx(path, header, count, item):
    with gzip.open(path, "rb") as f:
        raw = f.read(header + count * item)
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load_fashion_mnist(folder, n):
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 16, n, 28 * 28)
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 8, n, 1)
    if images.size != n * 28 * 28 or labels.size != n:
        raise SystemExit(f"pytorch_train.py: '{folder}' has fewer than {n} training images")
    x = torch.from_numpy((images.reshape(n, 1, 28, 28).astype(np.float32) / 255.0).copy())
    y = torch.from_numpy(labels.astype(np.int64).copy())
    return x, y


# BatchNorm momentum: leancnn's 0.9 is ONNX's running = 0.9 * running + 0.1 * batch, PyTorch's 0.1.
def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = bn(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = bn(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:  # projection shortcut (option B), as leancnn
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, 0, bias=False), bn(channels))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return torch.relu(y + shortcut)


class ResNetCifar(nn.Module):
    def __init__(self, depth=20, in_channels=1, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = bn(16)
        blocks, c = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(n):
                blocks.append(BasicBlock(c, width, 2 if stage > 0 and i == 0 else 1))
                c = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def lenet5(in_channels=1, classes=10):
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5, 1, 0), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, classes))


def small_cnn(in_channels=1, classes=10):
    """leancnn's zoo small_cnn (src/models/lenet.cpp): defined for 28x28 inputs."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, classes))


MODELS = {"resnet20": lambda: ResNetCifar(20), "lenet5": lenet5, "small_cnn": small_cnn}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="resnet20")
    p.add_argument("--limit-train", type=int, default=3840, help="first N training images")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of steady_images_per_s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load_fashion_mnist(a.data, a.limit_train)
    model = MODELS[a.model]()
    model.train()
    # leancnn's SGD: momentum 0.9, weight decay on every parameter (its default decay_1d_params).
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.wd)
    loss_fn = nn.CrossEntropyLoss()
    steps = a.limit_train // a.batch
    if steps < 1:
        raise SystemExit("pytorch_train.py: fewer training images than one batch")

    order = torch.randperm(a.limit_train)
    t0 = time.perf_counter()
    t_warm = t0
    seen = correct = 0
    loss_sum = 0.0
    for step in range(steps):
        if step == a.warmup:
            t_warm = time.perf_counter()
        idx = order[step * a.batch:(step + 1) * a.batch]
        images, labels = x.index_select(0, idx), y.index_select(0, idx)
        logits = model(images)
        loss = loss_fn(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * labels.numel()
        correct += int((logits.argmax(1) == labels).sum())
        seen += labels.numel()
    t1 = time.perf_counter()
    steady = (steps - a.warmup) * a.batch / (t1 - t_warm) if steps > a.warmup else float("nan")
    print(json.dumps({
        "model": a.model, "torch": torch.__version__, "threads": torch.get_num_threads(), "steps": steps,
        "images_per_s": seen / (t1 - t0), "steady_images_per_s": steady, "seconds": t1 - t0,
        "train_loss": loss_sum / seen, "train_acc": correct / seen,
        "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
