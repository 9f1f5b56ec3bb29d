"""Ports of @pfedlora/core's seeded randomness (packages/core/src/random.ts), bit for bit:
mulberry32 streams and FNV-1a seed derivation. A Python client draws what a TypeScript
client with the same client id draws (its private adapter factor, its batch-order seeds)."""
from __future__ import annotations

from typing import Union

import numpy as np

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


class Mulberry32:
    """A deterministic stream of uniform floats in [0, 1) (createRng)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _M32

    def next(self) -> float:
        self.state = (self.state + 0x6D2B79F5) & _M32
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296.0

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.next()


def _js_string(part: Union[int, str]) -> str:
    if isinstance(part, bool) or not isinstance(part, (int, str)):
        raise TypeError(f"seed parts are ints or strings, got {part!r}")
    return str(part)


def derive_seed(seed: int, *parts: Union[int, str]) -> int:
    """An independent seed for a named sub-stream (deriveSeed): FNV-1a over the parts' UTF-16 code units."""
    h = (0x811C9DC5 ^ (seed & _M32)) & _M32
    for part in parts:
        s = _js_string(part).encode("utf-16-le")
        for i in range(0, len(s), 2):
            h ^= s[i] | (s[i + 1] << 8)
            h = _imul(h, 0x01000193)
        h ^= 0xFF
        h = _imul(h, 0x01000193)
    return h


def initial_adapter(representation_dim: int, rank: int, num_classes: int, seed: int):
    """initialAdapter: D [d, r] ~ U(-1/sqrt(d), 1/sqrt(d)) from derive_seed(seed, 'adapter'), U [r, C] zeros (float32)."""
    rng = Mulberry32(derive_seed(seed, "adapter"))
    bound = 1.0 / float(np.sqrt(representation_dim))
    down = np.array([rng.uniform(-bound, bound) for _ in range(representation_dim * rank)], dtype=np.float64)
    return down.astype(np.float32).reshape(representation_dim, rank), np.zeros((rank, num_classes), dtype=np.float32)
