"""Feeds for paper trading: stored bars replayed in time order, and a synthetic live market.

Both yield ``(ts, bars)``: the bars of every symbol closing at ``ts``, in the
order of the run's symbols, as the backtest driver walks them, so a replay
through the live driver sees the steps the backtest saw. A resumed run asks
for the bars after the last close it finished (``after``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence

import numpy as np
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.bars import check_bars_frame, symbols_of
from alphagate.engine.market import COLUMNS


def steps_of(bars: pd.DataFrame) -> Iterator[tuple[int, list[Bar]]]:
    """The bars of a canonical bars frame grouped by close, in time order, symbols in run order."""
    check_bars_frame(bars)
    symbols = symbols_of(bars)
    ts = pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8
    names = bars.index.get_level_values("symbol")
    rank = {s: i for i, s in enumerate(symbols)}
    order = np.lexsort((np.array([rank[s] for s in names]), ts))
    values = {c: bars[c].to_numpy(np.float64)[order].tolist() for c in COLUMNS}
    stamps, owners = ts[order].tolist(), names[order].tolist()
    step: list[Bar] = []
    for i, (stamp, symbol) in enumerate(zip(stamps, owners, strict=True)):
        if step and step[0].ts != stamp:
            yield step[0].ts, step
            step = []
        step.append(
            Bar(symbol, stamp, *(values[c][i] for c in COLUMNS))  # open, high, low, close, volume
        )
    if step:
        yield step[0].ts, step


class ReplayFeed:
    """Stored bars as a live feed: at once (``speed=None``) or ``speed`` times real time.

    Parameters
    ----------
    bars
        The bars to replay (a canonical bars frame).
    warmup
        Bars before the replay, for :meth:`history` (a strategy's warm-up).
    """

    def __init__(
        self, bars: pd.DataFrame, *, warmup: pd.DataFrame | None = None, speed: float | None = None
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a positive multiple of real time, got {speed}")
        self._bars, self._warmup, self._speed = bars, warmup, speed

    def history(self, symbols: Sequence[str], bars: int) -> pd.DataFrame:
        """The last ``bars`` warm-up bars of each of ``symbols`` (empty when none were given)."""
        if self._warmup is None:
            return self._bars.iloc[:0]
        keep = self._warmup.index.get_level_values("symbol").isin(list(symbols))
        return self._warmup.loc[keep].groupby(level="symbol", group_keys=False).tail(bars)

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Each step after ``after`` (ns), waiting the scaled gap between closes when paced."""
        previous: int | None = None
        for ts, bars in steps_of(self._bars):
            if after is not None and ts <= after:
                continue
            if self._speed is not None and previous is not None:
                await asyncio.sleep((ts - previous) / 1e9 / self._speed)
            else:
                await asyncio.sleep(0)  # let signal handlers and timers run between steps
            previous = ts
            yield ts, bars


class SyntheticFeed:
    """A seeded live market: geometric random walks, one bar per symbol every ``interval_ns``.

    For trying a strategy on a live clock without data: at ``speed`` times
    real time (``None``: at once), for ``bars`` closes. Deterministic for a
    seed, and resumable like any feed: the walk is the same, steps at or
    before ``after`` are skipped.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        interval_ns: int,
        start_ns: int,
        bars: int,
        seed: int = 0,
        volatility: float = 0.01,
        speed: float | None = 1.0,
    ) -> None:
        if interval_ns <= 0 or bars < 0 or not volatility > 0:
            raise ValueError("interval_ns and volatility must be positive and bars >= 0")
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a positive multiple of real time, got {speed}")
        self._symbols, self._interval, self._start = tuple(symbols), interval_ns, start_ns
        self._bars, self._seed, self._volatility, self._speed = bars, seed, volatility, speed

    def steps(self) -> Iterator[tuple[int, list[Bar]]]:
        """Every step of the walk, in order."""
        rng = np.random.default_rng(self._seed)
        last = dict.fromkeys(self._symbols, 100.0)
        for i in range(self._bars):
            ts = self._start + (i + 1) * self._interval
            step: list[Bar] = []
            for symbol in self._symbols:
                open_ = last[symbol]
                moves = rng.normal(0.0, self._volatility, 3)
                close = open_ * float(np.exp(moves[0]))
                high = max(open_, close) * float(np.exp(abs(moves[1])))
                low = min(open_, close) * float(np.exp(-abs(moves[2])))
                step.append(Bar(symbol, ts, open_, high, low, close, 1e5))
                last[symbol] = close
            yield ts, step

    async def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
        """Each step after ``after``, one ``interval_ns`` apart scaled by ``speed``."""
        for ts, step in self.steps():
            if after is not None and ts <= after:
                continue
            pause = 0.0 if self._speed is None else self._interval / 1e9 / self._speed
            await asyncio.sleep(pause)
            yield ts, step
