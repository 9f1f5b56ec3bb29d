"""Snapshots of the client's private state (model parameters and buffers, optimizer momentum,
local adapter), keyed by the last round trained into them, like the TypeScript daemon's
(packages/client/src/private-state.ts) and in its layout: `--state-dir DIR` holds
`private-NNNNN.pflt` (PFLT bytes, docs/protocol.md), the newest `keep` of them. They let a client

- restart without losing its personalization (written atomically: temp file, fsync, rename), and
- train a round again from exactly where it stood before it, when the coordinator re-issues a
  round the client already trained (a coordinator restarted from its checkpoint, a retried round).
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Sequence

from . import codec
from .codec import Tensor
from .log import Logger

_FILE = re.compile(r"^private-(\d+)\.pflt$")


@dataclass
class PrivateSnapshot:
    #: Last round trained into this state (0: untrained).
    round: int
    tensors: List[Tensor]


def write_atomic(path: str, data: bytes) -> None:
    """Writes `data` to `path` so that a crash leaves the old file or the new one, never a part."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


class PrivateStateStore:
    """The newest `keep` snapshots in memory and, with a folder, on disk."""

    def __init__(self, folder: Optional[str], log: Logger, keep: int = 3) -> None:
        self.folder = folder
        self.log = log
        self.keep = keep
        self.memory: List[PrivateSnapshot] = []
        if folder:
            os.makedirs(folder, exist_ok=True)

    def _path(self, round_number: int) -> str:
        return os.path.join(self.folder, f"private-{round_number:05d}.pflt")

    def _disk_rounds(self) -> List[int]:
        """Rounds on disk, newest first."""
        if not self.folder or not os.path.isdir(self.folder):
            return []
        return sorted((int(m.group(1)) for m in map(_FILE.match, os.listdir(self.folder)) if m), reverse=True)

    def save(self, snapshot: PrivateSnapshot) -> None:
        self.memory = sorted([s for s in self.memory if s.round != snapshot.round] + [snapshot], key=lambda s: s.round)[-self.keep :]
        if not self.folder:
            return
        write_atomic(self._path(snapshot.round), codec.encode(snapshot.tensors))
        for old in self._disk_rounds()[self.keep :]:
            try:
                os.unlink(self._path(old))
            except FileNotFoundError:
                pass

    def latest_before(self, round_number: int) -> Optional[PrivateSnapshot]:
        """The newest snapshot of a round below `round_number` (the state to train that round from)."""
        for s in reversed(self.memory):
            if s.round < round_number:
                return s
        for r in self._disk_rounds():
            if r < round_number:
                return self._read(r)
        return None

    def latest(self) -> Optional[PrivateSnapshot]:
        """The newest readable snapshot on disk (a restart); a corrupt one falls back to the one before."""
        for r in self._disk_rounds():
            snapshot = self._read(r)
            if snapshot is not None:
                return snapshot
        return None

    def _read(self, round_number: int) -> Optional[PrivateSnapshot]:
        path = self._path(round_number)
        try:
            with open(path, "rb") as f:
                return PrivateSnapshot(round_number, codec.decode(f.read()))
        except (OSError, codec.CodecError) as e:
            self.log.error("private state unreadable; falling back to an older one", file=path, reason=str(e))
            return None


def check_names(tensors: Sequence[Tensor], expected: Sequence[codec.TensorSpec], what: str) -> None:
    """Refuses a snapshot whose tensors are not exactly `expected` (another model, or another run's rank or classes)."""
    got = codec.spec_of(tensors)
    if got != list(expected):
        missing = [n for n, _ in expected if n not in {g for g, _ in got}]
        differ = [f"{n} {list(s)} (expected {list(dict(expected)[n])})" for n, s in got if n in dict(expected) and tuple(dict(expected)[n]) != tuple(s)]
        extra = [n for n, _ in got if n not in dict(expected)]
        parts = [f"missing {', '.join(missing[:5])}" if missing else "", f"other shapes: {', '.join(differ[:5])}" if differ else "",
                 f"unknown {', '.join(extra[:5])}" if extra else ""]
        raise ValueError(f"{what}: " + ("; ".join(p for p in parts if p) or "tensors in another order"))
