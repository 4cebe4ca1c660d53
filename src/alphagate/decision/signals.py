"""The per-bar series the decision path reads, computed once per symbol and point in time.

A :class:`~alphagate.strategies.model.ModelStrategy` receives, for each
symbol, calibrated P(up) per (model, horizon) column, e.g. ``lightgbm_h5``.
Before it can decide it needs, at every bar, a few series derived from those
probabilities and the bars:

``p:<col>``, ``age:<col>``
    the latest prediction made at or before the bar, and its age in bars;
``score:<col>``
    the standardised signal (``decision.standardise.rolling_zscore``), or
    the edge ``2p - 1`` when standardising is switched off;
``ic:<col>``, ``stability:<col>``
    the rolling Spearman IC of the score against *realised* outcomes
    (``decision.confidence.rolling_ic``; the outcome of a prediction at bar
    ``i`` for ``h`` bars is ``log(close[i+h]/close[i])``, known only at bar
    ``i+h``), and ``1/(1 + std)`` of that IC;
``sigma``, ``atr``, ``adv``
    per-bar log-return volatility, Wilder's average true range (TA-Lib) and
    average volume;
``p_peak``, ``p_valley``
    turning-point probabilities, only when the predictions carry them.

Every series at bar ``i`` reads bars and predictions up to ``i`` only (rolling
windows, a recursive ATR from the first bar, an IC over resolved pairs), so
computing them on the whole history and reading row ``i`` is the same as
computing them live at ``i``; the tests prove it with
:func:`alphagate.features.assert_point_in_time`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from alphagate.decision.confidence import rolling_ic, stability
from alphagate.decision.settings import DecisionSettings
from alphagate.decision.standardise import rolling_zscore
from alphagate.domain.strategy import FloatArray, SymbolHistory

TURNING_POINT_COLUMNS = ("p_peak", "p_valley")
_COLUMN = re.compile(r"^(?P<model>.+)_h(?P<horizon>[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class ModelColumn:
    """One prediction column: its name (``<model>_h<horizon>``) and horizon in bars."""

    name: str
    horizon: int


def model_columns(columns: Sequence[str]) -> tuple[ModelColumn, ...]:
    """Parse prediction columns; ``p_peak``/``p_valley`` are gate inputs, not models.

    Raises
    ------
    ValueError
        For a column that names no horizon, or when no model column is left.
    """
    found: list[ModelColumn] = []
    for name in columns:
        if name in TURNING_POINT_COLUMNS:
            continue
        match = _COLUMN.match(str(name))
        if match is None:
            raise ValueError(
                f"prediction column {name!r} must be named <model>_h<horizon>, e.g. lightgbm_h5"
            )
        found.append(ModelColumn(str(name), int(match["horizon"])))
    if not found:
        raise ValueError("predictions need at least one <model>_h<horizon> column")
    return tuple(found)


def _forward_filled(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The last finite value at or before each row, and how many rows old it is (NaN: none)."""
    rows = np.arange(len(values), dtype=np.float64)
    last = np.where(np.isfinite(values), rows, np.nan)
    last = pd.Series(last).ffill().to_numpy(dtype=np.float64)
    taken = np.where(np.isfinite(last), last, 0).astype(np.int64)
    filled = np.where(np.isfinite(last), values[taken], np.nan)
    return filled, rows - last


def _score(p: FloatArray, index: pd.DatetimeIndex, settings: DecisionSettings) -> FloatArray:
    step = settings.standardise
    if not step.enabled:
        return 2.0 * p - 1.0
    z = rolling_zscore(
        pd.Series(p, index=index), step.window, z_max=step.z_max, min_periods=step.min_periods
    )
    return z.to_numpy(dtype=np.float64)


