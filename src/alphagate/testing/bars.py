"""Canonical bars frames for tests: the bundled real data, random walks, or closes you choose."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from alphagate.config import SyntheticConfig
from alphagate.data.sources.bundled import BundledSource
from alphagate.data.sources.synthetic import SyntheticSource
from alphagate.domain.bars import BAR_COLUMNS, INDEX_NAMES, bars_from_flat
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe

DEFAULT_START = "2020-01-01 21:00"
"""Daily test bars close at 21:00 UTC, as US daily bars do in winter."""

Prices = float | Sequence[float] | np.ndarray[Any, np.dtype[np.float64]]
"""A value for every bar, or one value that every bar shares."""


def bundled_bars(
    symbols: Sequence[str] = ("^GSPC",), start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """The bundled daily bars of ``symbols``, optionally cut to ``[start, end]`` (dates, UTC)."""
    flat = pd.concat(list(BundledSource(list(symbols)).chunks(QualityReport("bundled"))))
    if start is not None:
        flat = flat[flat["ts"] >= pd.Timestamp(start, tz="UTC")]
    if end is not None:
        flat = flat[flat["ts"] < pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D")]
    return bars_from_flat(flat.drop(columns="row", errors="ignore"))


def synthetic_bars(
    symbols: Sequence[str] = ("AAA", "BBB"),
    start: date | str = "2019-01-01",
    end: date | str = "2019-12-31",
    *,
    seed: int = 7,
    timeframe: str = "1d",
    calendar: str | None = "XNYS",
) -> pd.DataFrame:
    """The synthetic source's correlated bars over a calendar's sessions, as a run reads them.

    Prefer it to a random walk when the code under test cares about real
    sessions (holidays, early closes) or about several symbols moving together.
    """
    options = SyntheticConfig.model_validate(
        {"symbols": tuple(symbols), "start": start, "end": end, "seed": seed}
    )
    source = SyntheticSource(options, timeframe=Timeframe.parse(timeframe), calendar=calendar)
    return bars_from_flat(pd.concat(list(source.chunks(QualityReport(source.name)))))


def random_walk_bars(
    symbols: Sequence[str] | Mapping[str, int] = ("AAA",),
    n: int = 400,
    *,
    seed: int = 3,
    start: str | pd.Timestamp = DEFAULT_START,
    freq: str = "D",
    volatility: float = 0.02,
) -> pd.DataFrame:
    """Geometric random walks with consistent OHLC and volume, ``n`` bars per symbol.

    Given a mapping ``{symbol: gap}``, symbol ``s`` skips every ``gap``-th
    bar (0: none), so symbols' timelines differ as real markets' do.
    """
    gaps = dict(symbols) if isinstance(symbols, Mapping) else dict.fromkeys(symbols, 0)
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    frames = []
    for symbol, gap in gaps.items():
        close = 50 * np.exp(np.cumsum(rng.normal(0, volatility, n)))
        open_ = close * np.exp(rng.normal(0, volatility / 4, n))
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "ts": stamps,
                "open": open_,
                "high": np.maximum(open_, close) * 1.01,
                "low": np.minimum(open_, close) * 0.99,
                "close": close,
                "volume": 1e5,
            }
        )
        frames.append(frame[np.arange(n) % gap != 0] if gap else frame)
    return bars_from_flat(pd.concat(frames))


def bars_of(
    closes: Sequence[float] | np.ndarray[Any, np.dtype[np.float64]],
    *,
    symbol: str = "AAA",
    opens: Prices | None = None,
    highs: Prices | None = None,
    lows: Prices | None = None,
    volume: Prices = 1_000.0,
    start: str | pd.Timestamp = DEFAULT_START,
    freq: str = "D",
    stamps: Sequence[pd.Timestamp] | pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """One symbol's bars with the closes given; opens default to the closes, and the
    highs and lows to the bar's extremes, so every bar is consistent.

    The bars close every ``freq`` from ``start``, or at ``stamps`` when given
    (irregular gaps). Any other column may be one number for every bar.
    """
    close = np.asarray(closes, dtype=np.float64)
    open_ = close if opens is None else _column(opens, len(close))
    high = np.maximum(open_, close) if highs is None else _column(highs, len(close))
    low = np.minimum(open_, close) if lows is None else _column(lows, len(close))
    if stamps is None:
        stamps = pd.date_range(start, periods=len(close), freq=freq, tz="UTC")
    flat = pd.DataFrame(
        {"symbol": symbol, "ts": stamps, "open": open_, "high": high, "low": low,
         "close": close, "volume": _column(volume, len(close))}
    )  # fmt: skip
    return bars_from_flat(flat)


def bars_by_symbol(
    closes: Mapping[str, Sequence[float]],
    *,
    volume: float = 1_000.0,
    start: str | pd.Timestamp = DEFAULT_START,
    freq: str = "D",
) -> pd.DataFrame:
    """Several symbols' bars from their closes alone (open, high and low equal the close),
    every symbol starting at ``start``: for code that reads only closes, such as labels."""
    return stack_bars(
        *(bars_of(c, symbol=s, volume=volume, start=start, freq=freq) for s, c in closes.items())
    )


def bars_from_rows(rows: Iterable[tuple[Any, ...]]) -> pd.DataFrame:
    """Bars from ``(symbol, ts, open, high, low, close, volume)`` rows, written as a table.

    ``ts`` may be a timestamp or any text ``pandas.Timestamp`` reads; naive
    times are UTC. Rows need not be sorted, and nothing is checked, so a test
    can build the broken frame it means to refuse.
    """
    flat = pd.DataFrame(list(rows), columns=[*INDEX_NAMES, *BAR_COLUMNS])
    flat["ts"] = pd.to_datetime(flat["ts"], utc=True)
    return bars_from_flat(flat)


def stack_bars(*frames: pd.DataFrame) -> pd.DataFrame:
    """Several canonical bars frames (one symbol each, or more) as one canonical frame."""
    return bars_from_flat(pd.concat([frame.reset_index() for frame in frames]))


def _column(values: Prices, n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``values`` as ``n`` floats: one number is repeated, a sequence must have ``n``."""
    column = np.asarray(values, dtype=np.float64)
    if column.ndim == 0:
        return np.full(n, float(column))
    if len(column) != n:
        raise ValueError(f"expected {n} values, one per close, got {len(column)}")
    return column
