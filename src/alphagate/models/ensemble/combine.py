"""How an ensemble combines its members' P(up): regime, recent performance, disagreement.

The rule, for one symbol's row at bar ``t`` with member probabilities
``p_1..p_M``:

1. **Resolve.** The prediction made ``h`` rows earlier (at ``t - h``) is
   settled now: its outcome is the sign of ``log(close_t / close_{t-h})``,
   summed from the row's own ``log_ret_<lag>`` features (``lag`` divides
   ``h``), exactly the fixed-horizon label of ``t - h``. Each member's
   exponentially weighted log loss ``s_m`` absorbs that one loss:
   ``s_m <- (1 - a) * s_m + a * loss_m`` with ``a = 1 - 2 ** (-1 / half_life)``.
   ``s_m`` starts at the member's validation log loss from ``fit``, so the
   weights begin where the fit left them and drift with what is seen. Only
   predictions settled at or before ``t`` enter, so the weight at ``t``
   never depends on a later bar (the point-in-time rule).
2. **Regime.** The row's regime ``r`` (trending, ranging, high volatility;
   :class:`RegimeRule`) shifts each score by how much better or worse the
   member was in that regime than overall during validation:
   ``score_m = s_m + (L_m[r] - L_m)``. ``L_m[r]`` is shrunk toward ``L_m``
   by ``n_r / (n_r + shrinkage)``, so a regime seen on few rows barely moves
   the weights.
3. **Weights.** ``w = softmax(-score / temperature)``: a member whose recent
   log loss is one ``temperature`` (nats) worse weighs ``e`` times less.
4. **Disagreement.** ``mean = sum_m w_m p_m``; the members' (unweighted)
   standard deviation ``std`` is at most 0.5 for probabilities, so ``d = std / 0.5`` is
   in ``[0, 1]``. The ensemble says
   ``p = mean - (mean - 0.5) * penalty * d``, i.e.
   ``0.5 + (mean - 0.5) * (1 - penalty * d)``: pulled toward 0.5 in
   proportion to the disagreement, and exactly ``mean`` when members agree.

The same step function (:meth:`SymbolState.step`) runs in batch over a
panel and online bar by bar, so the two paths give identical numbers.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

REGIMES = ("trending", "ranging", "high_volatility")
"""Regime names; a row's regime is its position in this tuple."""
TRENDING, RANGING, HIGH_VOLATILITY = range(3)

ADX_TRENDING = 25.0
"""ADX at or above which a market counts as trending (Wilder's conventional threshold)."""
HMM_COLUMN = "regime_p_high_vol"
"""The HMM regime feature (``alphagate.features.regime``): P(high-volatility state)."""
VOLATILITY_QUANTILE = 0.8
"""Without the HMM feature, rows above this quantile of training volatility are high-volatility."""
LOSS_CLIP = 1e-15
"""Probabilities are clipped to ``[LOSS_CLIP, 1 - LOSS_CLIP]`` before a log loss."""


