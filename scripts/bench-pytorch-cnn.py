#!/usr/bin/env python3
"""PyTorch CPU reference for `pfedlora bench train` (docs/benchmarks.md).

Times the same training step that pfedlora's bench times (PrivateModel.trainEpoch) for CNN-1
and the transformers tfm1..tfm4: shuffled mini-batches of synthetic inputs (images 28x28x1 or
32x32x3; byte token ids 1..256 without padding for the transformers), forward, cross-entropy,
backward, clip_grad_norm_(50), SGD(lr 0.01, momentum 0.9, weight decay 1e-3). Prints one JSON
object with samples/s (and tokens/s for a transformer) and the parameter count per (model,
input, batch, threads). `pfedlora bench train` runs it for its ratio to PyTorch and checks that
each model's parameter count equals its own (the twin must be the same architecture).

    /usr/bin/python3 scripts/bench-pytorch-cnn.py                  # CNN-1, batches 64,512, threads 1,2
    /usr/bin/python3 scripts/bench-pytorch-cnn.py --batches 64 --threads 1 --steps 40
    /usr/bin/python3 scripts/bench-pytorch-cnn.py --inputs 28x28x1,32x32x3
    /usr/bin/python3 scripts/bench-pytorch-cnn.py --models tfm1,tfm3 --tokens 128 --batches 64 --threads 1

Needs only PyTorch (Debian: apt-get install --no-install-recommends python3-torch, 1.13).
"""
import argparse
import json
import math
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


# packages/ml/src/transformer-spec.ts TRANSFORMER_SIZES: blocks, width, heads, MLP width.
TRANSFORMER_SIZES = {
    "tfm1": (1, 32, 2, 64),
    "tfm2": (2, 48, 4, 96),
    "tfm3": (3, 64, 4, 128),
    "tfm4": (4, 64, 8, 256),
}
BYTE_VOCAB_SIZE = 257  # id 0 padding, 1..256 the bytes (data/tokenizer.ts)
MASKED_SCORE = -1e9


class EncoderBlock(nn.Module):
    """packages/ml/src/transformer.ts encoderBlock: x + MHA(LN1(x)), then that + MLP(LN2(.)) with tanh GELU."""

    def __init__(self, width, heads, mlp):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width, eps=1e-5)
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.output = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width, eps=1e-5)
        self.mlp1 = nn.Linear(width, mlp)
        self.mlp2 = nn.Linear(mlp, width)

    def attention(self, x, key_bias):
        n, t, w = x.shape
        dh = w // self.heads
        split = lambda y: y.reshape(n, t, self.heads, dh).transpose(1, 2)  # [n, heads, T, dh]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1 / math.sqrt(dh))
        probs = torch.softmax(scores + key_bias, dim=-1)
        mixed = torch.matmul(probs, v).transpose(1, 2).reshape(n, t, w)
        return self.output(mixed)

    def forward(self, x, key_bias):
        x = x + self.attention(self.ln1(x), key_bias)
        return x + self.mlp2(F.gelu(self.mlp1(self.ln2(x)), approximate="tanh"))


class Transformer(nn.Module):
    """packages/ml/src/zoo.ts representation + head for tfm1..tfm4: embeddings, pre-norm blocks,
    final LN and a mean over the real tokens, fc2 width -> d (ReLU), fc3 d -> classes."""

    def __init__(self, kind, tokens, d=500, classes=10):
        super().__init__()
        blocks, width, heads, mlp = TRANSFORMER_SIZES[kind]
        self.tokens = nn.Embedding(BYTE_VOCAB_SIZE, width)
        self.positions = nn.Parameter(torch.randn(tokens, width) * 0.02)
        self.blocks = nn.ModuleList(EncoderBlock(width, heads, mlp) for _ in range(blocks))
        self.ln = nn.LayerNorm(width, eps=1e-5)
        self.fc2 = nn.Linear(width, d)
        self.fc3 = nn.Linear(d, classes)

    def forward(self, ids):
        mask = (ids != 0).float()  # [n, T]
        key_bias = ((1 - mask) * MASKED_SCORE)[:, None, None, :]
        x = self.tokens(ids) + self.positions
        for block in self.blocks:
            x = block(x, key_bias)
        x = self.ln(x)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return self.fc3(F.relu(self.fc2(pooled)))


def parse_input(text):
    h, w, c = (int(v) for v in text.split("x"))
    return h, w, c


def build(model_name, input_text, n, classes, d):
    """The model and n synthetic samples for it."""
    if model_name == "cnn1":
        h, w, c = parse_input(input_text)
        side = ((h - 4) // 2 - 4) // 2
        return CNN1(channels=c, classes=classes, flat=side * side * 32), torch.rand(n, c, h, w)
    tokens = int(input_text)
    return Transformer(model_name, tokens, d=d, classes=classes), torch.randint(1, BYTE_VOCAB_SIZE, (n, tokens))


def time_case(batch, threads, steps, warmup, input_text="28x28x1", seed=1, model_name="cnn1", classes=10, d=500):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    n = batch * steps
    model, x_all = build(model_name, input_text, n, classes, d)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    y_all = torch.randint(0, classes, (n,))

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
    result = {"model": model_name, "input": input_text, "batch": batch, "threads": threads, "steps": steps,
              "seconds": round(seconds, 4), "samplesPerSec": round(n / seconds, 1),
              "parameterCount": sum(p.numel() for p in model.parameters())}
    if model_name != "cnn1":
        result["tokensPerSec"] = round(n * int(input_text) / seconds, 1)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="cnn1", help="cnn1 and/or tfm1..tfm4, comma-separated (default cnn1)")
    p.add_argument("--inputs", default="28x28x1", help="CNN-1's input shapes HxWxC, comma-separated (default 28x28x1)")
    p.add_argument("--tokens", type=int, default=128, help="the transformers' sequence length (default 128, --max-tokens' default)")
    p.add_argument("--classes", type=int, default=10, help="classes of the head (default 10)")
    p.add_argument("--dim", type=int, default=500, help="the transformers' representation width d (default 500)")
    p.add_argument("--batches", default="64,512", help="batch sizes, comma-separated (default 64,512)")
    p.add_argument("--threads", default="1,2", help="torch.set_num_threads values (default 1,2)")
    p.add_argument("--steps", type=int, default=0, help="timed steps per case (default: 40 at batch 64, 8 at 512)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--repeats", type=int, default=1, help="time each case this many times, report each (default 1)")
    a = p.parse_args()
    models = a.models.split(",")
    unknown = [m for m in models if m != "cnn1" and m not in TRANSFORMER_SIZES]
    if unknown:
        p.error(f"unknown model(s) {','.join(unknown)}: expected cnn1, {', '.join(TRANSFORMER_SIZES)}")
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        for batch in [int(b) for b in a.batches.split(",")]:
            steps = a.steps or max(4, 2560 // batch)
            for model_name in models:
                inputs = a.inputs.split(",") if model_name == "cnn1" else [str(a.tokens)]
                for input_text in inputs:
                    for _ in range(a.repeats):
                        results.append(time_case(batch, threads, steps, a.warmup, input_text, model_name=model_name, classes=a.classes, d=a.dim))
    print(json.dumps({
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
