"""The per-bar series the decision path reads, point in time, kept up to date bar by bar.

A :class:`~alphagate.strategies.model.ModelStrategy` learns, for each symbol
at each bar close, calibrated P(up) per (model, horizon) column, e.g.
``lightgbm_h5``, from a :class:`~alphagate.ports.Predictor`. Before it can
decide it needs, at every bar, a few series derived from those probabilities
and the bars:

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

The prediction series are advanced one bar at a time by a :class:`SignalTape`,
because predictions arrive one bar at a time; the bar series
(:func:`bar_signals`) need no prediction and are computed over a whole
history at once. Every series at bar ``i`` reads bars and predictions up to
``i`` only (trailing windows, a recursive ATR from the first bar, an IC over
resolved pairs); the tests prove it with
:func:`alphagate.features.assert_point_in_time` on :func:`signal_frame`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from alphagate.decision.confidence import RankWindow
from alphagate.decision.settings import DecisionSettings
from alphagate.decision.window_stats import finite_mean_std
from alphagate.domain.strategy import FloatArray, SymbolHistory

TURNING_POINT_COLUMNS = ("p_peak", "p_valley")
SERIES_KINDS = ("p", "age", "score", "ic", "stability")
"""The series of one prediction column, in the order :attr:`SignalTape.names` lists them."""
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


def bar_signals(history: SymbolHistory, settings: DecisionSettings) -> dict[str, FloatArray]:
    """``sigma``, ``atr`` and ``adv`` over one symbol's bars: they read no prediction.

    These are computed over a whole history at once (a strategy declares them
    as indicators), because they need nothing but the bars.
    """
    high, low, volume = history.high, history.low, history.volume
    close = np.asarray(history.close, dtype=np.float64)
    log_close = pd.Series(np.log(close))
    return {
        "sigma": log_close.diff().rolling(settings.size.vol_window).std(ddof=1).to_numpy(),
        "atr": np.asarray(
            talib.ATR(
                np.array(high, dtype=np.float64),
                np.array(low, dtype=np.float64),
                np.array(close, dtype=np.float64),
                timeperiod=settings.protect.atr_window,
            ),
            dtype=np.float64,
        ),
        "adv": (
            pd.Series(np.asarray(volume, dtype=np.float64))
            .rolling(settings.adv_window)
            .mean()
            .to_numpy(dtype=np.float64)
        ),
    }


class _Series:
    """A float64 series that grows by one value a bar; its latest values are a view.

    The tape reads a trailing window of several series at every bar; slicing
    one buffer is far cheaper than copying a list's tail into a new array.
    Values once appended never move within a buffer (a full buffer is copied
    into a larger one), so a view handed out keeps its values.
    """

    def __init__(self) -> None:
        self._values = np.empty(256, dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, row: int) -> float:
        """The value at ``row``; a negative row counts back from the latest, as for a list."""
        return float(self._values[row + self._size if row < 0 else row])

    def append(self, value: float) -> None:
        if self._size == self._values.size:
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self._values[self._size] = value
        self._size += 1

    def tail(self, count: int) -> FloatArray:
        """The last ``count`` values, oldest first, read-only."""
        view = self._values[max(0, self._size - count) : self._size]
        view.flags.writeable = False
        return view


class _ColumnTape:
    """One prediction column's series so far, and the window of pairs whose outcome is known."""

    def __init__(self, column: ModelColumn, ic_window: int) -> None:
        self.column = column
        self.names = tuple(f"{kind}:{column.name}" for kind in SERIES_KINDS)
        self.raw = _Series()
        self.score = _Series()  # the standardised signal, NaN where no prediction
        self.filled_score = _Series()
        self.ic = _Series()
        self.pairs = RankWindow(ic_window)  # the latest resolved (score, outcome) pairs
        self.last_row = -1  # the latest row with a prediction


