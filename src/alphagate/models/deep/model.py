"""``cnn_lstm``, ``tft`` and ``nbeats`` behind the ``Model`` protocol.

One class serves the three families: they share the inputs (point-in-time
windows, ``alphagate.models.deep.sequences``), the loss (the Beta head), the
training loop and the persistence, and differ only in the net built
(``alphagate.models.deep.networks``).

Fitting, in order: the shared input checks of every family; a scaler on the
training rows only; windows; the validation windows (the caller's
``eval_set``, or the latest ``validation_fraction`` of the training
timestamps after a purge gap); then the training loop, which restores the
best checkpoint. Training runs in float32 (on CUDA when present); the fitted
net is then kept in float64 on the CPU, so predictions do not depend on batch
composition or device beyond 1e-12 (a model backtest recomputes the holdout
predictions and requires them equal to 1e-9).

Saving writes ``model.pt`` (the ``state_dict``, with ``torch.save``) and the
JSON sidecar (family, features, parameters, scaler, training history);
loading reads the tensors with ``torch.load(..., weights_only=True)``, so a
model directory can never run code, as for every other family.

**The regime head** (``nbeats`` with ``regime_head=True``) is trained to
name the regime of the window's last bar, read from two point-in-time
features: high volatility when ``regime_volatility_feature`` is above its
80th percentile in the training rows, else trending when
``regime_trend_feature`` (ADX) is above 25, else ranging. It describes the
present, not the future: an auxiliary task that shapes the shared
representation, and a readable output (:meth:`DeepModel.regime_proba`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from alphagate.models.deep.beta import beta_concentration
from alphagate.models.deep.families import DEEP_FAMILIES, DeepFamily
from alphagate.models.deep.networks import CnnLstmNet, NBeatsNet, NetOutput, TftNet
from alphagate.models.deep.params import DeepParams
from alphagate.models.deep.sequences import PAD, FeatureScaler, window_positions
from alphagate.models.deep.stream import DeepStream
from alphagate.models.deep.trainer import (
    EpochRecord,
    WindowData,
    choose_device,
    train_network,
)
from alphagate.models.protocol import (
    FloatArray,
    check_fitted,
    prepare_prediction_data,
    prepare_training_data,
    read_sidecar,
    save_directory,
    write_sidecar,
)

WEIGHTS_FILE = "model.pt"
_TREND_THRESHOLD = 25.0  # ADX above 25: the usual reading of "trending"
_HIGH_VOLATILITY_QUANTILE = 0.8


def build_net(family: str, n_features: int, params: DeepParams) -> nn.Module:
    """The untrained net of ``family`` for ``n_features`` inputs.

    Raises
    ------
    ValueError
        An unknown family, or ``regime_head`` asked of a family without one.
    """
    sizes = (params.hidden_size, params.layers, params.heads, params.dropout)
    if params.regime_head and family != "nbeats":
        raise ValueError(f"regime_head is an nbeats option; {family} has no regime head")
    if family == "cnn_lstm":
        return CnnLstmNet(n_features, *sizes)
    if family == "tft":
        return TftNet(n_features, *sizes)
    if family == "nbeats":
        return NBeatsNet(
            n_features, params.window, *sizes, blocks=params.blocks, regime_head=params.regime_head
        )
    raise ValueError(f"unknown deep family {family!r}; known: {', '.join(DEEP_FAMILIES)}")


def _table(scaled: FloatArray, dtype: torch.dtype) -> Tensor:
    """The rows plus the all-zero row that padded steps point at."""
    padded = np.vstack([scaled, np.zeros((1, scaled.shape[1]))])
    return torch.as_tensor(padded, dtype=dtype)


def _positions(index: pd.Index, window: int, n_rows: int) -> Tensor:
    """Window positions with padding pointing at the zero row ``n_rows``."""
    positions = window_positions(index, window)
    return torch.as_tensor(np.where(positions == PAD, n_rows, positions))


def validation_split(times: pd.Index, fraction: float, purge: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training and validation rows of a fit without ``eval_set``.

    Validation holds the latest ``ceil(fraction * T)`` of the ``T`` distinct
    timestamps; training the rows before them, less the last ``purge``
    timestamps, whose labels would overlap the validation period.

    Raises
    ------
    ValueError
        Too few timestamps to leave rows on both sides.
    """
    stamps = np.asarray(times)
    distinct = np.unique(stamps)
    n_valid = math.ceil(fraction * len(distinct))
    first_valid = len(distinct) - n_valid
    last_train = first_valid - purge
    if n_valid < 1 or last_train < 1:
        raise ValueError(
            f"{len(distinct)} timestamp(s) are too few for a validation part of {fraction:.0%} "
            f"after a purge of {purge}: pass an eval_set, or more rows"
        )
    positions = np.arange(len(stamps))
    valid = positions[stamps >= distinct[first_valid]]
    train = positions[stamps < distinct[last_train]]
    return train, valid


