"""Client data for the reference client: IDX files (Fashion-MNIST's format, gzipped or
not), optionally cut to one shard of the same seeded partition the TypeScript side
computes (label skew or Dirichlet: packages/core/src/partition.ts, ported exactly with
the PRNG of rng.py), and capped like `--max-samples` (capSamples).

A team with its own data does not need this module: hand the trainer any
torch Dataset (README.md)."""
from __future__ import annotations

import gzip
import math
import os
import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .rng import Mulberry32, derive_seed, dirichlet

#: The committed Fashion-MNIST subset of @pfedlora/ml (relative to the repository root).
SUBSET_DIR = os.path.join("packages", "ml", "data", "fashion-mnist-subset")
#: Fashion-MNIST's classes as the TypeScript side names them (benchmarkClassNames).
FASHION_MNIST_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


class DataError(ValueError):
    """Data that cannot be used for this run (found before joining)."""


def _open(path: str):
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            return gzip.open(candidate, "rb") if candidate.endswith(".gz") else open(candidate, "rb")
    raise DataError(f"no {os.path.basename(path)}[.gz] in {os.path.dirname(path) or '.'}")


def read_idx(path: str) -> np.ndarray:
    """An IDX file of unsigned bytes (type 0x08), any rank."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file")
    if data[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{data[2]:02x}, only unsigned bytes (0x08) are read")
    rank = data[3]
    dims = struct.unpack_from(f">{rank}I", data, 4)
    start = 4 + 4 * rank
    count = int(np.prod(dims, dtype=np.int64))
    if len(data) - start != count:
        raise DataError(f"{path}: {len(data) - start} bytes of values, dims {list(dims)} need {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(dims)


@dataclass
class Split:
    """Images [n, 1, h, w] float32 in [0, 1] (byte / 255) and labels [n] int64 (indices into the run's classes)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: np.ndarray) -> "Split":
        return Split(self.images[indices], self.labels[indices])


def load_idx_dir(directory: str) -> Tuple[Split, Split]:
    """train-images-idx3-ubyte / train-labels-idx1-ubyte and t10k-* (gzipped or not)."""

    def split(prefix: str) -> Split:
        images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"{directory}: {prefix} images {list(images.shape)} and labels {list(labels.shape)} do not pair up")
        x = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
        return Split(np.ascontiguousarray(x), labels.astype(np.int64))

    return split("train"), split("t10k")


def map_labels(split: Split, file_class_names: Sequence[str], run_class_names: Sequence[str], where: str) -> Split:
    """Renumbers labels from the file's class names (label i is file_class_names[i]) to the run's, by name."""
    index = {name: i for i, name in enumerate(run_class_names)}
    present = sorted(set(int(l) for l in np.unique(split.labels)))
    for l in present:
        if l >= len(file_class_names):
            raise DataError(f"{where}: label {l} has no class name (the data names {len(file_class_names)} classes)")
        if file_class_names[l] not in index:
            shown = ", ".join(f'"{c}"' for c in run_class_names[:20]) + (", ..." if len(run_class_names) > 20 else "")
            raise DataError(f'{where}: class "{file_class_names[l]}" is not one of this run\'s {len(run_class_names)} classes ({shown})')
    table = np.array([index.get(name, -1) for name in file_class_names], dtype=np.int64)
    return Split(split.images, table[split.labels])


# ---- the seeded partitions (packages/core/src/partition.ts) ----


def _shuffle(rng: Mulberry32, items: List[int]) -> None:
    for i in range(len(items) - 1, 0, -1):
        j = math.floor(rng.next() * (i + 1))
        items[i], items[j] = items[j], items[i]


def apportion(n: int, weights: Sequence[float]) -> List[int]:
    """Largest-remainder split of n by weights (ties to the lower index)."""
    k = len(weights)
    if k == 0:
        return []
    total = 0.0
    for w in weights:
        total += w
    if not total > 0:
        raise ValueError("apportion: weights must have a positive sum")
    sizes = []
    rema = []
    used = 0
    for i, w in enumerate(weights):
        exact = (w / total) * n
        sizes.append(math.floor(exact))
        used += sizes[i]
        rema.append((exact - sizes[i], i))
    rema.sort(key=lambda r: (-r[0], r[1]))
    for r in range(n - used):
        sizes[rema[r % k][1]] += 1
    return sizes


def assign_classes(clients: int, classes_per_client: int, num_classes: int, rng: Mulberry32) -> List[List[int]]:
    holders = [0] * num_classes
    out = []
    for _ in range(clients):
        mine: List[int] = []
        for _ in range(classes_per_client):
            best = math.inf
            candidates: List[int] = []
            for c in range(num_classes):
                if c in mine:
                    continue
                if holders[c] < best:
                    best = holders[c]
                    candidates = [c]
                elif holders[c] == best:
                    candidates.append(c)
            pick = candidates[math.floor(rng.next() * len(candidates))]
            mine.append(pick)
            holders[pick] += 1
        out.append(sorted(mine))
    return out


