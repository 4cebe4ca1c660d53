"""The deep families' hyperparameters: one flat, validated, JSON-storable set.

Search, configuration (``pipeline.deep``) and the saved sidecar all describe
a deep model as a flat dict, so the same checks run whichever of them built
it, and a misspelt key fails with the closest known one.

The defaults are deliberately small (a window of 16 bars, 16 hidden units,
one layer, at most 8 epochs, patience 3): on the bundled daily data (two
indices, ~8,000 training rows and 34 features) an epoch takes 1-4 CPU seconds
and a fit well under a minute on two CPU cores (``docs/models.md`` has the
measurements), and wider nets mostly fit noise on financial returns; the
validation loss of these nets is usually best within the first few epochs,
so longer schedules mostly wait out the patience.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alphagate.models.deep.trainer import TrainingOptions


@dataclass(frozen=True)
class DeepParams:
    """Architecture and training settings of a deep family.

    Attributes
    ----------
    window
        Bars per input window (the row and its ``window - 1`` predecessors).
    hidden_size, layers, heads, dropout
        Width, depth (LSTM / Transformer / N-BEATS layers), attention heads
        (must divide the attention width: ``hidden_size``, or twice it for
        the bidirectional ``cnn_lstm``), dropout rate.
    blocks
        N-BEATS blocks (``nbeats`` only).
    epochs, batch_size, learning_rate, weight_decay, grad_clip
        The optimiser: at most ``epochs`` epochs, OneCycle peaking at
        ``learning_rate``, AdamW's decay, the gradient-norm clip.
    patience, top_k
        Stop after ``patience`` epochs without a better validation loss; keep
        the ``top_k`` best checkpoints and restore the best.
    validation_fraction
        Without an ``eval_set``: the latest share of the training timestamps
        used for early stopping.
    purge_bars
        Timestamps dropped between that training part and the validation
        part, so no training label overlaps it: the label horizon when known,
        else (``None``) the window.
    label_smoothing, calibration_weight
        The Beta loss (``alphagate.models.deep.beta``).
    regime_head, regime_weight, regime_trend_feature, regime_volatility_feature
        ``nbeats``'s optional auxiliary regime head, its loss weight, and the
        features its classes are read from (``alphagate.models.deep.model``).
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``, for training;
        prediction always runs on the CPU in float64.
    threads
        CPU threads torch may use while training (``torch.set_num_threads``,
        restored afterwards); 0 leaves torch's own choice (the core count).
        The default is 1: these nets are too small for intra-op parallelism
        to gain much, and on two cores that other processes share, idle
        worker threads spin: a ``tft`` epoch on the bundled data measured
        3.3 CPU seconds with one thread and 8-13 with two (``docs/models.md``).
        Another count may round differently, so results can move in the last bits.
    """

    window: int = 16
    hidden_size: int = 16
    layers: int = 1
    heads: int = 2
    dropout: float = 0.1
    blocks: int = 2
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 3
    top_k: int = 3
    validation_fraction: float = 0.2
    purge_bars: int | None = None
    label_smoothing: float = 0.05
    calibration_weight: float = 1.0
    regime_head: bool = False
    regime_weight: float = 0.3
    regime_trend_feature: str = "adx_14"
    regime_volatility_feature: str = "rvol_20"
    device: str = "auto"
    threads: int = 1

    def __post_init__(self) -> None:
        """Refuse values no net can be built or trained with, naming the parameter."""
        positive = ("window", "hidden_size", "layers", "heads", "blocks", "epochs", "batch_size")
        for name in (*positive, "patience", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"deep parameter {name} must be a positive integer, got {value!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"deep parameter threads must be >= 0, got {self.threads!r}")
        if self.purge_bars is not None and (
            isinstance(self.purge_bars, bool)
            or not isinstance(self.purge_bars, int)
            or self.purge_bars < 0
        ):
            raise ValueError(
                f"deep parameter purge_bars must be >= 0 or None, got {self.purge_bars!r}"
            )
        ranges = {
            "dropout": (0.0, 0.9),
            "validation_fraction": (0.05, 0.5),
            "label_smoothing": (1e-4, 0.25),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= float(value) <= high:
                raise ValueError(f"deep parameter {name} must be in [{low}, {high}], got {value!r}")
        for name in ("learning_rate", "grad_clip"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"deep parameter {name} must be > 0, got {getattr(self, name)!r}")
        for name in ("weight_decay", "calibration_weight", "regime_weight"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"deep parameter {name} must be >= 0, got {getattr(self, name)!r}")
        if self.hidden_size % self.heads:
            raise ValueError(
                f"deep parameter heads ({self.heads}) must divide hidden_size ({self.hidden_size})"
            )
        if self.device not in {"auto", "cpu", "cuda"}:
            raise ValueError(
                f"deep parameter device must be auto, cpu or cuda, got {self.device!r}"
            )

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any] | None) -> DeepParams:
        """Build from a flat dict, refusing unknown keys with a did-you-mean.

        Raises
        ------
        ValueError
            An unknown key, or a value ``__post_init__`` refuses.
        """
        given = dict(params or {})
        known = [field.name for field in dataclasses.fields(cls)]
        for key in given:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown deep model parameter {key!r}{hint}")
        return cls(**given)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a flat JSON-ready dict."""
        return dataclasses.asdict(self)

    def training_options(self) -> TrainingOptions:
        """The training loop's share of the parameters."""
        return TrainingOptions(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            patience=self.patience,
            top_k=self.top_k,
            label_smoothing=self.label_smoothing,
            calibration_weight=self.calibration_weight,
            regime_weight=self.regime_weight,
            threads=self.threads,
        )
