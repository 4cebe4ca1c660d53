"""What every scenario family shares: the spec and scenario types, fit windows and bar shapes.

A family turns a history into a stressed panel. Working on prices directly
would make every family re-solve the same problem, keeping ``low <= open,
close <= high``. Instead a bar is split into its *shape* relative to the bar
before it (the gap from the previous close to the open, the body from open
to close, the upper and lower wicks beyond them, and the volume). Any shape
with non-negative wicks rebuilds into a consistent OHLC bar, so families edit
shapes (scale a body, add a gap, lengthen a wick) and never check OHLC again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alphagate.domain.bars import BAR_COLUMNS, check_bars_frame
from alphagate.errors import AlphagateError

ParamValue = float | int | str
"""A scenario parameter: plain JSON values, so a spec is stored and read back as is."""

FloatArray = np.ndarray[tuple[int, ...], np.dtype[np.float64]]


class ScenarioError(AlphagateError):
    """A scenario cannot be built from this spec and history."""


class FitWindowError(ScenarioError):
    """A generator that fits was handed bars after the candidate's training end."""


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything that reproduces a scenario: its name, family, seed and parameters.

    ``build(spec, history, train_end=...)`` is a pure function of these and the
    history, so a spec stored in a summary rebuilds the same bars bit for bit.
    """

    name: str
    family: str
    seed: int
    params: Mapping[str, ParamValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A built scenario: the stressed bars and the execution changes the runner applies.

    ``bars`` has the history's index (same symbols, same timestamps), consistent
    OHLC and positive volume. ``spread_bps`` is the full spread per bar when
    the family changes spreads, else ``None``. ``execution`` holds multipliers
    (``commission``, ``slippage``) and ``latency_bars``; empty when unchanged.
    ``strategy_params`` holds multipliers per parameter name for jitter, else
    ``None``. ``note`` says why a family left the history unchanged, if it did.
    """

    spec: ScenarioSpec
    bars: pd.DataFrame
    spread_bps: pd.Series | None = None
    execution: Mapping[str, float] = field(default_factory=dict)
    strategy_params: Mapping[str, float] | None = None
    note: str = ""


def number(spec: ScenarioSpec, key: str) -> float:
    """The numeric parameter ``key`` of ``spec``, or an error that names what is missing."""
    value = spec.params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(
            f"scenario {spec.name!r} ({spec.family}) needs a numeric parameter {key!r}, "
            f"got {value!r}; rebuild the spec with default_library or add {key!r} to its params"
        )
    return float(value)


def text(spec: ScenarioSpec, key: str, choices: tuple[str, ...]) -> str:
    """The text parameter ``key`` of ``spec``, one of ``choices``."""
    value = spec.params.get(key)
    if value not in choices:
        raise ScenarioError(
            f"scenario {spec.name!r} ({spec.family}) needs {key!r} to be one of "
            f"{', '.join(choices)}, got {value!r}"
        )
    return str(value)


@dataclass(frozen=True)
class SymbolRows:
    """Where one symbol's bars sit in a bars frame: its rows and timestamps."""

    symbol: str
    start: int
    stop: int
    ts: pd.DatetimeIndex


def symbol_rows(bars: pd.DataFrame) -> list[SymbolRows]:
    """Each symbol's contiguous rows in a sorted canonical bars frame, in index order."""
    symbols = bars.index.get_level_values("symbol")
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts"))
    rows: list[SymbolRows] = []
    start = 0
    values = np.asarray(symbols, dtype=object)
    changes = np.flatnonzero(values[1:] != values[:-1]) + 1
    for stop in [*changes.tolist(), len(values)]:
        rows.append(SymbolRows(str(values[start]), start, stop, ts[start:stop]))
        start = stop
    return rows


def checked_history(history: pd.DataFrame, train_end: pd.Timestamp) -> pd.Timestamp:
    """Check the history is a non-empty canonical frame; return ``train_end`` in UTC."""
    check_bars_frame(history)
    if history.empty:
        raise ScenarioError("the history has no bars; a scenario is built from a candidate's bars")
    end = pd.Timestamp(train_end)
    if end.tzinfo is None:
        raise ScenarioError(
            f"train_end {end} has no time zone; pass it in UTC, as bars' timestamps are"
        )
    return end.tz_convert("UTC")


def fit_window(history: pd.DataFrame, train_end: pd.Timestamp) -> pd.DataFrame:
    """The bars a fitting generator may see: those that closed at or before ``train_end``."""
    ts = history.index.get_level_values("ts")
    return history[ts <= train_end]


