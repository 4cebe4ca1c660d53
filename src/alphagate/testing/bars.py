"""Canonical bars frames for tests: the bundled real data, random walks, or closes you choose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alphagate.data.sources.bundled import BundledSource
from alphagate.domain.bars import bars_from_flat
from alphagate.domain.quality_report import QualityReport

DEFAULT_START = "2020-01-01 21:00"
"""Daily test bars close at 21:00 UTC, as US daily bars do in winter."""


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


def random_walk_bars(
    symbols: Sequence[str] | Mapping[str, int] = ("AAA",),
    n: int = 400,
    *,
    seed: int = 3,
    start: str = DEFAULT_START,
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
    closes: Sequence[float],
    *,
    symbol: str = "AAA",
    opens: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    volume: float = 1_000.0,
    start: str = DEFAULT_START,
    freq: str = "D",
) -> pd.DataFrame:
    """One symbol's bars with the closes given; opens default to the closes, and the
    highs and lows to the bar's extremes, so every bar is consistent."""
    close = np.asarray(closes, dtype=np.float64)
    open_ = close if opens is None else np.asarray(opens, dtype=np.float64)
    high = np.maximum(open_, close) if highs is None else np.asarray(highs, dtype=np.float64)
    low = np.minimum(open_, close) if lows is None else np.asarray(lows, dtype=np.float64)
    stamps = pd.date_range(start, periods=len(close), freq=freq, tz="UTC")
    flat = pd.DataFrame(
        {"symbol": symbol, "ts": stamps, "open": open_, "high": high, "low": low,
         "close": close, "volume": volume}
    )  # fmt: skip
    return bars_from_flat(flat)
