"""pFedLoRA's client step in PyTorch (docs/algorithm.md; packages/ml/src/algorithms/pfedlora.ts).

Any private model plugs in as two modules: an extractor x -> h [n, d] (the run's d)
and its own head h -> logits [n, C]. The shared low-rank adapter A = (D [d, r], U [r, C])
is a branch beside the head at h:

    logits = head(h) + (alpha / r) (h D) U

Per round, from the received global adapter:
  step 1  the adapter frozen, train extractor and head for local_epochs on the combined
          logits (cross-entropy), SGD with momentum and weight decay, gradients clipped to
          clip_norm (torch.optim.SGD + clip_grad_norm_; this optimizer's momentum lives
          from round to round);
  step 2  the model frozen: compute h and the head's logits once over the train split,
          then train D and U alone for adapter_epochs on them, with a fresh SGD (the
          adapter restarts from the global one each round, so does its momentum);
  upload  delta = local adapter - received global, for the factors the run shares
          (adapter_share 'all': D and U; 'up': U only; a factor that is not shared is
          drawn by the client from its seed and stays private).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .codec import Tensor
from .rng import derive_seed, initial_adapter
from .wire import ADAPTER_DOWN, ADAPTER_UP, RunSettings, pfedlora_spec

EVAL_BATCH = 256


class Stopped(Exception):
    """Training was interrupted (shutdown, or the task was superseded)."""


class ContractError(ValueError):
    """The private model does not meet the run's adapter contract."""


@dataclass
class Evaluation:
    accuracy: float
    loss: float
    samples: int
    macro_f1: float = 0.0


def macro_f1(predicted: Sequence[int], labels: Sequence[int], num_classes: int) -> float:
    """Mean over classes of 2TP / (2TP + FP + FN), as @pfedlora/core's macroF1: a class absent
    from both predictions and labels is left out; with no class present (no samples), 0."""
    tp = [0] * num_classes
    fp = [0] * num_classes
    fn = [0] * num_classes
    for p, y in zip(predicted, labels):
        if p == y:
            tp[y] += 1
        else:
            fp[p] += 1
            fn[y] += 1
    f1s = [2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) for c in range(num_classes) if 2 * tp[c] + fp[c] + fn[c] > 0]
    return sum(f1s) / len(f1s) if f1s else 0.0


@dataclass
class RoundResult:
    delta: List[Tensor]
    num_samples: int
    train_loss: float
    train_flops: float


DataLike = Union[Dataset, Tuple[torch.Tensor, torch.Tensor], Tuple[np.ndarray, np.ndarray]]