class SignalTape:
    """One symbol's prediction series, advanced one bar at a time as predictions arrive.

    A live strategy learns each prediction at its bar's close, so the series
    the decision path reads (module docstring) are kept up to date bar by bar:
    :meth:`record` takes the bar's close and predictions and returns every
    series' value at that bar. A bar costs O(window), whatever the length of
    the history. The arithmetic is the decision units' own
    (:func:`~alphagate.decision.standardise.rolling_zscore`,
    :func:`~alphagate.decision.confidence.rolling_ic`,
    :func:`~alphagate.decision.confidence.stability`) on the trailing window,
    so the values agree with them to rounding; the tests hold them to 1e-12.
    """

    def __init__(self, columns: Sequence[str], settings: DecisionSettings) -> None:
        self._settings = settings
        window = settings.confidence.ic_window
        self._models = {c.name: _ColumnTape(c, window) for c in model_columns(columns)}
        self._turning = {c: math.nan for c in TURNING_POINT_COLUMNS if c in columns}
        self._close: list[float] = []

    def __len__(self) -> int:
        return len(self._close)

    @property
    def names(self) -> tuple[str, ...]:
        """The series :meth:`record` returns, in its order."""
        return (*(n for tape in self._models.values() for n in tape.names), *self._turning)

    def record(self, close: float, predictions: Mapping[str, float]) -> dict[str, float]:
        """Add one bar (its close, P(up) per column; a missing column is NaN); its values."""
        self._close.append(float(close))
        row = len(self._close) - 1
        out: dict[str, float] = {}
        for name, tape in self._models.items():
            out.update(self._advance(tape, row, float(predictions.get(name, math.nan))))
        for name in self._turning:
            value = float(predictions.get(name, math.nan))
            if math.isfinite(value):
                self._turning[name] = value
            out[name] = self._turning[name]
        return out

    def recent_scores(self, column: str, count: int) -> FloatArray:
        """The last ``count`` carried-forward scores of ``column``, oldest first."""
        return self._models[column].filled_score.tail(count)

    def _advance(self, tape: _ColumnTape, row: int, p: float) -> dict[str, float]:
        horizon = tape.column.horizon
        conf = self._settings.confidence
        tape.raw.append(p)
        score = self._standardised(tape.raw, p)
        tape.score.append(score)
        if math.isfinite(p):
            tape.last_row = row
        if math.isfinite(score):
            tape.filled_score.append(score)
        else:
            tape.filled_score.append(tape.filled_score[-1] if tape.filled_score else math.nan)
        made = row - horizon  # the prediction whose outcome this close reveals
        if made >= 0:
            realised = math.log(self._close[row] / self._close[made])
            if math.isfinite(tape.score[made]) and math.isfinite(realised):
                tape.pairs.add(tape.score[made], realised)
        ic = tape.pairs.ic() if len(tape.pairs) >= conf.ic_min_periods else math.nan
        tape.ic.append(ic)
        count, _, spread = finite_mean_std(tape.ic.tail(conf.stability_window))
        if count < conf.stability_min_periods:
            spread = math.nan
        last = tape.last_row
        p_name, age_name, score_name, ic_name, stability_name = tape.names
        return {
            p_name: tape.raw[last] if last >= 0 else math.nan,
            age_name: float(row - last) if last >= 0 else math.nan,
            score_name: tape.filled_score[-1],
            ic_name: ic,
            stability_name: 1.0 / (1.0 + spread),
        }

    def _standardised(self, raw: _Series, p: float) -> float:
        step = self._settings.standardise
        if not step.enabled:
            return 2.0 * p - 1.0
        if not math.isfinite(p):
            return math.nan
        count, mean, sigma = finite_mean_std(raw.tail(step.window))
        if count < step.min_periods:
            return math.nan
        if sigma == 0.0:
            return 0.0
        z = (p - mean) / sigma
        return min(max(z, -step.z_max), step.z_max)


def symbol_signals(
    history: SymbolHistory, predictions: Mapping[str, FloatArray], settings: DecisionSettings
) -> dict[str, FloatArray]:
    """Every series of the module docstring for one symbol, aligned with its bars.

    The prediction series come from a :class:`SignalTape` advanced over the
    bars, exactly as a strategy advances it live, so this whole-history form
    (the one the point-in-time checker reads) and the live one cannot differ.

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
    close = np.asarray(history.close, dtype=np.float64)
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in predictions.items()}
    tape = SignalTape(list(columns), settings)
    rows = [
        tape.record(c, {name: float(v[i]) for name, v in columns.items()})
        for i, c in enumerate(close)
    ]
    out = {name: np.array([r[name] for r in rows], dtype=np.float64) for name in tape.names}
    out.update(bar_signals(history, settings))
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
