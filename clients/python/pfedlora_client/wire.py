"""Protocol constants and the run's settings as the client reads them (docs/protocol.md)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ._proto import federation_pb2 as pb

#: The wire's version (docs/protocol.md, "Versions"); any other is refused with FAILED_PRECONDITION.
PROTOCOL_VERSION = 2
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
ADAPTER_DOWN = "adapter/down"
ADAPTER_UP = "adapter/up"


class WireError(ValueError):
    """A message from the coordinator that breaks the protocol."""


@dataclass(frozen=True)
class RunSettings:
    algorithm: str
    representation_dim: int
    class_names: Tuple[str, ...]
    input_shape: Tuple[int, ...]
    plug_point: str
    rank: int
    adapter_alpha: float
    local_epochs: int
    adapter_epochs: int
    adapter_share: str
    batch_size: int
    learning_rate: float
    momentum: float
    weight_decay: float
    clip_norm: float
    rounds: int
    seed: int

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _positive(value: int, field: str) -> int:
    if value < 1:
        raise WireError(f"field {field} must be a positive integer, got {value}")
    return int(value)


def _finite(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise WireError(f"field {field} must be finite, got {value}")
    return float(value)


def run_settings(config: "pb.RunConfig") -> RunSettings:
    """RunConfig -> RunSettings, with the defaults older coordinators leave empty."""
    c = config.contract
    if not config.HasField("contract"):
        raise WireError("missing field config.contract")
    if len(c.class_names) < 2 or len(set(c.class_names)) != len(c.class_names):
        raise WireError(f"config.contract.class_names must name at least 2 distinct classes, got {list(c.class_names)}")
    if not (1 <= len(c.input_shape) <= 8) or any(d < 1 for d in c.input_shape):
        raise WireError(f"config.contract.input_shape must have 1 to 8 positive dims, got {list(c.input_shape)}")
    local_epochs = _positive(config.local_epochs, "config.local_epochs")
    share = config.adapter_share or "all"
    if share not in ("all", "up"):
        raise WireError(f'config.adapter_share "{share}" is not one of all, up')
    return RunSettings(
        algorithm=config.algorithm,
        representation_dim=_positive(c.representation_dim, "config.contract.representation_dim"),
        class_names=tuple(c.class_names),
        input_shape=tuple(int(d) for d in c.input_shape),
        plug_point=c.plug_point or "representation",
        rank=_positive(config.rank, "config.rank"),
        adapter_alpha=_finite(config.adapter_alpha, "config.adapter_alpha"),
        local_epochs=local_epochs,
        adapter_epochs=config.adapter_epochs or local_epochs,
        adapter_share=share,
        batch_size=_positive(config.batch_size, "config.batch_size"),
        learning_rate=_finite(config.learning_rate, "config.learning_rate"),
        momentum=_finite(config.momentum, "config.momentum"),
        weight_decay=_finite(config.weight_decay, "config.weight_decay"),
        clip_norm=_finite(config.clip_norm, "config.clip_norm"),
        rounds=_positive(config.rounds, "config.rounds"),
        seed=int(config.seed),
    )


def pfedlora_spec(s: RunSettings) -> List[Tuple[str, Tuple[int, ...]]]:
    """pFedLoRA's payload, down and up: adapter/down [d, r] then adapter/up [r, C], or adapter/up alone ('up')."""
    spec = [(ADAPTER_DOWN, (s.representation_dim, s.rank)), (ADAPTER_UP, (s.rank, s.num_classes))]
    return spec if s.adapter_share == "all" else spec[1:]


def headers(spec: Sequence[Tuple[str, Tuple[int, ...]]]) -> List["pb.TensorHeader"]:
    return [pb.TensorHeader(name=name, dtype="float32", shape=list(shape)) for name, shape in spec]


def spec_of_headers(tensors: Sequence["pb.TensorHeader"]) -> List[Tuple[str, Tuple[int, ...]]]:
    out = []
    for i, h in enumerate(tensors):
        if h.dtype != "float32":
            raise WireError(f'tensors[{i}] "{h.name}" has dtype "{h.dtype}", only float32 is defined')
        out.append((h.name, tuple(int(d) for d in h.shape)))
    return out
