"""Seeded synthetic bars: correlated geometric Brownian motion with consistent OHLC.

Synthetic data lets tests and demos run on series whose true parameters are
known. Closes follow correlated GBM; each bar's open gaps slightly from the
previous close, and high and low extend beyond the open-close range by a
half-normal amount, so ``low <= open, close <= high`` holds by construction.
Volume is log-normal and rises with the size of the move, as real volume does.
The same seed always gives the same bars.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from alphagate.config import SyntheticConfig
from alphagate.data.calendar import expected_bar_ends
from alphagate.domain.quality_report import QualityReport
from alphagate.domain.timeframe import Timeframe

_MINUTES_PER_YEAR = {True: 252 * 390, False: 365 * 1440}  # with / without a session calendar


class SyntheticSource:
    """Generates bars for several correlated symbols over a calendar's bar closes."""

    def __init__(
        self, options: SyntheticConfig, *, timeframe: Timeframe, calendar: str | None
    ) -> None:
        self._options = options
        self._timeframe = timeframe
        self._calendar = calendar

    @property
    def name(self) -> str:
        """``synthetic:`` followed by the seed."""
        return f"synthetic:seed={self._options.seed}"

    @property
    def timeframe(self) -> Timeframe:
        """The bar size generated."""
        return self._timeframe

    @property
    def calendar(self) -> str | None:
        """The calendar whose sessions the bars follow."""
        return self._calendar

    def chunks(self, report: QualityReport) -> Iterator[pd.DataFrame]:
        """Yield one flat chunk per symbol."""
        ts = self.bar_closes()
        if len(ts) == 0:
            return
        closes, opens, highs, lows, volumes = self._paths(len(ts))
        for column, symbol in enumerate(self._options.symbols):
            report.rows_in += len(ts)
            yield pd.DataFrame(
                {
                    "symbol": symbol,
                    "row": np.arange(1, len(ts) + 1),
                    "ts": ts,
                    "open": opens[:, column],
                    "high": highs[:, column],
                    "low": lows[:, column],
                    "close": closes[:, column],
                    "volume": volumes[:, column],
                }
            )

    def bar_closes(self) -> pd.DatetimeIndex:
        """The closes of the bars that trade on the days from start to end, inclusive.

        A bar closing exactly at midnight on the start date belongs to the day
        before, so the window opens just after it.
        """
        start = pd.Timestamp(self._options.start, tz="UTC") + pd.Timedelta(1, "ns")
        end = pd.Timestamp(self._options.end, tz="UTC") + pd.Timedelta(days=1)
        return expected_bar_ends(self._timeframe, self._calendar, start, end)

    def _bar_years(self) -> float:
        """Length of one bar in years, for scaling annual drift and volatility."""
        minutes = self._timeframe.minutes
        if minutes is None:
            return 1 / 12
        if self._calendar is not None and not self._timeframe.is_intraday:
            return minutes / 1440 / 252
        return minutes / _MINUTES_PER_YEAR[self._calendar is not None]

    def _paths(self, size: int) -> tuple[np.ndarray, ...]:
        options = self._options
        count = len(options.symbols)
        rng = np.random.default_rng(options.seed)
        correlation = np.full((count, count), options.correlation)
        np.fill_diagonal(correlation, 1.0)
        shocks = rng.standard_normal((size, count)) @ np.linalg.cholesky(correlation).T
        dt = self._bar_years()
        sigma = options.annual_volatility * np.sqrt(dt)
        drift = (options.annual_drift - 0.5 * options.annual_volatility**2) * dt
        log_close = np.log(options.initial_price) + np.cumsum(drift + sigma * shocks, axis=0)
        closes = np.exp(log_close)
        previous = np.vstack([np.full((1, count), options.initial_price), closes[:-1]])
        opens = previous * np.exp(0.1 * sigma * rng.standard_normal((size, count)))
        reach = np.abs(rng.standard_normal((2, size, count))) * 0.5 * sigma
        highs = np.maximum(opens, closes) * np.exp(reach[0])
        lows = np.minimum(opens, closes) * np.exp(-reach[1])
        move = np.abs(np.log(closes / previous)) / sigma
        volumes = options.mean_volume * np.exp(
            0.3 * move + 0.25 * rng.standard_normal((size, count)) - 0.3 * np.sqrt(2 / np.pi)
        )
        return closes, opens, highs, lows, np.round(volumes)
