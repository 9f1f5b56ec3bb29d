"""Ports of @pfedlora/core's seeded randomness (packages/core/src/random.ts), bit for bit:
mulberry32 streams and FNV-1a seed derivation. A Python client draws what a TypeScript
client with the same client id draws (its private adapter factor, its batch-order seeds).
The Gamma and Dirichlet draws of the Dirichlet partition follow the same steps; they match
JavaScript's to the last bit or so (libm's log, cos and pow may differ from V8's by an ulp),
which leaves the partition's sample counts identical (tests/test_rng_and_partition.py)."""
from __future__ import annotations

import math
from typing import List, Union

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


def gaussian(rng: Mulberry32) -> float:
    """Standard normal via Box-Muller (gaussian)."""
    u = 0.0
    while u == 0.0:
        u = rng.next()
    v = rng.next()
    return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


def gamma(rng: Mulberry32, shape: float) -> float:
    """Gamma(shape, 1), Marsaglia-Tsang, boosted below shape 1 (gamma)."""
    if shape < 1:
        u = rng.next()
        return gamma(rng, shape + 1) * math.pow(5e-324 if u == 0 else u, 1 / shape)
    d = shape - 1 / 3
    c = 1 / math.sqrt(9 * d)
    while True:
        while True:
            x = gaussian(rng)
            v = 1 + c * x
            if v > 0:
                break
        v = v * v * v
        u = rng.next()
        if u < 1 - 0.0331 * x * x * x * x:
            return d * v
        if math.log(u) < 0.5 * x * x + d * (1 - v + math.log(v)):
            return d * v


def dirichlet(rng: Mulberry32, alpha: float, k: int) -> List[float]:
    """One draw from a symmetric Dirichlet(alpha) over k categories (dirichlet)."""
    out = [gamma(rng, alpha) for _ in range(k)]
    total = 0.0
    for v in out:
        total += v
    return [v / total if total > 0 else 1 / k for v in out]


def initial_adapter(representation_dim: int, rank: int, num_classes: int, seed: int):
    """initialAdapter: D [d, r] ~ U(-1/sqrt(d), 1/sqrt(d)) from derive_seed(seed, 'adapter'), U [r, C] zeros (float32)."""
    rng = Mulberry32(derive_seed(seed, "adapter"))
    bound = 1.0 / float(np.sqrt(representation_dim))
    down = np.array([rng.uniform(-bound, bound) for _ in range(representation_dim * rank)], dtype=np.float64)
    return down.astype(np.float32).reshape(representation_dim, rank), np.zeros((rank, num_classes), dtype=np.float32)
