"""The PFLT tensor codec, written from docs/protocol.md ("Payloads: PFLT bytes").

Layout (all integers little-endian, no padding, no trailing bytes):

    4      magic b"PFLT"
    2      format version, u16 = 1
    4      tensor count, u32
    per tensor:
      2    name length in bytes, u16, 1..1024
      n    name, UTF-8 (well-formed, unique within the payload)
      1    dtype code, u8: 1 = float32 (the only one)
      1    rank, u8, 0..8
      4*r  dims, u32 each
      4*N  values, float32 little-endian, row-major, N = product of dims

A payload is named by the lowercase hex sha256 of these bytes.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

MAGIC = b"PFLT"
FORMAT_VERSION = 1
DTYPE_FLOAT32 = 1
#: The dtype string of TensorHeader.dtype for code 1 (the only one the wire defines).
DTYPE_NAMES = {DTYPE_FLOAT32: "float32"}
MAX_NAME_BYTES = 1024
MAX_RANK = 8
#: Cap on the values of one payload when no length is known (2^30 floats).
MAX_ELEMENTS = 2**30
_PREAMBLE = 10
#: Smallest tensor record: 2-byte length, 1-byte name, dtype, rank, then a u32 dim of 0 or one float.
_MIN_RECORD = 9
_LE_F32 = np.dtype("<f4")


class CodecError(ValueError):
    """Any malformed payload or tensor; the message names the tensor and the problem."""


@dataclass
class Tensor:
    """A named float32 tensor (values: a C-contiguous numpy float32 array of `shape`)."""

    name: str
    values: np.ndarray

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(int(d) for d in self.values.shape)


TensorSpec = Tuple[str, Tuple[int, ...]]


def spec_of(tensors: Sequence[Tensor]) -> List[TensorSpec]:
    return [(t.name, t.shape) for t in tensors]


def _encode_name(name: str, index: int) -> bytes:
    if not isinstance(name, str) or name == "":
        raise CodecError(f"tensor {index}: name is empty")
    try:
        raw = name.encode("utf-8")  # strict: a lone surrogate raises
    except UnicodeEncodeError:
        raise CodecError(f"tensor {index}: name {name!r} is not well-formed Unicode") from None
    if len(raw) > MAX_NAME_BYTES:
        raise CodecError(f'tensor "{name}": name is {len(raw)} bytes in UTF-8, at most {MAX_NAME_BYTES} allowed')
    return raw


def encode(tensors: Sequence[Tensor], allow_non_finite: bool = False) -> bytes:
    """One PFLT payload of `tensors`, in order. Refuses NaN and Inf unless allowed."""
    parts = [MAGIC, struct.pack("<HI", FORMAT_VERSION, len(tensors))]
    seen = set()
    for i, t in enumerate(tensors):
        raw = _encode_name(t.name, i)
        if t.name in seen:
            raise CodecError(f'tensor {i}: duplicate name "{t.name}"')
        seen.add(t.name)
        values = np.asarray(t.values)
        if values.dtype != np.float32:
            raise CodecError(f'tensor "{t.name}": values must be float32, got {values.dtype}')
        if values.ndim > MAX_RANK:
            raise CodecError(f'tensor "{t.name}": rank {values.ndim} exceeds the maximum {MAX_RANK}')
        if any(d > 0xFFFFFFFF for d in values.shape):
            raise CodecError(f'tensor "{t.name}": dim out of the u32 range in {list(values.shape)}')
        if not allow_non_finite and values.size and not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values.reshape(-1)))[0])
            raise CodecError(f'tensor "{t.name}": non-finite value {values.reshape(-1)[bad]} at index {bad}')
        parts.append(struct.pack("<H", len(raw)))
        parts.append(raw)
        parts.append(struct.pack("<BB", DTYPE_FLOAT32, values.ndim))
        parts.append(struct.pack(f"<{values.ndim}I", *values.shape))
        parts.append(np.ascontiguousarray(values, dtype=_LE_F32).tobytes())
    return b"".join(parts)


def encoded_size(specs: Iterable[TensorSpec]) -> int:
    """Bytes of the PFLT encoding of tensors with these names and shapes."""
    size = _PREAMBLE
    for name, shape in specs:
        size += 2 + len(name.encode("utf-8")) + 2 + 4 * len(shape) + 4 * int(np.prod(shape, dtype=np.int64))
    return size


def decode(data: bytes, expected: Optional[Sequence[TensorSpec]] = None, allow_non_finite: bool = False) -> List[Tensor]:
    """Decodes a whole payload, validating everything; with `expected`, also names and shapes in order.

    Values are fresh arrays (they never alias `data`).
    """
    view = memoryview(data)
    total = len(view)
    if total < _PREAMBLE:
        raise CodecError(f"truncated payload: ended after {total} bytes, inside the 10-byte preamble")
    if bytes(view[0:4]) != MAGIC:
        raise CodecError(f'bad magic: expected "PFLT", got bytes {list(bytes(view[0:4]))}')
    version, count = struct.unpack_from("<HI", view, 4)
    if version != FORMAT_VERSION:
        raise CodecError(f"unsupported format version {version} (this client reads version {FORMAT_VERSION})")
    if expected is not None and count != len(expected):
        raise CodecError(f"payload holds {count} tensors, expected {len(expected)} ({', '.join(n for n, _ in expected)})")
    if count * _MIN_RECORD > total - _PREAMBLE:
        raise CodecError(f"header claims {count} tensors but only {total - _PREAMBLE} bytes follow")
    p = _PREAMBLE
    out: List[Tensor] = []
    seen = set()

    def need(n: int, where: str) -> None:
        if p + n > total:
            raise CodecError(f"truncated payload: ended after {total} bytes, inside {where}")

    for i in range(count):
        need(2, f"the header of tensor {i + 1} of {count}")
        (n,) = struct.unpack_from("<H", view, p)
        p += 2
        if n == 0:
            raise CodecError(f"tensor {i}: name length is 0")
        if n > MAX_NAME_BYTES:
            raise CodecError(f"tensor {i}: name length {n} exceeds the maximum {MAX_NAME_BYTES}")
        need(n, f"the header of tensor {i + 1} of {count}")
        try:
            name = bytes(view[p : p + n]).decode("utf-8")
        except UnicodeDecodeError:
            raise CodecError(f"tensor {i}: name is not valid UTF-8") from None
        p += n
        if name in seen:
            raise CodecError(f'tensor {i}: duplicate name "{name}"')
        if expected is not None and expected[i][0] != name:
            raise CodecError(f'tensor {i} is named "{name}", expected "{expected[i][0]}"')
        seen.add(name)
        need(2, f"the header of tensor {i + 1} of {count}")
        dtype, rank = view[p], view[p + 1]
        p += 2
        if dtype != DTYPE_FLOAT32:
            raise CodecError(f'tensor "{name}": unsupported dtype code {dtype} (expected {DTYPE_FLOAT32} = float32)')
        if rank > MAX_RANK:
            raise CodecError(f'tensor "{name}": rank {rank} exceeds the maximum {MAX_RANK}')
        need(4 * rank, f"the header of tensor {i + 1} of {count}")
        shape = struct.unpack_from(f"<{rank}I", view, p)
        p += 4 * rank
        if expected is not None and tuple(expected[i][1]) != tuple(shape):
            raise CodecError(f'tensor "{name}" has shape {list(shape)}, expected {list(expected[i][1])}')
        elements = 0 if 0 in shape else int(np.prod(shape, dtype=object))
        left = total - p
        if elements > MAX_ELEMENTS or 4 * elements > left:
            raise CodecError(f'tensor "{name}": shape {list(shape)} needs {elements} values, only {left} bytes remain')
        values = np.frombuffer(view, dtype=_LE_F32, count=elements, offset=p).astype(np.float32).reshape(shape)
        p += 4 * elements
        if not allow_non_finite and elements and not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values.reshape(-1)))[0])
            raise CodecError(f'tensor "{name}": non-finite value {values.reshape(-1)[bad]} at index {bad}')
        out.append(Tensor(name, values))
    if p != total:
        raise CodecError(f"{total - p} trailing bytes after the last tensor (payload should end at byte {p})")
    return out


def sha256_hex(data: bytes) -> str:
    """The payload's content address: lowercase hex sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def split_chunks(data: bytes, chunk_size: int) -> List[bytes]:
    """Consecutive chunks of at most chunk_size bytes (one empty chunk for an empty payload is never needed)."""
    if chunk_size <= 0:
        raise ValueError(f"chunk size must be positive, got {chunk_size}")
    return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