def check_fit_window(bars: pd.DataFrame, train_end: pd.Timestamp, *, minimum: int) -> None:
    """Refuse to fit on a bar after ``train_end``, or on fewer than ``minimum`` bars a symbol.

    Every fitter calls this on exactly the frame it fits, so a caller that
    forgets :func:`fit_window` fails loudly instead of leaking the
    candidate's out-of-sample bars into the generator.
    """
    ts = bars.index.get_level_values("ts")
    late = np.flatnonzero(ts > train_end)
    if len(late):
        symbol, stamp = bars.index[late[0]]
        raise FitWindowError(
            f"fit window leak: bar {symbol} {stamp} closed after the training end {train_end}; "
            "fit on fit_window(history, train_end) only"
        )
    counts = bars.groupby(level="symbol", sort=False).size()
    short = counts[counts < minimum]
    if len(counts) == 0 or len(short):
        where = ", ".join(f"{s}: {n}" for s, n in short.items()) or "no bars at all"
        raise ScenarioError(
            f"too few training bars to fit a generator (need {minimum} a symbol; {where}); "
            "move the training end later or load more history"
        )


def common_stamps(rows: list[SymbolRows], *, after: pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """Timestamps every symbol has a bar at, optionally only those after ``after``."""
    common = rows[0].ts
    for row in rows[1:]:
        common = common.intersection(row.ts)
    if after is not None:
        common = common[common > after]
    return common


@dataclass
class BarShapes:
    """Bars as shapes relative to the bar before, in logs (see the module docstring).

    The first bar's gap is measured from ``anchor``, the log of its own open,
    so it is zero. ``upper`` and ``lower`` are never negative.
    """

    anchor: float
    gap: FloatArray
    body: FloatArray
    upper: FloatArray
    lower: FloatArray
    volume: FloatArray

    @property
    def returns(self) -> FloatArray:
        """Close-to-close log returns (the first from the first open)."""
        return self.gap + self.body

    def log_closes(self) -> FloatArray:
        """Log closes rebuilt from the shapes."""
        return self.anchor + np.cumsum(self.gap + self.body)

    def take(self, positions: np.ndarray) -> BarShapes:
        """The shapes at ``positions``, anchored where this path starts."""
        return BarShapes(
            self.anchor,
            self.gap[positions],
            self.body[positions],
            self.upper[positions],
            self.lower[positions],
            self.volume[positions],
        )

    def copy(self) -> BarShapes:
        """A copy whose arrays can be edited without touching this one."""
        return self.take(np.arange(len(self.gap)))


def shapes_of(values: FloatArray) -> BarShapes:
    """Split ``open high low close volume`` rows into bar shapes."""
    open_, high, low, close, volume = _columns(values)
    previous = np.concatenate(([open_[0]], close[:-1]))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    return BarShapes(
        anchor=float(open_[0]),
        gap=open_ - previous,
        body=close - open_,
        upper=np.maximum(high - top, 0.0),
        lower=np.maximum(bottom - low, 0.0),
        volume=volume,
    )


def _columns(
    values: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Log open, high, low, close and the plain volume of ``values``."""
    logs = np.log(values[:, :4])
    return logs[:, 0], logs[:, 1], logs[:, 2], logs[:, 3], values[:, 4].astype(np.float64)


def bars_of(shapes: BarShapes, *, volume_floor: float) -> FloatArray:
    """Rebuild ``open high low close volume`` rows; consistent whatever the gaps and bodies.

    A volume that is not positive becomes ``volume_floor`` (the smallest
    positive volume of the source) because a zero-volume bar would read as a
    market with no liquidity at all, making the participation cap refuse
    every order; positive volumes, however thin, are kept.
    """
    close = shapes.log_closes()
    open_ = close - shapes.body
    high = np.maximum(open_, close) + np.maximum(shapes.upper, 0.0)
    low = np.minimum(open_, close) - np.maximum(shapes.lower, 0.0)
    out = np.empty((len(close), len(BAR_COLUMNS)), dtype=np.float64)
    out[:, 0] = np.exp(open_)
    out[:, 1] = np.exp(high)
    out[:, 2] = np.exp(low)
    out[:, 3] = np.exp(close)
    # exp is monotone but rounding is not: pin the extremes so low <= open, close <= high exactly.
    out[:, 1] = np.maximum(out[:, 1], np.maximum(out[:, 0], out[:, 3]))
    out[:, 2] = np.minimum(out[:, 2], np.minimum(out[:, 0], out[:, 3]))
    out[:, 4] = with_floor(shapes.volume, volume_floor)
    return out


def with_floor(volume: FloatArray, floor: float) -> FloatArray:
    """``volume`` with every value that is not positive replaced by ``floor``."""
    return np.where(volume > 0, volume, floor)


def volume_floor(values: FloatArray) -> float:
    """The smallest positive volume in ``values`` rows (1.0 when none is positive)."""
    positive = values[:, 4][values[:, 4] > 0]
    return float(positive.min()) if len(positive) else 1.0


def frame_like(history: pd.DataFrame, values: FloatArray) -> pd.DataFrame:
    """A bars frame with ``history``'s index and ``values`` as its columns."""
    return pd.DataFrame(values, index=history.index, columns=list(BAR_COLUMNS), dtype="float64")


def history_values(history: pd.DataFrame) -> FloatArray:
    """The history's ``open high low close volume`` as one float64 array (a copy)."""
    return history.loc[:, list(BAR_COLUMNS)].to_numpy(dtype=np.float64, copy=True)
