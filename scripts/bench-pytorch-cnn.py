#!/usr/bin/env python3
"""PyTorch CPU reference for `pfedlora bench train` (docs/benchmarks.md).

Times the same CNN-1 training step that pfedlora's bench times (PrivateModel.trainEpoch):
shuffled mini-batches of synthetic inputs (28x28x1 or 32x32x3), forward, cross-entropy,
backward, clip_grad_norm_(50), SGD(lr 0.01, momentum 0.9, weight decay 1e-3). Prints one JSON
object with samples/s per (input, batch, threads). `pfedlora bench train` runs it for its
ratio to PyTorch.

    /usr/bin/python3 scripts/bench-pytorch-cnn.py                  # batches 64,512, threads 1,2
    /usr/bin/python3 scripts/bench-pytorch-cnn.py --batches 64 --threads 1 --steps 40
    /usr/bin/python3 scripts/bench-pytorch-cnn.py --inputs 28x28x1,32x32x3

Needs only PyTorch (Debian: apt-get install --no-install-recommends python3-torch, 1.13).
"""
import argparse
import json
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN1(nn.Module):
    """CNN-1 of docs/algorithm.md: conv 5x5 c->16, conv 5x5 16->32, fc flat->2000->500->10 (flat 512 for 28x28, 800 for 32x32)."""

    def __init__(self, channels=1, classes=10, flat=4 * 4 * 32):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 5)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.fc1 = nn.Linear(flat, 2000)
        self.fc2 = nn.Linear(2000, 500)
        self.fc3 = nn.Linear(500, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def parse_input(text):
    h, w, c = (int(v) for v in text.split("x"))
    return h, w, c


def time_case(batch, threads, steps, warmup, input_text="28x28x1", seed=1):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    h, w, c = parse_input(input_text)
    side = ((h - 4) // 2 - 4) // 2
    model = CNN1(channels=c, flat=side * side * 32)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    n = batch * steps
    x_all = torch.rand(n, c, h, w)
    y_all = torch.randint(0, 10, (n,))

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50)
        opt.step()
        return loss.item()  # a sync, as pfedlora reads each batch's loss

    for i in range(warmup):
        step(x_all[:batch], y_all[:batch])
    start = time.perf_counter()
    order = torch.randperm(n)
    for i in range(steps):
        idx = order[i * batch:(i + 1) * batch]
        step(x_all[idx], y_all[idx])
    seconds = time.perf_counter() - start
    return {"model": "cnn1", "input": input_text, "batch": batch, "threads": threads, "steps": steps,
            "seconds": round(seconds, 4), "samplesPerSec": round(n / seconds, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--inputs", default="28x28x1", help="input shapes HxWxC, comma-separated (default 28x28x1)")
    p.add_argument("--batches", default="64,512", help="batch sizes, comma-separated (default 64,512)")
    p.add_argument("--threads", default="1,2", help="torch.set_num_threads values (default 1,2)")
    p.add_argument("--steps", type=int, default=0, help="timed steps per case (default: 40 at batch 64, 8 at 512)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--repeats", type=int, default=1, help="time each case this many times, report each (default 1)")
    a = p.parse_args()
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        for batch in [int(b) for b in a.batches.split(",")]:
            steps = a.steps or max(4, 2560 // batch)
            for input_text in a.inputs.split(","):
                for _ in range(a.repeats):
                    results.append(time_case(batch, threads, steps, a.warmup, input_text))
    print(json.dumps({
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