class DeepModel:
    """A PyTorch sequence net with a Beta head: ``cnn_lstm``, ``tft`` or ``nbeats``.

    Parameters
    ----------
    family
        Which net.
    seed
        Seeds the initial weights, the shuffling and dropout.
    params
        Flat hyperparameters (:class:`DeepParams`); defaults are small.
    """

    def __init__(
        self, family: DeepFamily, seed: int = 0, params: dict[str, Any] | None = None
    ) -> None:
        if family not in DEEP_FAMILIES:
            raise ValueError(f"unknown deep family {family!r}; known: {', '.join(DEEP_FAMILIES)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.family: DeepFamily = family
        self.seed = seed
        self.params = DeepParams.from_mapping(params)
        self._feature_names: list[str] = []
        self._net: nn.Module | None = None
        self._scaler: FeatureScaler | None = None
        self._history: list[EpochRecord] = []
        self._importances: list[float] = []

    @property
    def name(self) -> str:
        """The family name, as written to the sidecar."""
        return self.family

    @property
    def feature_names(self) -> list[str]:
        """Training columns in order (a copy; empty before ``fit``)."""
        return list(self._feature_names)

    @property
    def history(self) -> list[EpochRecord]:
        """Per-epoch losses of the last ``fit`` (or as saved)."""
        return list(self._history)

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: pd.Series,
        sample_weight: pd.Series | None = None,
        eval_set: tuple[pd.DataFrame, pd.Series] | None = None,
    ) -> Self:
        """Train on ``X``/``y``; early-stop on ``eval_set`` or on the latest training rows.

        Raises
        ------
        ValueError
            Shared input checks fail, ``X`` is not indexed by ``(symbol, ts)``,
            too few timestamps for a validation part, or the regime features
            are missing.
        """
        data = prepare_training_data(X, y, sample_weight, eval_set)
        params = self.params
        weight = data.weight if data.weight is not None else np.ones(len(data.target))
        regime = self._regime_classes(data.features, data.feature_names)
        if eval_set is None:
            purge = params.window if params.purge_bars is None else params.purge_bars
            times = X.index.get_level_values("ts") if "ts" in X.index.names else X.index
            train_rows, valid_rows = validation_split(times, params.validation_fraction, purge)
            fit_x, valid_x = X.iloc[train_rows], X.iloc[valid_rows]
            fit_m, valid_m = data.features[train_rows], data.features[valid_rows]
            fit_y, valid_y = data.target[train_rows], data.target[valid_rows]
            fit_w, valid_w = weight[train_rows], weight[valid_rows]
            fit_r = None if regime is None else regime[train_rows]
        else:
            assert data.eval_features is not None and data.eval_target is not None
            fit_x, valid_x = X, eval_set[0]
            fit_m, valid_m = data.features, data.eval_features
            fit_y, valid_y = data.target, data.eval_target
            fit_w, valid_w = weight, np.ones(len(data.eval_target))
            fit_r = regime
        scaler = FeatureScaler.fit(fit_m)
        train = self._windows(fit_x, scaler.transform(fit_m), fit_y, fit_w, fit_r)
        valid = self._windows(valid_x, scaler.transform(valid_m), valid_y, valid_w, None)
        torch.manual_seed(self.seed)
        net = build_net(self.family, len(data.feature_names), params)
        outcome = train_network(
            net,
            train,
            valid,
            params.training_options(),
            seed=self.seed,
            device=choose_device(params.device),
            description=self.family,
        )
        # Importances in the training precision: float64 would only slow a mean of weights.
        self._importances = self._selection_importances(net, train) if self.family == "tft" else []
        self._net = net.double().eval()
        self._scaler = scaler
        self._feature_names = data.feature_names
        self._history = outcome.history
        return self

    def _windows(
        self,
        frame: pd.DataFrame,
        scaled: FloatArray,
        target: np.ndarray,
        weight: np.ndarray,
        regime: np.ndarray | None,
    ) -> WindowData:
        return WindowData(
            table=_table(scaled, torch.float32),
            positions=_positions(frame.index, self.params.window, len(frame)),
            target=torch.as_tensor(target, dtype=torch.float32),
            weight=torch.as_tensor(weight, dtype=torch.float32),
            regime=None if regime is None else torch.as_tensor(regime, dtype=torch.long),
        )

    def _regime_classes(self, features: FloatArray, names: list[str]) -> np.ndarray | None:
        """Per-row regime class (see the module docstring), or ``None`` without the head."""
        params = self.params
        if not params.regime_head:
            return None
        wanted = (params.regime_trend_feature, params.regime_volatility_feature)
        missing = [name for name in wanted if name not in names]
        if missing:
            raise ValueError(
                f"the regime head reads features {missing} that X lacks; set "
                f"regime_trend_feature / regime_volatility_feature to columns of X"
            )
        trend = features[:, names.index(wanted[0])]
        volatility = features[:, names.index(wanted[1])]
        high = volatility > np.quantile(volatility, _HIGH_VOLATILITY_QUANTILE)
        return np.where(high, 2, np.where(trend > _TREND_THRESHOLD, 0, 1)).astype(np.int64)

    def _outputs(self, X: pd.DataFrame) -> NetOutput:  # noqa: N803
        """The net's outputs for every row of ``X`` (float64, CPU, eval mode)."""
        matrix = prepare_prediction_data(X, self._feature_names, self.family)
        assert self._net is not None and self._scaler is not None
        table = _table(self._scaler.transform(matrix), torch.float64)
        positions = _positions(X.index, self.params.window, len(X))
        self._net.eval()
        with torch.no_grad():
            x = table[positions]
            return self._net(x, positions != len(X))  # type: ignore[no-any-return]

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """P(up) per row: the mean of the predicted Beta distribution."""
        output = self._outputs(X)
        mean = output.alpha / (output.alpha + output.beta)
        probabilities: FloatArray = mean.numpy().astype(np.float64)
        return probabilities

    def stream(self) -> DeepStream:
        """A bar-by-bar predictor keeping each symbol's window: ``predict_proba``'s numbers.

        The online predictor shows one row per symbol per bar close; the
        stream remembers each symbol's last ``window`` rows
        (``alphagate.models.deep.stream``).
        """
        check_fitted(self._feature_names, self.family)
        assert self._net is not None and self._scaler is not None
        return DeepStream(
            self._net, self._scaler, self.params.window, self._feature_names, self.family
        )

    def predict_beta(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """``alpha``, ``beta``, ``p_up`` (the mean) and ``concentration`` per row of ``X``."""
        output = self._outputs(X)
        alpha, beta = output.alpha.numpy(), output.beta.numpy()
        return pd.DataFrame(
            {
                "alpha": alpha,
                "beta": beta,
                "p_up": alpha / (alpha + beta),
                "concentration": beta_concentration(output.alpha, output.beta).numpy(),
            },
            index=X.index,
        )

    def _selection_importances(self, net: nn.Module, data: WindowData) -> list[float]:
        """Mean variable-selection weight per feature over the training windows."""
        assert isinstance(net, TftNet)
        total = torch.zeros(data.table.shape[1], dtype=torch.float64)
        net.eval()
        with torch.no_grad():
            for rows in torch.split(torch.arange(len(data)), self.params.batch_size):
                x, valid = data.batch(rows)
                net(x, valid)
                assert net.last_selection is not None
                total += net.last_selection.sum(dim=0).double()
        return (total / len(data)).tolist()

    def save(self, directory: Path) -> None:
        """Write ``model.pt`` (the state dict) and then ``model.json``."""
        directory = save_directory(directory, self._feature_names, self.family)
        assert self._net is not None and self._scaler is not None
        torch.save(self._net.state_dict(), directory / WEIGHTS_FILE)
        write_sidecar(
            directory,
            {
                "family": self.family,
                "feature_names": self._feature_names,
                "params": self.params.to_dict(),
                "seed": self.seed,
                "scaler": self._scaler.to_dict(),
                "history": [vars(record) for record in self._history],
                "importances": self._importances,
                "library": {"torch": torch.__version__},
            },
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Rebuild a saved model; it predicts exactly as the saved one did.

        Raises
        ------
        FileNotFoundError
            ``model.pt`` is missing next to the sidecar.
        ValueError
            The sidecar is not a deep family's, or the files do not match.
        """
        directory = Path(directory)
        body = read_sidecar(directory)
        family = body.get("family")
        if family not in DEEP_FAMILIES:
            raise ValueError(f"{directory} holds a {family!r} model, not a deep one")
        model = MODEL_CLASSES[family](seed=body["seed"], params=body.get("params"))
        if not isinstance(model, cls):
            raise ValueError(f"{directory} holds a {family!r} model, not a {cls.__name__}")
        names = list(body["feature_names"])
        path = directory / WEIGHTS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found next to the sidecar")
        net = build_net(family, len(names), model.params).double()
        state = torch.load(path, weights_only=True, map_location="cpu")
        try:
            net.load_state_dict(state)
        except RuntimeError as error:
            raise ValueError(f"{path} does not fit the sidecar's architecture: {error}") from error
        model._net = net.eval()
        model._scaler = FeatureScaler.from_dict(body["scaler"], len(names))
        model._feature_names = names
        model._history = [EpochRecord(**record) for record in body.get("history", [])]
        model._importances = list(body.get("importances", []))
        return model


class CnnLstmModel(DeepModel):
    """``cnn_lstm``: multi-scale CNN, bidirectional LSTM, attention; short horizons."""

    def __init__(self, seed: int = 0, params: dict[str, Any] | None = None) -> None:
        super().__init__("cnn_lstm", seed, params)

    def attention_weights(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """The attention over each row's window, ``(len(X), window)``, oldest step first."""
        self._outputs(X)
        assert isinstance(self._net, CnnLstmNet) and self._net.last_attention is not None
        weights: FloatArray = self._net.last_attention.numpy().astype(np.float64)
        return weights


class TftModel(DeepModel):
    """``tft``: variable selection, LSTM encoder, attention; medium horizons."""

    def __init__(self, seed: int = 0, params: dict[str, Any] | None = None) -> None:
        super().__init__("tft", seed, params)

    def feature_importances(self) -> pd.Series:
        """``tft``: mean variable-selection weight per feature (sums to 1)."""
        check_fitted(self._feature_names, self.family)
        return pd.Series(self._importances, index=self._feature_names, name="selection_weight")


class NBeatsModel(DeepModel):
    """``nbeats``: N-BEATS blocks and a Transformer encoder, optional regime head; long horizons."""

    def __init__(self, seed: int = 0, params: dict[str, Any] | None = None) -> None:
        super().__init__("nbeats", seed, params)

    def regime_proba(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """``nbeats`` with its regime head: P(trending, ranging, high volatility) per row.

        Raises
        ------
        ValueError
            The model has no regime head.
        """
        output = self._outputs(X)
        if output.regime_logits is None:
            raise ValueError("this model has no regime head; fit nbeats with regime_head=True")
        from alphagate.models.deep.networks import REGIME_CLASSES

        probabilities = torch.softmax(output.regime_logits, dim=-1).numpy()
        return pd.DataFrame(probabilities, index=X.index, columns=list(REGIME_CLASSES))


MODEL_CLASSES: dict[str, type[CnnLstmModel] | type[TftModel] | type[NBeatsModel]] = {
    "cnn_lstm": CnnLstmModel,
    "tft": TftModel,
    "nbeats": NBeatsModel,
}
"""The class of each deep family; ``DeepModel.load`` picks from it by the sidecar."""


def make_deep_model(
    family: DeepFamily, seed: int = 0, params: dict[str, Any] | None = None
) -> DeepModel:
    """An unfitted model of a deep ``family``, of the class with that family's outputs."""
    if family not in MODEL_CLASSES:
        raise ValueError(f"unknown deep family {family!r}; known: {', '.join(DEEP_FAMILIES)}")
    return MODEL_CLASSES[family](seed=seed, params=params)