def as_dataset(data: DataLike) -> Dataset:
    """A torch Dataset of (x, label) pairs from a Dataset or an (inputs, labels) pair of arrays."""
    if isinstance(data, tuple):
        x, y = data
        x = torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x, dtype=torch.float32)
        y = torch.as_tensor(np.asarray(y) if isinstance(y, np.ndarray) else y, dtype=torch.int64)
        return TensorDataset(x, y)
    return data


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _stages(extractor: nn.Module, head: nn.Module, sample: torch.Tensor) -> Tuple[List[float], float]:
    """Forward FLOPs of each Conv/Linear layer of the extractor for one sample, and of the head."""
    flops: List[float] = []

    def hook(module: nn.Module, inputs, output) -> None:
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * (module.in_channels // module.groups)
            flops.append(2.0 * k * output.numel())
        elif isinstance(module, nn.Linear):
            flops.append(2.0 * module.in_features * module.out_features * (output.numel() // module.out_features))

    handles = [m.register_forward_hook(hook) for m in extractor.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            h = extractor(sample)
    finally:
        for handle in handles:
            handle.remove()
    head_flops = 0.0
    for m in head.modules():
        if isinstance(m, nn.Linear):
            head_flops += 2.0 * m.in_features * m.out_features
    if head_flops == 0.0:
        head_flops = 2.0 * h.shape[-1] * 1.0
    return flops, head_flops


def _train_step_flops(stage_flops: Sequence[float]) -> float:
    """flops.ts trainStepFlops, every stage trained: forward, weight gradient, and input gradient after the first."""
    return sum(f * (2 if i == 0 else 3) for i, f in enumerate(stage_flops))


class PFedLoRATrainer:
    """One client's private model, data and adapter for a pFedLoRA run."""

    def __init__(
        self,
        extractor: nn.Module,
        head: nn.Module,
        train: DataLike,
        test: DataLike,
        settings: RunSettings,
        client_seed: int,
        device: Optional[torch.device] = None,
        name: str = "",
        should_stop: Callable[[], bool] = lambda: False,
        num_workers: int = 0,
    ) -> None:
        if settings.algorithm != "pfedlora":
            raise ContractError(f"this client trains pfedlora only; the run's algorithm is {settings.algorithm}")
        if settings.plug_point != "representation":
            raise ContractError(f'this client plugs the adapter in at "representation", the run asks for "{settings.plug_point}"')
        self.settings = settings
        self.device = device or default_device()
        self.extractor = extractor.to(self.device)
        self.head = head.to(self.device)
        self.train_set = as_dataset(train)
        self.test_set = as_dataset(test)
        self.client_seed = client_seed
        self.should_stop = should_stop
        self.num_workers = num_workers
        self.name = name or type(extractor).__name__
        d, r, c = settings.representation_dim, settings.rank, settings.num_classes
        sample = self.train_set[0][0].unsqueeze(0).to(self.device)
        self.input_shape = tuple(int(n) for n in self.train_set[0][0].shape)
        self.extractor.eval()
        self.head.eval()
        with torch.no_grad():
            h = self.extractor(sample)
            if h.dim() != 2 or h.shape[1] != d:
                raise ContractError(f"model {self.name} does not meet the run's adapter contract: representation h is {list(h.shape[1:])}, the run requires d = {d}")
            logits = self.head(h)
            if logits.dim() != 2 or logits.shape[1] != c:
                raise ContractError(f"model {self.name} does not meet the run's adapter contract: its head gives {list(logits.shape[1:])} outputs, the run requires C = {c}")
        stage_flops, self.head_forward_flops = _stages(self.extractor, self.head, sample)
        self.extractor_forward_flops = sum(stage_flops)
        self.train_step_flops = _train_step_flops(stage_flops + [self.head_forward_flops])
        # The adapter: D and U as leaf tensors on the device. A factor the run does not share
        # starts as the client's own draw (the TypeScript client's, for the same client id).
        down, up = initial_adapter(d, r, c, derive_seed(client_seed, "private-adapter"))
        self.down = torch.tensor(down, device=self.device)
        self.up = torch.tensor(up, device=self.device)
        self.scale = settings.adapter_alpha / r
        params: List[nn.Parameter] = []
        for p in list(self.extractor.parameters()) + list(self.head.parameters()):
            if all(p is not q for q in params):  # a head shared with the extractor counts once
                params.append(p)
        self.model_params = params
        self.model_optimizer = torch.optim.SGD(params, lr=settings.learning_rate, momentum=settings.momentum, weight_decay=settings.weight_decay)

    # ---- what Join declares ----

    def descriptor(self, family: str = "torch") -> Dict[str, object]:
        """ModelDescriptor fields: input_shape as the wire writes images, [height, width, channels]."""
        shape = list(self.input_shape)
        if len(shape) == 3:
            shape = [shape[1], shape[2], shape[0]]
        params = sum(p.numel() for p in self.model_params)
        return {
            "family": family,
            "name": self.name[:128],
            "parameter_count": int(params),
            "representation_dim": self.settings.representation_dim,
            "num_classes": self.settings.num_classes,
            "input_shape": shape,
            "train_flops_per_sample": float(self.train_step_flops),
        }

    @property
    def num_samples(self) -> int:
        return len(self.train_set)

    # ---- the round ----

    def adapter_logits(self, h: torch.Tensor) -> torch.Tensor:
        return (h @ self.down @ self.up) * self.scale

    def _check_stop(self) -> None:
        if self.should_stop():
            raise Stopped("stopped")

    def load_global(self, tensors: Sequence[Tensor]) -> None:
        for t in tensors:
            target = {ADAPTER_DOWN: self.down, ADAPTER_UP: self.up}.get(t.name)
            if target is None:
                raise ValueError(f'unexpected adapter tensor "{t.name}"')
            if tuple(target.shape) != t.shape:
                raise ValueError(f'adapter tensor "{t.name}" is {list(t.shape)}, expected {list(target.shape)}')
            target.copy_(torch.from_numpy(np.ascontiguousarray(t.values)).to(self.device))

    def fit(self, global_tensors: Sequence[Tensor], round_number: int) -> RoundResult:
        s = self.settings
        spec = pfedlora_spec(s)
        if [(t.name, t.shape) for t in global_tensors] != spec:
            raise ValueError(f"global payload {[(t.name, t.shape) for t in global_tensors]} is not the run's {spec}")
        generator = torch.Generator()
        generator.manual_seed(derive_seed(self.client_seed, "batches", round_number))
        self.load_global(global_tensors)
        received = {t.name: t.values.copy() for t in global_tensors}

        # Step 1: the private model, adapter frozen (its factors are plain tensors here).
        self.extractor.train()
        self.head.train()
        loader = DataLoader(self.train_set, batch_size=s.batch_size, shuffle=True, generator=generator, num_workers=self.num_workers)
        for _ in range(s.local_epochs):
            for x, y in loader:
                self._check_stop()
                x, y = x.to(self.device), y.to(self.device)
                h = self.extractor(x)
                loss = nn.functional.cross_entropy(self.head(h) + self.adapter_logits(h), y)
                self.model_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if s.clip_norm > 0 and np.isfinite(s.clip_norm):
                    torch.nn.utils.clip_grad_norm_(self.model_params, s.clip_norm)
                self.model_optimizer.step()

        # Step 2: h and the head's logits once, then the adapter alone.
        hs, zs, ys = self._frozen_outputs()
        down = self.down.clone().requires_grad_(True)
        up = self.up.clone().requires_grad_(True)
        optimizer = torch.optim.SGD([down, up], lr=s.learning_rate, momentum=s.momentum, weight_decay=s.weight_decay)
        n = hs.shape[0]
        train_loss = 0.0
        for _ in range(s.adapter_epochs):
            order = torch.randperm(n, generator=generator).to(self.device)
            total = 0.0
            for start in range(0, n, s.batch_size):
                self._check_stop()
                idx = order[start : start + s.batch_size]
                h, z, y = hs[idx], zs[idx], ys[idx]
                loss = nn.functional.cross_entropy(z + (h @ down @ up) * self.scale, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if s.clip_norm > 0 and np.isfinite(s.clip_norm):
                    torch.nn.utils.clip_grad_norm_([down, up], s.clip_norm)
                optimizer.step()
                total += float(loss.detach()) * idx.shape[0]
            train_loss = total / max(1, n)
        with torch.no_grad():
            self.down.copy_(down.detach())
            self.up.copy_(up.detach())

        local = {ADAPTER_DOWN: self.down, ADAPTER_UP: self.up}
        delta = [Tensor(name, (local[name].detach().cpu().numpy().astype(np.float32) - received[name]).astype(np.float32)) for name, _ in spec]
        d, r, c = s.representation_dim, s.rank, s.num_classes
        adapter = 2.0 * d * r + 2.0 * r * c
        step1 = self.train_step_flops + 2 * adapter
        step2_once = self.extractor_forward_flops + self.head_forward_flops
        step2_epoch = adapter + adapter + 2.0 * r * c
        flops = n * (s.local_epochs * step1 + step2_once + s.adapter_epochs * step2_epoch)
        return RoundResult(delta=delta, num_samples=n, train_loss=train_loss, train_flops=flops)

    @torch.no_grad()
    def _frozen_outputs(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.extractor.eval()
        self.head.eval()
        hs, zs, ys = [], [], []
        for x, y in DataLoader(self.train_set, batch_size=EVAL_BATCH, shuffle=False, num_workers=self.num_workers):
            self._check_stop()
            h = self.extractor(x.to(self.device))
            hs.append(h)
            zs.append(self.head(h))
            ys.append(y.to(self.device))
        return torch.cat(hs), torch.cat(zs), torch.cat(ys)

    # ---- the private state (--state-dir) ----

    def _state_tensors(self) -> Dict[str, torch.Tensor]:
        """Everything private, by name: the model's parameters and buffers, step 1's momentum, the local adapter."""
        out: Dict[str, torch.Tensor] = {}
        for prefix, module in (("model/extractor/", self.extractor), ("model/head/", self.head)):
            for key, value in module.state_dict(keep_vars=True).items():
                out[prefix + key] = value
        for i, p in enumerate(self.model_params):
            buffer = self.model_optimizer.state.get(p, {}).get("momentum_buffer")
            # Before the first step there is none; zeros then give the same next step (buf = grad).
            out[f"optimizer/momentum/{i}"] = buffer if buffer is not None else torch.zeros_like(p)
        out[ADAPTER_DOWN] = self.down
        out[ADAPTER_UP] = self.up
        return out

    def private_state(self) -> List[Tensor]:
        """A snapshot of the private state as float32 tensors (integer buffers, such as a batch-norm count, cast)."""
        return [Tensor(name, t.detach().cpu().to(torch.float32).numpy().copy()) for name, t in self._state_tensors().items()]

    def load_private_state(self, tensors: Sequence[Tensor]) -> None:
        """Restores a snapshot of private_state(); refuses (ValueError, nothing changed) one of another model or run."""
        from .state import check_names

        targets = self._state_tensors()
        check_names(tensors, [(name, tuple(t.shape)) for name, t in targets.items()], "the private state is not this model's")
        with torch.no_grad():
            for t in tensors:
                target = targets[t.name]
                target.copy_(torch.tensor(t.values).to(device=target.device, dtype=target.dtype))  # 0-d stays 0-d
        for i, p in enumerate(self.model_params):
            self.model_optimizer.state[p]["momentum_buffer"] = targets[f"optimizer/momentum/{i}"].detach().clone()

    @torch.no_grad()
    def evaluate(self) -> Evaluation:
        """Accuracy, macro-F1 and mean cross-entropy of the personalized model (private model + adapter) on the test split."""
        self.extractor.eval()
        self.head.eval()
        correct = 0
        loss_sum = 0.0
        count = 0
        predicted: List[int] = []
        labels: List[int] = []
        for x, y in DataLoader(self.test_set, batch_size=EVAL_BATCH, shuffle=False, num_workers=self.num_workers):
            x, y = x.to(self.device), y.to(self.device)
            h = self.extractor(x)
            logits = self.head(h) + self.adapter_logits(h)
            guess = logits.argmax(1)
            correct += int((guess == y).sum())
            predicted.extend(guess.tolist())
            labels.extend(y.tolist())
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            count += int(y.shape[0])
        return Evaluation(accuracy=correct / count if count else 0.0, loss=loss_sum / count if count else 0.0, samples=count,
                          macro_f1=macro_f1(predicted, labels, self.settings.num_classes))

