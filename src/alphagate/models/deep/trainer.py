"""The training loop every deep family shares: AdamW, OneCycle, clipping, early stopping.

Why each piece:

* **AdamW + OneCycleLR.** Decoupled weight decay regularises small nets on
  noisy returns without fighting the adaptive step sizes; one cycle warms
  the rate up (no early blow-up from a random start) and anneals it, which
  trains small nets in few epochs.
* **Gradient clipping** (global norm): LSTMs on fat-tailed inputs see rare
  huge gradients that would undo many steps of learning.
* **Early stopping on a purged validation fold, top-k checkpoints.** The
  validation score is the log loss of the Beta mean (the probability the
  platform uses and the search scores). The ``top_k`` best states are kept in
  memory with their epochs and losses, and the best is restored at the end,
  so the model returned is the one that validated best, not the last one.
* **Determinism.** ``torch.manual_seed``, NumPy's seed, a seeded shuffle
  generator and ``torch.use_deterministic_algorithms`` (restored afterwards,
  since it is process-wide): the same data and seed give the same weights.
* **One device choice** (:func:`choose_device`): CUDA when present, else CPU.
* **Progress and tracking at the edges.** A Rich progress bar per epoch shows
  only on a terminal. Every epoch is kept in the returned history (train and
  validation loss, wall and CPU seconds); this module never talks to MLflow:
  ``alphagate train`` logs the saved model's history through the project's
  tracker, one step per epoch.
* **Threads** (``threads``): 0 keeps torch's choice; any other count is set
  for the loop and restored afterwards, since it is process-wide.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress
from torch import Tensor, nn
from torch.nn import functional

from alphagate.models.deep.beta import beta_loss, beta_mean
from alphagate.models.deep.networks import NetOutput

_PROBABILITY_EPSILON = 1e-7


def choose_device(preference: str = "auto") -> torch.device:
    """The device to train on: ``"auto"`` is CUDA when available, else CPU.

    Raises
    ------
    ValueError
        ``"cuda"`` asked for on a machine without it, or an unknown name.
    """
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for but torch sees no CUDA device; use 'auto'")
    if preference not in {"cpu", "cuda"}:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {preference!r}")
    return torch.device(preference)


@dataclass(frozen=True)
class WindowData:
    """Windows gathered on the fly from one table of standardised rows.

    Attributes
    ----------
    table
        ``(n + 1, features)``: the rows, then an all-zero row that padded
        steps point at.
    positions
        ``(m, window)`` indices into ``table`` (padding points at row ``n``).
    target
        ``(m,)`` 0/1 as floats.
    weight
        ``(m,)`` sample weights.
    regime
        ``(m,)`` class indices for the regime head, or ``None``.
    """

    table: Tensor
    positions: Tensor
    target: Tensor
    weight: Tensor
    regime: Tensor | None = None

    def __len__(self) -> int:
        """Number of windows."""
        return int(self.positions.shape[0])

    def batch(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """``(x, valid)`` for the windows at ``rows``."""
        positions = self.positions[rows]
        return self.table[positions], positions != self.table.shape[0] - 1

    def to(self, device: torch.device) -> WindowData:
        """The same data on ``device``."""
        return WindowData(
            self.table.to(device),
            self.positions.to(device),
            self.target.to(device),
            self.weight.to(device),
            None if self.regime is None else self.regime.to(device),
        )


@dataclass(frozen=True)
class TrainingOptions:
    """The loop's settings (the model's parameters choose them; see ``DeepParams``)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    grad_clip: float
    patience: int
    top_k: int
    label_smoothing: float
    calibration_weight: float
    regime_weight: float
    threads: int = 0


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss, validation log loss, wall and process CPU seconds."""

    epoch: int
    train_loss: float
    val_loss: float
    seconds: float
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class TrainingOutcome:
    """What the loop did: every epoch, the restored epoch, the kept checkpoints."""

    history: list[EpochRecord]
    best_epoch: int
    checkpoints: list[tuple[int, float]]


def _batches(n: int, size: int, generator: torch.Generator | None) -> Iterator[Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    yield from torch.split(order, size)


def _loss(output: NetOutput, data: WindowData, rows: Tensor, options: TrainingOptions) -> Tensor:
    loss = beta_loss(
        output.alpha,
        output.beta,
        data.target[rows],
        data.weight[rows],
        label_smoothing=options.label_smoothing,
        calibration_weight=options.calibration_weight,
    )
    if output.regime_logits is not None and data.regime is not None:
        loss = loss + options.regime_weight * functional.cross_entropy(
            output.regime_logits, data.regime[rows]
        )
    return loss


def predict_mean(net: nn.Module, data: WindowData, batch_size: int) -> Tensor:
    """P(up) (the Beta mean) for every window of ``data``, in eval mode, without gradients."""
    net.eval()
    parts = []
    with torch.no_grad():
        for rows in _batches(len(data), batch_size, None):
            x, valid = data.batch(rows.to(data.positions.device))
            output = net(x, valid)
            parts.append(beta_mean(output.alpha, output.beta))
    return torch.cat(parts)


def _validation_loss(net: nn.Module, data: WindowData, batch_size: int) -> float:
    """Weighted log loss of the Beta mean on the validation windows."""
    p = predict_mean(net, data, batch_size).clamp(_PROBABILITY_EPSILON, 1 - _PROBABILITY_EPSILON)
    y = data.target
    losses = -(y * torch.log(p) + (1 - y) * torch.log1p(-p))
    return float((losses * data.weight).sum() / data.weight.sum())


@contextlib.contextmanager
def _cpu_threads(threads: int) -> Iterator[None]:
    """Let torch use ``threads`` CPU threads inside the block (0: leave its choice); restore after.

    ``torch.set_num_threads`` is process-wide, so the caller's setting comes back.
    """
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Determinism:
    """Seed every generator and switch deterministic algorithms on, for one ``with`` block."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._previous = False

    def __enter__(self) -> torch.Generator:
        self._previous = torch.are_deterministic_algorithms_enabled()
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.manual_seed(self.seed)
        np.random.seed(self.seed % 2**32)  # libraries may draw from NumPy's global generator
        torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        return generator

    def __exit__(self, *_: object) -> None:
        torch.use_deterministic_algorithms(self._previous)


