"""What the market looked like before a bar: the history a cost model may read.

Impact models need a symbol's volatility and average volume, and both must be
point in time: a fill on bar ``t`` may only use bars before ``t``. The venue
keeps one :class:`BarHistory` and feeds it each bar *after* filling orders
on it, which makes that true by construction rather than by care.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from alphagate.domain.bar import Bar


@dataclass(frozen=True, slots=True)
class MarketState:
    """The symbol's market before the bar being filled; ``None`` where there is no history yet."""

    volatility: float | None = None
    """Sample standard deviation of one-bar log returns."""
    average_volume: float | None = None
    """Mean volume per bar."""


NO_HISTORY: Final = MarketState()
"""The state of a symbol the venue has not seen a bar of."""


class BarHistory:
    """The last ``window`` bars of each symbol, summarised as a :class:`MarketState`.

    Volatility is the sample deviation (``ddof=1``) of the log returns between
    the last ``window + 1`` closes, defined from two returns on; average volume
    is the mean over the last ``window`` bars, undefined while it is zero (a
    square-root impact on zero volume would be infinite, not conservative).
    """

    def __init__(self, window: int) -> None:
        if window < 2:
            raise ValueError(f"a bar history needs a window of at least 2 bars, got {window}")
        self._window = window
        self._series: dict[str, tuple[deque[float], deque[float]]] = {}

    def observe(self, bar: Bar) -> None:
        """Add ``bar`` to its symbol's window, dropping the oldest bar beyond it."""
        series = self._series.get(bar.symbol)
        if series is None:
            series = (deque(maxlen=self._window + 1), deque(maxlen=self._window))
            self._series[bar.symbol] = series
        series[0].append(bar.close)
        series[1].append(bar.volume)

    def state(self, symbol: str) -> MarketState:
        """Return ``symbol``'s volatility and average volume, each ``None`` until defined."""
        series = self._series.get(symbol)
        if series is None:
            return NO_HISTORY
        closes, volumes = series
        volatility = None
        if len(closes) >= 3:  # two returns: the fewest a sample deviation needs
            with np.errstate(divide="ignore", invalid="ignore"):
                sigma = float(np.std(np.diff(np.log(np.asarray(closes))), ddof=1))
            volatility = sigma if math.isfinite(sigma) else None
        adv = sum(volumes) / len(volumes)
        return MarketState(volatility, adv if math.isfinite(adv) and adv > 0 else None)