@dataclass(frozen=True)
class CombineSettings:
    """The knobs of the combination rule (see the module docstring).

    Attributes
    ----------
    half_life
        Resolved predictions after which a loss counts half as much.
    temperature
        Log-loss difference (nats) that makes one member ``e`` times lighter.
    disagreement_penalty
        ``penalty`` in ``[0, 1]``: 1 pulls a prediction all the way to 0.5
        when members are split 0/1.
    shrinkage
        Pseudo-rows pulling a regime's validation loss toward the overall one.
    """

    half_life: float = 20.0
    temperature: float = 0.05
    disagreement_penalty: float = 0.5
    shrinkage: float = 50.0

    def __post_init__(self) -> None:
        checks = {
            "half_life": self.half_life > 0,
            "temperature": self.temperature > 0,
            "disagreement_penalty": 0.0 <= self.disagreement_penalty <= 1.0,
            "shrinkage": self.shrinkage >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise ValueError(
                    f"ensemble {name} must be "
                    f"{'in [0, 1]' if name == 'disagreement_penalty' else 'positive'}, "
                    f"got {value!r}"
                )

    @property
    def decay(self) -> float:
        """``a``: the weight of the newest resolved loss."""
        return float(1.0 - 2.0 ** (-1.0 / self.half_life))


def _suffix(name: str, prefix: str) -> int | None:
    match = re.fullmatch(rf"{prefix}_(\d+)", name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class RegimeRule:
    """Which regime a feature row is in, from point-in-time features only.

    High volatility wins: ``regime_p_high_vol >= 0.5`` when the HMM feature is
    among the features, else the realised volatility column (window nearest
    20) above ``threshold``, its training quantile. Otherwise an ADX of at
    least 25 is trending, below it ranging. Without the columns a row is
    simply ranging, so every row shares the overall weights.
    """

    adx_column: str | None
    volatility_column: str | None
    threshold: float

    @classmethod
    def learn(cls, X: pd.DataFrame) -> RegimeRule:  # noqa: N803
        """Pick the columns of ``X`` and the volatility threshold from ``X`` (training rows)."""
        names = [str(c) for c in X.columns]
        adx = sorted((p, n) for n in names if (p := _suffix(n, "adx")) is not None)
        if HMM_COLUMN in names:
            return cls(adx[0][1] if adx else None, HMM_COLUMN, 0.5)
        rvol = sorted((abs(w - 20), n) for n in names if (w := _suffix(n, "rvol")) is not None)
        if not rvol:
            return cls(adx[0][1] if adx else None, None, math.inf)
        column = rvol[0][1]
        threshold = float(np.quantile(X[column].to_numpy(np.float64), VOLATILITY_QUANTILE))
        return cls(adx[0][1] if adx else None, column, threshold)

    def classify(self, X: pd.DataFrame) -> IntArray:  # noqa: N803
        """Per row, the index of its regime in ``REGIMES``."""
        regime = np.full(len(X), RANGING, dtype=np.int64)
        if self.adx_column is not None:
            regime[X[self.adx_column].to_numpy(np.float64) >= ADX_TRENDING] = TRENDING
        if self.volatility_column is not None:
            volatile = X[self.volatility_column].to_numpy(np.float64) >= self.threshold
            regime[volatile] = HIGH_VOLATILITY
        return regime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; an infinite threshold (no volatility column) is ``None``."""
        threshold = self.threshold if math.isfinite(self.threshold) else None
        columns = {"adx": self.adx_column, "volatility": self.volatility_column}
        return {**columns, "threshold": threshold}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> RegimeRule:
        """Inverse of :meth:`to_dict`."""
        threshold = body["threshold"]
        return cls(body["adx"], body["volatility"], math.inf if threshold is None else threshold)


def log_losses(p: FloatArray, outcome: npt.NDArray[np.bool_]) -> FloatArray:
    """Elementwise log loss of P(up) ``p`` against up/down outcomes (broadcasting)."""
    clipped = np.clip(p, LOSS_CLIP, 1.0 - LOSS_CLIP)
    result: FloatArray = -np.log(np.where(outcome, clipped, 1.0 - clipped))
    return result


@dataclass(frozen=True)
class Prior:
    """Members' validation log losses from ``fit``: overall ``(M,)`` and per regime ``(R, M)``."""

    overall: FloatArray
    by_regime: FloatArray
    rows_by_regime: tuple[int, ...]

    @classmethod
    def equal(cls, members: int) -> Prior:
        """No validation: every member at a coin's log loss, in every regime."""
        overall = np.full(members, math.log(2.0))
        return cls(overall, np.tile(overall, (len(REGIMES), 1)), (0,) * len(REGIMES))

    @classmethod
    def measure(
        cls, probabilities: FloatArray, y: IntArray, regimes: IntArray, shrinkage: float
    ) -> Prior:
        """Log losses of ``probabilities`` ``(n, M)`` against ``y``; per regime, shrunk."""
        losses = log_losses(probabilities, (y == 1)[:, None])
        overall: FloatArray = losses.mean(axis=0)
        by_regime = np.tile(overall, (len(REGIMES), 1))
        counts = []
        for r in range(len(REGIMES)):
            rows = regimes == r
            n = int(rows.sum())
            counts.append(n)
            if n:
                by_regime[r] = (losses[rows].sum(axis=0) + shrinkage * overall) / (n + shrinkage)
        return cls(overall, by_regime, tuple(counts))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready lists (floats survive JSON exactly)."""
        return {
            "overall": self.overall.tolist(),
            "by_regime": {name: self.by_regime[r].tolist() for r, name in enumerate(REGIMES)},
            "rows_by_regime": dict(zip(REGIMES, self.rows_by_regime, strict=True)),
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`."""
        by_regime = np.array([body["by_regime"][name] for name in REGIMES], dtype=np.float64)
        rows = tuple(int(body["rows_by_regime"][name]) for name in REGIMES)
        return cls(np.array(body["overall"], dtype=np.float64), by_regime, rows)


@dataclass(frozen=True)
class Outcome:
    """How predictions are settled from the features: ``h`` rows later, by ``log_ret_<lag>``.

    ``lag`` is ``None`` when no ``log_ret`` feature's lag divides ``h``: then
    nothing is ever resolved and the weights stay at the fit's (regime only).
    """

    horizon: int
    lag: int | None

    @property
    def column(self) -> str | None:
        """The feature column read, or ``None``."""
        return None if self.lag is None else f"log_ret_{self.lag}"

    @classmethod
    def for_features(cls, names: Sequence[str], horizon: int) -> Outcome:
        """The largest ``log_ret`` lag among ``names`` that divides ``horizon``."""
        lags = [lag for n in names if (lag := _suffix(n, "log_ret")) is not None]
        fitting = [lag for lag in lags if lag > 0 and horizon % lag == 0]
        return cls(horizon, max(fitting) if fitting else None)


@dataclass(frozen=True)
class Step:
    """One combined prediction and what made it."""

    p: float
    weights: FloatArray
    disagreement: float
    recent_loss: FloatArray


def combine(probabilities: FloatArray, weights: FloatArray, penalty: float) -> tuple[float, float]:
    """The penalised weighted mean of one row's member probabilities, and the disagreement.

    The disagreement is the members' plain (unweighted, population) standard
    deviation over its largest possible value, 0.5: members that disagree
    make the ensemble less sure even when one of them carries most of the
    weight. Both the mean and the spread are taken around the first member's
    probability, so members that agree give exactly that probability back
    and a disagreement of exactly 0, not values off by a rounding error.
    """
    first = float(probabilities[0])
    deviations = probabilities - first
    mean = first + float(np.dot(weights, deviations))
    spread = math.sqrt(float(np.mean((deviations - deviations.mean()) ** 2)))
    disagreement = min(1.0, spread / 0.5)
    return mean - (mean - 0.5) * penalty * disagreement, disagreement


class SymbolState:
    """One symbol's running combination: pending predictions, recent returns, recent losses."""

    def __init__(self, prior: Prior, outcome: Outcome, settings: CombineSettings) -> None:
        self._prior, self._outcome, self._settings = prior, outcome, settings
        self._loss = prior.overall.copy()
        self._pending: deque[FloatArray] = deque()
        self._returns: deque[float] = deque(maxlen=outcome.horizon)

    def step(self, probabilities: FloatArray, regime: int, log_return: float) -> Step:
        """Settle the prediction ``h`` rows back, then combine this row's ``probabilities``."""
        h, lag = self._outcome.horizon, self._outcome.lag
        self._returns.append(log_return)
        if len(self._pending) == h:
            made = self._pending.popleft()
            if lag is not None:
                settled = [self._returns[h - 1 - j * lag] for j in range(h // lag)]
                if all(math.isfinite(r) for r in settled):
                    up = np.array(math.fsum(settled) > 0.0)
                    a = self._settings.decay
                    self._loss = (1.0 - a) * self._loss + a * log_losses(made, up)
        score = self._loss + (self._prior.by_regime[regime] - self._prior.overall)
        exponent = -(score - score.min()) / self._settings.temperature
        weights = np.exp(exponent)
        weights /= weights.sum()
        p, disagreement = combine(probabilities, weights, self._settings.disagreement_penalty)
        self._pending.append(probabilities.copy())
        return Step(p, weights, disagreement, self._loss.copy())