def train_network(
    net: nn.Module,
    train: WindowData,
    valid: WindowData,
    options: TrainingOptions,
    *,
    seed: int,
    device: torch.device,
    description: str = "training",
) -> TrainingOutcome:
    """Fit ``net`` on ``train``, stop early on ``valid``, and leave the best state in ``net``.

    Parameters
    ----------
    net
        A freshly built net (its initial weights should come from the same
        seed: build it inside ``seeded(seed)``).
    train, valid
        Training and validation windows (CPU tensors; moved to ``device``).
    options
        The loop's settings.
    seed
        Seeds the shuffling and dropout.
    device
        From :func:`choose_device`; the net ends on the CPU either way.
    description
        The progress bar's label.
    """
    net.to(device)
    train, valid = train.to(device), valid.to(device)
    steps_per_epoch = max(1, math.ceil(len(train) / options.batch_size))
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=options.learning_rate,
        total_steps=options.epochs * steps_per_epoch,
    )
    history: list[EpochRecord] = []
    kept: list[tuple[float, int, dict[str, Tensor]]] = []
    since_best = 0
    console = Console(stderr=True)
    with (
        _cpu_threads(options.threads),
        _Determinism(seed) as generator,
        Progress(console=console, transient=True, disable=not console.is_terminal) as bar,
    ):
        task = bar.add_task(description, total=options.epochs)
        for epoch in range(options.epochs):
            began, began_cpu = time.perf_counter(), time.process_time()
            net.train()
            total, count = 0.0, 0
            for batch in _batches(len(train), options.batch_size, generator):
                rows = batch.to(device)
                x, mask = train.batch(rows)
                loss = _loss(net(x, mask), train, rows, options)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(net.parameters(), options.grad_clip)
                optimizer.step()
                schedule.step()
                total += float(loss.detach()) * len(rows)
                count += len(rows)
            val_loss = _validation_loss(net, valid, options.batch_size)
            record = EpochRecord(
                epoch,
                total / count,
                val_loss,
                time.perf_counter() - began,
                time.process_time() - began_cpu,
            )
            history.append(record)
            bar.update(task, advance=1, description=f"{description} val {val_loss:.4f}")
            best_so_far = min((loss for loss, _, _ in kept), default=math.inf)
            if math.isfinite(val_loss) and (len(kept) < options.top_k or val_loss < kept[-1][0]):
                state = {k: v.detach().to("cpu").clone() for k, v in net.state_dict().items()}
                kept = sorted([*kept, (val_loss, epoch, state)], key=lambda item: item[:2])
                kept = kept[: options.top_k]
            since_best = 0 if val_loss < best_so_far else since_best + 1
            if since_best >= options.patience:
                break
    net.to("cpu")
    if kept:
        net.load_state_dict(copy.deepcopy(kept[0][2]))
    return TrainingOutcome(
        history=history,
        best_epoch=kept[0][1] if kept else len(history) - 1,
        checkpoints=[(epoch, loss) for loss, epoch, _ in kept],
    )
