"""Map a model's scores to probabilities that mean what they say, fitted out of fold only.

Classifiers trained on market data are rarely calibrated: boosted trees push
scores towards 0 and 1, regularised linear models pull them towards the base
rate. Position sizing and the probability gates read the number as a
probability, so a monotone map from score to observed frequency is fitted and
saved with the model. Three maps, from most to least flexible:

- ``IsotonicCalibrator``: any non-decreasing step-and-ramp function. Fixes any
  shape of miscalibration but needs many rows, and is flat between thresholds.
- ``PlattCalibrator`` (``"sigmoid"``): ``sigmoid(a * logit(p) + b)``. Two
  parameters; corrects over- or under-confidence (``a``) and a shifted base
  rate (``b``).
- ``TemperatureCalibrator``: ``sigmoid(logit(p) / T)``. One parameter; only
  sharpens or softens, so it cannot move a prediction of 0.5, and it is the
  hardest to overfit.

Every map is non-decreasing in ``p``: calibration may change what a score
*means*, never how two rows *rank*. A map that reversed the ranking would be a
second model trained on the calibration rows, which is not what those rows
are for. Platt's slope is therefore bounded at ``a >= 0`` and the temperature
at ``T > 0``.

**Out of fold only.** A calibrator must be fitted on predictions the model made
for rows it was not trained on (``fit_out_of_fold``). In-sample predictions are
systematically sharper and more often right than predictions on new data, since
the model has seen those labels; a calibrator fitted on them learns that
confident scores come true and leaves the model's overconfidence in place (or,
for isotonic, memorises the training labels). Out-of-fold predictions from the
purged k-fold are the model's behaviour on unseen rows, the same situation as
the test period and live trading.

Fitted parameters are saved as plain JSON (``to_dict``), and ``transform`` is
computed from exactly those numbers, so a reloaded calibrator gives
bit-identical outputs: a backtest and the live engine see the same probability.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Protocol, Self, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, logit

from alphagate.models.calibration_metrics import validate_binary

CalibratorKind = Literal["isotonic", "sigmoid", "temperature"]
CLIP_EPS = 1e-6
"""Calibrated probabilities are clipped to ``[CLIP_EPS, 1 - CLIP_EPS]``: a calibrator fitted on
finitely many rows has no evidence for certainty, and a 0 or 1 would make a log loss infinite
and a Kelly-style size unbounded downstream."""
LOGIT_EPS = 1e-15
"""Inputs are clipped to ``[LOGIT_EPS, 1 - LOGIT_EPS]`` before taking their logit, so a model
that outputs exactly 0 or 1 gives a large finite score instead of an infinite one."""
MIN_CALIBRATION_ROWS = 50
"""Fewest out-of-fold rows ``fit_out_of_fold`` accepts. Below this even a two-parameter map is
mostly noise, and an isotonic map is a copy of the labels."""
_FORMAT_VERSION = 1


class Calibrator(Protocol):
    """A fitted, monotone map from a model's probability to a calibrated one."""

    @property
    def name(self) -> str:
        """The kind, as ``make_calibrator`` and the ``kind`` key of ``to_dict`` spell it."""
        ...

    def fit(self, p: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit on predictions ``p`` in ``[0, 1]`` and outcomes ``y`` in ``{0, 1}``; return self."""
        ...

    def transform(self, p: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities in ``[CLIP_EPS, 1 - CLIP_EPS]``; NaN stays NaN."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters as JSON-safe values, with ``kind`` and ``version``."""
        ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a fitted calibrator from ``to_dict`` output."""
        ...


def _check_fit_input(
    p: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Probabilities and labels for a fit: valid, and with both classes present.

    With one class there is nothing to calibrate against: isotonic would map
    everything to that class, and the sigmoid fits would run their
    parameters off to infinity.
    """
    probs, labels = validate_binary(p, y)
    positives = int(labels.sum())
    if positives in (0, len(labels)):
        raise ValueError(
            f"cannot calibrate on a single class: all {len(labels)} labels are "
            f"{int(labels[0])}; both outcomes must occur"
        )
    return probs, labels


def _check_transform_input(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Predictions to transform: NaN is allowed (passed through), anything else in ``[0, 1]``.

    NaN passes through so an out-of-fold series, NaN where no fold predicted,
    keeps its shape when calibrated; an infinity or a value outside ``[0, 1]``
    is a bug upstream and raises.
    """
    probs = np.asarray(p, dtype=np.float64)
    if probs.ndim != 1:
        raise ValueError(f"predictions must be one-dimensional, got shape {probs.shape}")
    present = probs[~np.isnan(probs)]
    if present.size and (not np.isfinite(present).all() or present.min() < 0 or present.max() > 1):
        raise ValueError(
            f"predictions must lie in [0, 1] (or be NaN), got values from {present.min()!r} "
            f"to {present.max()!r}"
        )
    return probs


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(logit(np.clip(p, LOGIT_EPS, 1.0 - LOGIT_EPS)), dtype=np.float64)


def _finish(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.clip(values, CLIP_EPS, 1.0 - CLIP_EPS)


def _check_dict(data: dict[str, Any], kind: str, keys: set[str]) -> None:
    """Refuse a dict of another kind, version or shape, naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a dict for a {kind} calibrator, got {type(data).__name__}")
    expected = keys | {"kind", "version"}
    if data.get("kind") != kind:
        raise ValueError(f"expected kind {kind!r}, got {data.get('kind')!r}")
    if data.get("version") != _FORMAT_VERSION:
        raise ValueError(
            f"unsupported {kind} calibrator version {data.get('version')!r}; "
            f"this build reads version {_FORMAT_VERSION}"
        )
    if set(data) != expected:
        raise ValueError(
            f"{kind} calibrator dict must have keys {sorted(expected)}, got {sorted(data)}"
        )


def _finite_float(value: object, what: str) -> float:
    number = float(cast(float, value))
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {number!r}")
    return number


class IsotonicCalibrator:
    """Non-decreasing piecewise-linear map fitted by isotonic regression.

    sklearn's ``IsotonicRegression`` (``out_of_bounds="clip"``) does the fit;
    only its thresholds ``X_thresholds_``/``y_thresholds_`` are kept, and
    ``transform`` interpolates them with ``np.interp``. Interpolating from the
    stored thresholds, before and after a JSON round trip alike, is what
    makes a reloaded calibrator bit-identical; below the first or above the
    last threshold the value is held constant, as sklearn's clip does.
    """

    name: ClassVar[str] = "isotonic"

    def __init__(self) -> None:
        self._x: npt.NDArray[np.float64] | None = None
        self._y: npt.NDArray[np.float64] | None = None

    def fit(self, p: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit the isotonic regression of ``y`` on ``p`` and keep its thresholds."""
        from sklearn.isotonic import IsotonicRegression

        probs, labels = _check_fit_input(p, y)
        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        model.fit(probs, labels)
        self._x = np.asarray(model.X_thresholds_, dtype=np.float64)
        self._y = np.asarray(model.y_thresholds_, dtype=np.float64)
        return self

    @property
    def thresholds(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The fitted ``(x, y)`` thresholds: ``x`` strictly increasing, ``y`` non-decreasing."""
        if self._x is None or self._y is None:
            raise RuntimeError("isotonic calibrator is not fitted; call fit() first")
        return self._x.copy(), self._y.copy()

    def transform(self, p: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Interpolate the thresholds at ``p``, clipped to ``[CLIP_EPS, 1 - CLIP_EPS]``."""
        xs, ys = self.thresholds
        probs = _check_transform_input(p)
        values = np.interp(probs, xs, ys)
        if len(xs) > 1:
            # np.interp computes y[j] + slope * (p - x[j]); rounding can carry a value just
            # below x[j + 1] one ulp past y[j + 1], breaking monotonicity at the joint.
            # Holding each value inside its segment's [y[j], y[j + 1]] removes that.
            seg = np.clip(np.searchsorted(xs, probs, side="right") - 1, 0, len(xs) - 2)
            values = np.clip(values, ys[seg], ys[seg + 1])
        return _finish(np.where(np.isnan(probs), np.nan, values))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "version", "x_thresholds", "y_thresholds"}`` with plain float lists."""
        xs, ys = self.thresholds
        return {
            "kind": self.name,
            "version": _FORMAT_VERSION,
            "x_thresholds": [float(v) for v in xs],
            "y_thresholds": [float(v) for v in ys],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict`` output; thresholds must be finite, ordered and equally long."""
        _check_dict(data, cls.name, {"x_thresholds", "y_thresholds"})
        xs = np.asarray(data["x_thresholds"], dtype=np.float64)
        ys = np.asarray(data["y_thresholds"], dtype=np.float64)
        if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0:
            raise ValueError("isotonic thresholds must be two non-empty lists of equal length")
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise ValueError("isotonic thresholds must be finite")
        if (np.diff(xs) <= 0).any() or (np.diff(ys) < 0).any():
            raise ValueError("isotonic thresholds must increase in x and not decrease in y")
        calibrator = cls()
        calibrator._x, calibrator._y = xs, ys
        return calibrator


class PlattCalibrator:
    """Platt scaling on the logit: ``sigmoid(a * logit(p) + b)`` with ``a >= 0``.

    Fitted by minimising the mean log loss over ``(a, b)`` (L-BFGS-B with the
    analytic gradient; the loss is convex, so the minimum is the global one).
    Targets are Platt's smoothed ones, ``(N+ + 1) / (N+ + 2)`` for positives
    and ``1 / (N- + 2)`` for negatives: when the scores separate the classes
    perfectly the plain maximum-likelihood slope is infinite, and the
    smoothing keeps it finite at a cost of order ``1 / N`` elsewhere.
    """

    name: ClassVar[str] = "sigmoid"

    def __init__(self) -> None:
        self._a: float | None = None
        self._b: float | None = None

    def fit(self, p: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit slope ``a`` and intercept ``b`` on ``logit(p)``."""
        probs, labels = _check_fit_input(p, y)
        scores = _logit(probs)
        positives = float(labels.sum())
        negatives = float(len(labels)) - positives
        targets = np.where(
            labels == 1.0, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0)
        )
        n = float(len(labels))

        def loss(params: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
            s = params[0] * scores + params[1]
            value = float(np.sum(np.logaddexp(0.0, s) - targets * s)) / n
            residual = expit(s) - targets
            return value, np.array([float(residual @ scores) / n, float(residual.sum()) / n])

        result = minimize(
            loss,
            x0=np.array([1.0, 0.0]),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None), (None, None)],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
        )
        a, b = (float(v) for v in result.x)
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"Platt fit did not converge: {result.message}")
        self._a, self._b = a, b
        return self

    @property
    def params(self) -> tuple[float, float]:
        """The fitted ``(a, b)``: slope on the logit and intercept."""
        if self._a is None or self._b is None:
            raise RuntimeError("sigmoid calibrator is not fitted; call fit() first")
        return self._a, self._b

    def transform(self, p: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``sigmoid(a * logit(p) + b)``, clipped to ``[CLIP_EPS, 1 - CLIP_EPS]``."""
        a, b = self.params
        probs = _check_transform_input(p)
        return _finish(np.asarray(expit(a * _logit(probs) + b), dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "version", "a", "b"}``."""
        a, b = self.params
        return {"kind": self.name, "version": _FORMAT_VERSION, "a": a, "b": b}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict`` output; ``a`` must be finite and non-negative."""
        _check_dict(data, cls.name, {"a", "b"})
        a = _finite_float(data["a"], "Platt slope a")
        b = _finite_float(data["b"], "Platt intercept b")
        if a < 0:
            raise ValueError(f"Platt slope a must be >= 0 (a monotone map), got {a!r}")
        calibrator = cls()
        calibrator._a, calibrator._b = a, b
        return calibrator


class TemperatureCalibrator:
    """Temperature scaling: ``sigmoid(logit(p) / T)`` with one ``T > 0``.

    ``T > 1`` softens an overconfident model, ``T < 1`` sharpens an
    underconfident one. ``T`` is found by bounded scalar minimisation of the
    log loss over ``log T`` in ``[log T_MIN, log T_MAX]``; the loss is convex
    in ``1 / T``, hence unimodal in ``log T``, so the bounded search finds the
    global minimum. A model with no signal (or a reversed one) ends at the
    upper bound, i.e. predictions all close to 0.5.
    """

    name: ClassVar[str] = "temperature"
    T_MIN: ClassVar[float] = 1e-2
    T_MAX: ClassVar[float] = 1e2

    def __init__(self) -> None:
        self._t: float | None = None

    def fit(self, p: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit ``T`` by minimising the mean log loss of ``sigmoid(logit(p) / T)``."""
        probs, labels = _check_fit_input(p, y)
        scores = _logit(probs)

        def loss(log_t: float) -> float:
            s = scores / math.exp(log_t)
            return float(np.mean(np.logaddexp(0.0, s) - labels * s))

        result = minimize_scalar(
            loss,
            bounds=(math.log(self.T_MIN), math.log(self.T_MAX)),
            method="bounded",
            options={"xatol": 1e-10, "maxiter": 500},
        )
        self._t = float(math.exp(float(result.x)))
        return self

    @property
    def temperature(self) -> float:
        """The fitted ``T``."""
        if self._t is None:
            raise RuntimeError("temperature calibrator is not fitted; call fit() first")
        return self._t

    def transform(self, p: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``sigmoid(logit(p) / T)``, clipped to ``[CLIP_EPS, 1 - CLIP_EPS]``."""
        t = self.temperature
        probs = _check_transform_input(p)
        return _finish(np.asarray(expit(_logit(probs) / t), dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "version", "temperature"}``."""
        return {"kind": self.name, "version": _FORMAT_VERSION, "temperature": self.temperature}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict`` output; the temperature must be finite and positive."""
        _check_dict(data, cls.name, {"temperature"})
        t = _finite_float(data["temperature"], "temperature")
        if t <= 0:
            raise ValueError(f"temperature must be > 0, got {t!r}")
        calibrator = cls()
        calibrator._t = t
        return calibrator


_KINDS: dict[str, type[IsotonicCalibrator | PlattCalibrator | TemperatureCalibrator]] = {
    "isotonic": IsotonicCalibrator,
    "sigmoid": PlattCalibrator,
    "temperature": TemperatureCalibrator,
}


def make_calibrator(kind: CalibratorKind) -> Calibrator:
    """A new, unfitted calibrator of ``kind`` (``"isotonic"``, ``"sigmoid"``, ``"temperature"``)."""
    try:
        return _KINDS[kind]()
    except KeyError:
        raise ValueError(
            f"unknown calibrator kind {kind!r}; expected one of {sorted(_KINDS)}"
        ) from None


def calibrator_from_dict(data: dict[str, Any]) -> Calibrator:
    """Rebuild any calibrator from its ``to_dict`` output, dispatching on ``kind``."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise ValueError(f"unknown calibrator kind {kind!r}; expected one of {sorted(_KINDS)}")
    return _KINDS[str(kind)].from_dict(data)


def fit_out_of_fold(kind: CalibratorKind, oof_p: pd.Series, y: pd.Series) -> Calibrator:
    """Fit a calibrator on out-of-fold predictions only, and refuse when they are too few.

    Parameters
    ----------
    kind
        Which calibrator (see ``make_calibrator``).
    oof_p
        Out-of-fold predicted probabilities, NaN on rows no fold predicted
        (the purge and embargo zones, the first walk-forward window). Never
        pass in-sample predictions: see the module docstring for why a
        calibrator fitted on them corrects nothing.
    y
        Outcomes, 0 or 1, on the same index as ``oof_p``.

    Returns
    -------
    Calibrator
        Fitted on the rows where both the prediction and the label exist, and
        on nothing else: rows with a NaN prediction, whatever their label, do
        not touch the fit, and nothing beyond the given rows is read.

    Raises
    ------
    ValueError
        The indexes differ (aligning them silently could pair a prediction
        with another row's label), fewer than ``MIN_CALIBRATION_ROWS`` rows
        have a prediction and a label, or only one class occurs among them.
    """
    if not oof_p.index.equals(y.index):
        raise ValueError(
            "oof_p and y must share the same index, in the same order; "
            f"got {len(oof_p)} and {len(y)} rows with different labels"
        )
    probs = oof_p.to_numpy(dtype=np.float64, na_value=np.nan)
    labels = y.to_numpy(dtype=np.float64, na_value=np.nan)
    usable = ~np.isnan(probs) & ~np.isnan(labels)
    n = int(usable.sum())
    if n < MIN_CALIBRATION_ROWS:
        raise ValueError(
            f"too few out-of-fold rows to calibrate: {n} of {len(probs)} rows have both an "
            f"out-of-fold prediction and a label, at least {MIN_CALIBRATION_ROWS} are needed"
        )
    kept = labels[usable]
    positives = int((kept == 1.0).sum())
    if positives in (0, n) and bool(np.isin(kept, (0.0, 1.0)).all()):
        raise ValueError(
            f"cannot calibrate on a single class: all {n} out-of-fold rows have label "
            f"{int(kept[0])}; both outcomes must occur"
        )
    return make_calibrator(kind).fit(probs[usable], kept)