def _ensure_one_each(sizes: List[int]) -> List[int]:
    for i in range(len(sizes)):
        if sizes[i] == 0:
            big = 0
            for j in range(1, len(sizes)):
                if sizes[j] > sizes[big]:
                    big = j
            sizes[big] -= 1
            sizes[i] = 1
    return sizes


@dataclass
class ClientPartition:
    client: int
    classes: List[int]
    train: np.ndarray
    test: np.ndarray


def label_skew_partition(train_labels: np.ndarray, test_labels: np.ndarray, clients: int, classes_per_client: int,
                         num_classes: int, seed: int, share_low: float = 0.4, share_high: float = 0.6) -> List[ClientPartition]:
    """labelSkewPartition: c classes per client, per-holder shares ~ U[0.4, 0.6], test mirrors train."""
    if classes_per_client > num_classes:
        raise ValueError(f"partition: classesPerClient ({classes_per_client}) > numClasses ({num_classes})")
    by_class = _indices_by_class(train_labels, test_labels, num_classes)
    classes_of = assign_classes(clients, classes_per_client, num_classes, Mulberry32(derive_seed(seed, "classes")))
    holders_of: List[List[int]] = [[] for _ in range(num_classes)]
    for k, cls in enumerate(classes_of):
        for c in cls:
            holders_of[c].append(k)
    parts = {"train": [[] for _ in range(clients)], "test": [[] for _ in range(clients)]}
    for c in range(num_classes):
        holders = holders_of[c]
        if not holders:
            continue
        for split in ("train", "test"):
            n = len(by_class[split][c])
            if n < len(holders):
                raise ValueError(f"partition: class {c} has {n} {split} samples but {len(holders)} clients hold it")
        share_rng = Mulberry32(derive_seed(seed, "shares", c))
        shares = [share_rng.uniform(share_low, share_high) for _ in holders]
        for split in ("train", "test"):
            idx = _shuffled_class(by_class[split][c], seed, split, c)
            sizes = _ensure_one_each(apportion(len(idx), shares))
            at = 0
            for h, k in enumerate(holders):
                parts[split][k].extend(idx[at : at + sizes[h]])
                at += sizes[h]
    return _partitions(classes_of, parts)


def _indices_by_class(train_labels: np.ndarray, test_labels: np.ndarray, num_classes: int) -> dict:
    """Per split, the sample indices of each class, every label validated."""
    by_class = {}
    for split, labels in (("train", train_labels), ("test", test_labels)):
        lists: List[List[int]] = [[] for _ in range(num_classes)]
        for i, l in enumerate(labels.tolist()):
            if l < 0 or l >= num_classes:
                raise ValueError(f"partition: {split} label {l} at index {i} is outside [0, {num_classes})")
            lists[l].append(i)
        by_class[split] = lists
    return by_class


def _shuffled_class(indices: Sequence[int], seed: int, split: str, c: int) -> List[int]:
    """A class's indices shuffled with a stream of its own (shuffledClass)."""
    idx = list(indices)
    _shuffle(Mulberry32(derive_seed(seed, split, c)), idx)
    return idx


def _partitions(classes_of: List[List[int]], parts: dict) -> List[ClientPartition]:
    return [
        ClientPartition(k, classes_of[k], np.array(sorted(parts["train"][k]), dtype=np.int64), np.array(sorted(parts["test"][k]), dtype=np.int64))
        for k in range(len(classes_of))
    ]


