"""Judge out-of-sample probabilities as a classifier, as a probability and as a trade.

A model can score well on one of these and badly on the others, and each
failure means something different downstream:

* **Classification** (accuracy, precision, recall, F1 at 0.5; ROC AUC): does
  it tell up from down? AUC is threshold-free and the one to compare models by.
* **Probability** (log loss, Brier, ECE/MCE with equal-width and equal-mass
  bins, from ``alphagate.models.calibration_metrics``): does 0.7 mean 70 %?
  Position sizing reads the number, so this matters as much as the ranking.
* **Ranking against returns**: the information coefficient, Spearman's rank
  correlation of ``p`` with the forward return. It rewards predicting *large*
  moves confidently, which accuracy ignores.
* **A deliberately simple trade**: long when ``p > 0.5``, short when
  ``p < 0.5``, flat at exactly 0.5; see ``strategy_returns``. It is a sanity
  check that the signal survives costs, not a backtest (no sizing, no fills).

Every number is a plain float; undefined ones (AUC with one class, Sharpe of a
constant series) are ``nan``, which ``to_json_dict`` turns into ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from alphagate.metrics import performance as metrics
from alphagate.models.calibration_metrics import (
    brier_score,
    expected_calibration_error,
    log_loss,
    max_calibration_error,
    validate_binary,
)

TimesLike: TypeAlias = pd.Series | pd.Index | list[pd.Timestamp] | npt.NDArray[Any]
"""Timestamps, one per sample: a Series, an Index, a list or an array."""

BPS = 1e-4
"""One basis point as a fraction."""


def strategy_returns(
    p: npt.ArrayLike,
    forward_return: npt.ArrayLike,
    t0: TimesLike,
    symbols: npt.ArrayLike,
    *,
    horizon: int,
    cost_bps: float = 10.0,
) -> pd.Series:
    """Per-period returns of the long/short-by-probability strategy, one per held period.

    Rules, in order:

    1. **Non-overlapping periods.** ``forward_return`` spans ``horizon`` bars,
       so trading on every bar would count each bar's move ``horizon`` times
       and overstate the Sharpe by about ``sqrt(horizon)``. Only every
       ``horizon``-th distinct timestamp (the first, the ``h+1``-th, ...) is
       traded; each position is held for exactly its label's horizon.
    2. **Position** per row: ``sign(p - 0.5)`` (+1, -1, or 0 at 0.5).
    3. **Gross return** per row: ``position * (exp(forward_return) - 1)``, the
       simple return of the log return the label was built from.
    4. **Cost** per row: ``cost_bps * |position - previous position|`` of the
       same symbol at the previous traded timestamp (0 before its first), so
       opening costs once and a flip from long to short costs twice.
    5. **Portfolio**: the equal-weight mean of the rows at each traded
       timestamp, i.e. capital split evenly across the symbols present.

    Returns
    -------
    pandas.Series
        Simple returns indexed by the traded timestamps, sorted.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    frame = pd.DataFrame(
        {
            "p": np.asarray(p, dtype=np.float64),
            "ret": np.asarray(forward_return, dtype=np.float64),
            "t0": pd.DatetimeIndex(t0),
            "symbol": np.asarray(symbols),
        }
    )
    times = np.sort(frame["t0"].unique())
    traded = frame.loc[frame["t0"].isin(times[::horizon])].sort_values(["symbol", "t0"])
    position = np.sign(traded["p"] - 0.5)
    previous = position.groupby(traded["symbol"]).shift(1, fill_value=0.0)
    cost = cost_bps * BPS * (position - previous).abs()
    net = position * np.expm1(traded["ret"]) - cost
    per_period: pd.Series = net.groupby(traded["t0"]).mean().sort_index()
    return per_period.rename("strategy_return")


def _spearman(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Spearman correlation, ``nan`` where either side is constant (no ranking to compare)."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def evaluate(
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    forward_return: npt.ArrayLike,
    t0: TimesLike,
    *,
    symbols: npt.ArrayLike | None = None,
    horizon: int = 1,
    cost_bps: float = 10.0,
    periods_per_year: float = 252,
) -> dict[str, float]:
    """Every out-of-sample number for one set of predictions, as plain floats.

    Parameters
    ----------
    p
        Predicted P(up) per sample, in ``[0, 1]``.
    y
        Outcomes, 0 or 1.
    forward_return
        The log return each label is the sign of.
    t0
        Each sample's timestamp.
    symbols
        Each sample's symbol (one symbol when ``None``); positions carry over
        between a symbol's traded timestamps only.
    horizon
        Bars each label spans; the strategy trades every ``horizon``-th
        timestamp and annualises with ``periods_per_year / horizon``.
    cost_bps
        Cost per unit of position change, in basis points.
    periods_per_year
        Bars per year (252 for daily equity bars).

    Returns
    -------
    dict[str, float]
        ``n``, ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``,
        ``log_loss``, ``brier``, ``ece_uniform``, ``ece_quantile``,
        ``mce_uniform``, ``mce_quantile``, ``ic``, ``strategy_periods``,
        ``strategy_total_return``, ``strategy_sharpe``,
        ``strategy_max_drawdown``. ``nan`` where undefined.
    """
    probs, labels = validate_binary(p, y)
    returns = np.asarray(forward_return, dtype=np.float64)
    if returns.shape != probs.shape or not np.isfinite(returns).all():
        raise ValueError("forward_return must be finite and as long as p")
    names = np.zeros(probs.size, dtype=np.int64) if symbols is None else np.asarray(symbols)
    predicted = (probs > 0.5).astype(np.int64)
    truth = labels.astype(np.int64)
    both = np.unique(truth).size == 2
    daily = strategy_returns(
        probs, returns, t0, names, horizon=horizon, cost_bps=cost_bps
    ).to_numpy()
    return {
        "n": float(probs.size),
        "accuracy": float(np.mean(predicted == truth)),
        "precision": float(precision_score(truth, predicted, zero_division=np.nan)),
        "recall": float(recall_score(truth, predicted, zero_division=np.nan)),
        "f1": float(f1_score(truth, predicted, zero_division=np.nan)),
        "roc_auc": float(roc_auc_score(truth, probs)) if both else math.nan,
        "log_loss": log_loss(probs, labels),
        "brier": brier_score(probs, labels),
        "ece_uniform": expected_calibration_error(probs, labels, strategy="uniform"),
        "ece_quantile": expected_calibration_error(probs, labels, strategy="quantile"),
        "mce_uniform": max_calibration_error(probs, labels, strategy="uniform"),
        "mce_quantile": max_calibration_error(probs, labels, strategy="quantile"),
        "ic": _spearman(probs, returns),
        "strategy_periods": float(daily.size),
        "strategy_total_return": metrics.total_return(daily),
        "strategy_sharpe": metrics.sharpe(daily, periods_per_year / horizon),
        "strategy_max_drawdown": metrics.max_drawdown(daily),
    }


def to_json_dict(values: Mapping[str, float]) -> dict[str, float | None]:
    """``values`` with ``nan`` and infinities as ``None``, because JSON has neither."""
    return {key: (float(v) if math.isfinite(v) else None) for key, v in values.items()}