def _realised(
    close: FloatArray, index: pd.DatetimeIndex, horizon: int
) -> tuple[FloatArray, pd.Series]:
    """``log(close[i+h]/close[i])`` and the instant it is known, ``ts[i+h]`` (NaT past the end)."""
    n = len(close)
    realised = np.full(n, np.nan)
    known = pd.Series(pd.NaT, index=index, dtype=index.dtype)
    if n > horizon:
        realised[: n - horizon] = np.log(close[horizon:] / close[: n - horizon])
        known.iloc[: n - horizon] = index[horizon:]
    return realised, known


def symbol_signals(
    history: SymbolHistory, predictions: Mapping[str, FloatArray], settings: DecisionSettings
) -> dict[str, FloatArray]:
    """Every series of the module docstring for one symbol, aligned with its bars.

    Parameters
    ----------
    history
        The symbol's bars (``ts`` as int64 nanoseconds, UTC, ascending).
    predictions
        Per prediction column, P(up) aligned with the bars (NaN where none was made).
    settings
        Windows and switches (standardise and confidence sections, ``size.vol_window``,
        ``protect.atr_window``, ``adv_window``).
    """
    ts, high, low, volume = history.ts, history.high, history.low, history.volume
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts, dtype=np.int64), utc=True))
    close = np.asarray(history.close, dtype=np.float64)
    out: dict[str, FloatArray] = {}
    conf = settings.confidence
    for column in model_columns(list(predictions)):
        raw = np.asarray(predictions[column.name], dtype=np.float64)
        score = _score(raw, index, settings)
        realised, known = _realised(close, index, column.horizon)
        ic = rolling_ic(
            pd.Series(score, index=index),
            pd.Series(realised, index=index),
            known,
            conf.ic_window,
            min_periods=conf.ic_min_periods,
        )
        steady = stability(ic, conf.stability_window, min_periods=conf.stability_min_periods)
        out[f"p:{column.name}"], out[f"age:{column.name}"] = _forward_filled(raw)
        out[f"score:{column.name}"] = _forward_filled(score)[0]
        out[f"ic:{column.name}"] = ic.to_numpy(dtype=np.float64)
        out[f"stability:{column.name}"] = steady.to_numpy(dtype=np.float64)
    for name in TURNING_POINT_COLUMNS:
        if name in predictions:
            out[name] = _forward_filled(np.asarray(predictions[name], dtype=np.float64))[0]
    log_close = pd.Series(np.log(close))
    out["sigma"] = log_close.diff().rolling(settings.size.vol_window).std(ddof=1).to_numpy()
    out["atr"] = np.asarray(
        talib.ATR(
            np.array(high, dtype=np.float64),
            np.array(low, dtype=np.float64),
            np.array(close, dtype=np.float64),
            timeperiod=settings.protect.atr_window,
        ),
        dtype=np.float64,
    )
    out["adv"] = (
        pd.Series(np.asarray(volume, dtype=np.float64))
        .rolling(settings.adv_window)
        .mean()
        .to_numpy(dtype=np.float64)
    )
    return out


def signal_frame(
    bars: pd.DataFrame, predictions: pd.DataFrame, settings: DecisionSettings
) -> pd.DataFrame:
    """:func:`symbol_signals` for every symbol of a bars frame, on the bars' ``(symbol, ts)`` index.

    ``predictions`` is indexed by ``(symbol, ts)`` too; bars without a
    prediction row get NaN. This is the form the point-in-time checker reads.
    """
    aligned = predictions.reindex(bars.index)
    parts = []
    for symbol in bars.index.unique("symbol"):
        rows = bars.xs(symbol, level="symbol")
        mine = aligned.xs(symbol, level="symbol")
        history = SymbolHistory(
            pd.DatetimeIndex(rows.index).as_unit("ns").asi8,
            *(rows[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")),
        )
        predicted = {str(c): mine[c].to_numpy(np.float64) for c in mine.columns}
        series = symbol_signals(history, predicted, settings)
        index = pd.MultiIndex.from_product([[symbol], rows.index], names=["symbol", "ts"])
        parts.append(pd.DataFrame(series, index=index))
    return pd.concat(parts).reindex(bars.index)