def dirichlet_partition(train_labels: np.ndarray, test_labels: np.ndarray, clients: int, alpha: float, num_classes: int, seed: int,
                        min_samples: int = 10, min_test_samples: int = 1, max_tries: int = 1000) -> List[ClientPartition]:
    """dirichletPartition: per class, proportions over clients ~ Dir(alpha) split its train samples, and its test
    samples among the clients that got train samples of it; redrawn until every client has min_samples train and
    min_test_samples test samples."""
    if not (alpha > 0 and math.isfinite(alpha)):
        raise ValueError(f"partition: alpha must be > 0, got {alpha}")
    by_class = _indices_by_class(train_labels, test_labels, num_classes)
    if len(train_labels) < clients * min_samples:
        raise ValueError(f"partition: {len(train_labels)} train samples cannot give {clients} clients {min_samples} each")
    if len(test_labels) < clients * min_test_samples:
        raise ValueError(f"partition: {len(test_labels)} test samples cannot give {clients} clients {min_test_samples} each")
    rng = Mulberry32(derive_seed(seed, "dirichlet"))
    sizes = {"train": [], "test": []}
    worst = ""
    for _ in range(max_tries):
        sizes = {"train": [], "test": []}
        train_total, test_total = [0] * clients, [0] * clients
        for c in range(num_classes):
            p = dirichlet(rng, alpha, clients)
            tr = apportion(len(by_class["train"][c]), p)
            w = [v if tr[k] > 0 else 0.0 for k, v in enumerate(p)]
            te = apportion(len(by_class["test"][c]), w) if any(v > 0 for v in w) else [0] * clients
            for k in range(clients):
                train_total[k] += tr[k]
                test_total[k] += te[k]
            sizes["train"].append(tr)
            sizes["test"].append(te)
        worst = f"smallest client had {min(train_total)} train / {min(test_total)} test samples"
        if min(train_total) >= min_samples and min(test_total) >= min_test_samples:
            break
    else:
        raise ValueError(f"partition: no Dirichlet(alpha={alpha}) draw in {max_tries} tries gave all {clients} clients "
                         f">= {min_samples} train and >= {min_test_samples} test samples (last: {worst}); raise alpha or lower minSamples/clients")
    parts = {"train": [[] for _ in range(clients)], "test": [[] for _ in range(clients)]}
    classes_of: List[List[int]] = [[] for _ in range(clients)]
    for c in range(num_classes):
        for split in ("train", "test"):
            idx = _shuffled_class(by_class[split][c], seed, split, c)
            at = 0
            for k, n in enumerate(sizes[split][c]):
                parts[split][k].extend(idx[at : at + n])
                at += n
        for k, n in enumerate(sizes["train"][c]):
            if n > 0:
                classes_of[k].append(c)
    return _partitions(classes_of, parts)


#: The partitions a shard may be cut from (the TypeScript client's --partition).
PARTITIONS = ("label-skew", "dirichlet")


def cap_samples(indices: np.ndarray, maximum: int) -> np.ndarray:
    """capSamples: at most `maximum` indices, evenly spread (0: all)."""
    if maximum <= 0 or len(indices) <= maximum:
        return indices
    n = len(indices)
    return indices[np.array([(i * n) // maximum for i in range(maximum)], dtype=np.int64)]


@dataclass
class ShardSpec:
    index: int
    count: int
    classes_per_client: int = 2
    partition_seed: int = 1
    #: label-skew or dirichlet.
    partition: str = "label-skew"
    dirichlet_alpha: float = 0.5


def partition_shards(train_labels: np.ndarray, test_labels: np.ndarray, shard: ShardSpec, num_classes: int) -> List[ClientPartition]:
    """Every shard of the partition `shard` names (partitionClients): the same for every client of the run."""
    seed = derive_seed(shard.partition_seed, "partition")
    if shard.partition == "label-skew":
        return label_skew_partition(train_labels, test_labels, shard.count, shard.classes_per_client, num_classes, seed)
    if shard.partition == "dirichlet":
        return dirichlet_partition(train_labels, test_labels, shard.count, shard.dirichlet_alpha, num_classes, seed)
    raise ValueError(f'partition must be one of {", ".join(PARTITIONS)}, got "{shard.partition}"')


def parse_shard(text: str) -> Tuple[int, int]:
    try:
        k, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f'--shard expects K/N with 0 <= K < N, got "{text}"') from None
    if not (n >= 1 and 0 <= k < n):
        raise ValueError(f'--shard expects K/N with 0 <= K < N, got "{text}"')
    return k, n


@dataclass
class ClientData:
    train: Split
    test: Split
    source: str
    #: Names of the classes the train split holds (what Join declares).
    class_names: List[str]


def load_client_data(directory: str, run_class_names: Sequence[str], file_class_names: Optional[Sequence[str]] = None,
                     shard: Optional[ShardSpec] = None, max_train_samples: int = 0) -> ClientData:
    """IDX data mapped to the run's classes, optionally one shard of a seeded partition, capped."""
    train, test = load_idx_dir(directory)
    names = list(file_class_names) if file_class_names is not None else list(run_class_names)
    train = map_labels(train, names, run_class_names, f"{directory} (train)")
    test = map_labels(test, names, run_class_names, f"{directory} (test)")
    source = directory
    if shard is not None:
        try:
            part = partition_shards(train.labels, test.labels, shard, len(run_class_names))[shard.index]
        except ValueError as e:
            raise DataError(f"{directory}: {e}") from None
        train, test = train.subset(cap_samples(part.train, max_train_samples)), test.subset(part.test)
        source = f"{directory} shard {shard.index}/{shard.count} ({shard.partition})"
    else:
        train = train.subset(cap_samples(np.arange(len(train), dtype=np.int64), max_train_samples))
    if len(train) == 0:
        raise DataError(f"{source}: no training samples")
    if len(test) == 0:
        raise DataError(f"{source}: no test samples")
    present = sorted(set(train.labels.tolist()))
    return ClientData(train, test, source, [run_class_names[c] for c in present])
