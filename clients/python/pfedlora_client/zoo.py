"""The model zoo's CNNs in PyTorch (packages/ml/src/zoo-spec.ts): two 5x5 valid convolutions
with ReLU and 2x2 max-pooling, fc1 with ReLU, fc2 to the representation h (width d,
ReLU), and the model's own head fc3 to the classes. PyTorch's default init is the one
the TypeScript zoo copies (U(-1/sqrt(fan_in), 1/sqrt(fan_in)))."""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import nn

WIDTHS = {
    "cnn1": (16, 32, 2000),
    "cnn2": (16, 16, 2000),
    "cnn3": (16, 32, 1000),
    "cnn4": (16, 32, 800),
    "cnn5": (16, 32, 500),
}


class ZooCnn(nn.Module):
    """Input [n, c, h, w] -> h [n, d] (the extractor; the head is separate)."""

    def __init__(self, kind: str, input_shape: Sequence[int], representation_dim: int) -> None:
        super().__init__()
        if kind not in WIDTHS:
            raise ValueError(f"unknown model {kind!r}: expected one of {', '.join(WIDTHS)}")
        c, h, w = input_shape
        conv1, conv2, fc1 = WIDTHS[kind]
        h1, w1 = (h - 4) // 2, (w - 4) // 2
        h2, w2 = (h1 - 4) // 2, (w1 - 4) // 2
        if h2 < 1 or w2 < 1:
            raise ValueError(f"input {h}x{w} is too small for {kind} (needs at least 16x16)")
        self.kind = kind
        self.features = nn.Sequential(
            nn.Conv2d(c, conv1, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(conv1, conv2, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(conv2 * h2 * w2, fc1), nn.ReLU(),
            nn.Linear(fc1, representation_dim), nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def zoo_model(kind: str, input_shape: Sequence[int], representation_dim: int, num_classes: int, seed: int) -> Tuple[nn.Module, nn.Module]:
    """(extractor, head) of zoo model `kind`, initialised from `seed` (torch's generator, not the TS PRNG)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        extractor = ZooCnn(kind, input_shape, representation_dim)
        head = nn.Linear(representation_dim, num_classes)
    return extractor, head
