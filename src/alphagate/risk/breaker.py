"""The correlation breaker: cut exposure when everything starts moving together.

Diversification is what keeps a book of many bets from being one bet; in a
crash correlations jump towards 1 and it vanishes exactly when it is needed.
The breaker watches the rolling mean pairwise correlation of the universe's
returns and maps it to a level with a configured action.

Rules
-----
- Only past and current rows are used: ``update`` sees one row at a time and
  the window holds the last ``window`` of them.
- A symbol joins the calculation only with ``window`` finite returns in the
  window that are not all equal; fewer than two such symbols, or fewer than
  ``window`` rows, means "no reading" and the level does not move.
- The reading is kept up to date row by row (:class:`RollingCorrelation`),
  not recomputed from the window, since the guard asks for it at every bar.
- **Escalation is immediate; de-escalation needs the correlation below the
  threshold minus ``margin``** (hysteresis), so a reading hovering at a
  threshold does not flap between levels and churn orders.
- Thresholds must sit well above the noise of the estimate itself: for
  ``n`` independent series the mean of the ``n(n-1)/2`` pairwise
  correlations has a standard deviation of about
  ``1 / sqrt(window * n(n-1)/2)`` (see :func:`noise_sigma`); put
  ``elevated_at`` four or more of those above ``baseline``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from alphagate.risk.events import RiskEvent, Severity


class BreakerLevel(IntEnum):
    """Ordered so that ``max`` picks the more severe level."""

    NORMAL = 0
    ELEVATED = 1
    CRISIS = 2


@dataclass(frozen=True, slots=True)
class BreakerAction:
    """What the engine does at a level: scale new targets, allow only reductions, flatten."""

    scale: float = 1.0
    reduce_only: bool = False
    flatten: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.scale <= 1.0:
            raise ValueError(f"a breaker scale must be in [0, 1], got {self.scale}")


DEFAULT_ACTIONS: Mapping[BreakerLevel, BreakerAction] = MappingProxyType(
    {
        BreakerLevel.NORMAL: BreakerAction(),
        BreakerLevel.ELEVATED: BreakerAction(scale=0.5),
        BreakerLevel.CRISIS: BreakerAction(scale=0.0, reduce_only=True),
    }
)
"""Halve new risk when elevated, add none in a crisis; flattening is opt-in."""


@dataclass(frozen=True, slots=True)
class BreakerState:
    """The breaker after one row; ``correlation`` is ``None`` until a reading exists."""

    level: BreakerLevel
    correlation: float | None
    action: BreakerAction
    changed: bool = False
    event: RiskEvent | None = None


def noise_sigma(n_series: int, window: int) -> float:
    """Standard deviation of the mean pairwise correlation of independent series."""
    pairs = n_series * (n_series - 1) / 2
    return 1.0 / math.sqrt(window * pairs)


def next_level(
    current: BreakerLevel,
    correlation: float,
    *,
    elevated_at: float,
    crisis_at: float,
    margin: float,
) -> BreakerLevel:
    """The level after one reading: up at once, down only below a threshold minus ``margin``."""

    def level_for(c: float) -> BreakerLevel:
        if c >= crisis_at:
            return BreakerLevel.CRISIS
        if c >= elevated_at:
            return BreakerLevel.ELEVATED
        return BreakerLevel.NORMAL

    raw = level_for(correlation)
    if raw >= current:
        return raw
    return min(current, level_for(correlation + margin))


def mean_pairwise_correlation(matrix: np.ndarray) -> float | None:
    """Mean off-diagonal correlation of the columns with full finite, varying data."""
    usable = np.all(np.isfinite(matrix), axis=0)
    data = matrix[:, usable]
    if data.shape[1] >= 2:
        data = data[:, np.std(data, axis=0) > 0]
    n = data.shape[1]
    if n < 2:
        return None
    corr = np.corrcoef(data, rowvar=False)
    upper = corr[np.triu_indices(n, k=1)]
    return float(np.mean(upper))


class RollingCorrelation:
    """The mean pairwise correlation of the last ``window`` rows, updated one row at a time.

    Recomputing a correlation matrix from the window at every row costs
    O(window * n^2) and, for the few symbols of a typical book, far more in
    building the matrix than in the arithmetic. Here each row adds its sums
    and cross products and takes away those of the row leaving the window,
    O(n^2) per row in one compiled call
    (:func:`~alphagate.risk.rolling_kernels.add_row`), and the reading is
    formed from the sums.

    Sums kept by adding and subtracting drift by a rounding error per row,
    and a sum of squares loses precision when the values sit far from zero.
    So the values are summed as deviations from an anchor (the window's
    mean), and every ``window`` rows the sums are recomputed from the window
    with a fresh anchor: the error never grows beyond one window's worth.

    The rules are those of :func:`mean_pairwise_correlation`: a symbol
    counts with ``window`` finite values that are not all equal. Equality is
    tracked exactly (how many rows in a row repeat the value before), not
    read from a variance that rounding can leave a hair above zero.
    """

    def __init__(self, window: int) -> None:
        if window < 3:
            raise ValueError(f"a rolling correlation needs a window of at least 3, got {window}")
        self.window = window
        self._columns: dict[str, int] = {}  # symbol -> column, in the order first seen
        self._ring = np.full((window, 0), math.nan)
        self._anchor = np.zeros(0)
        self._sums = np.zeros(0)  # per column: sum of (value - anchor) over its finite rows
        self._cross = np.zeros((0, 0))  # sum of products of deviations, non-finite counted as 0
        self._finite = np.zeros(0, dtype=np.int64)  # finite values in the window
        self._repeats = np.zeros(0, dtype=np.int64)  # latest rows equal to the row before
        self._added = 0
        # Compiled code is loaded by the first breaker built, not by importing the
        # risk package: a rule backtest without a guard never pays for numba.
        from alphagate.risk.rolling_kernels import add_row

        self._add_row = add_row

    def add(self, row: Mapping[str, float]) -> float | None:
        """Add one row (symbol -> value; a symbol left out is missing); the reading after it.

        ``None`` until ``window`` rows have been added, or while fewer than two
        symbols have ``window`` finite, varying values.
        """
        for symbol in row:
            if symbol not in self._columns:
                self._add_column(symbol)
        values = np.fromiter(
            (row.get(symbol, math.nan) for symbol in self._columns),
            dtype=np.float64,
            count=len(self._columns),
        )
        reading = self._add_row(
            self._ring,
            self._anchor,
            self._sums,
            self._cross,
            self._finite,
            self._repeats,
            values,
            self._added,
        )
        self._added += 1
        return None if math.isnan(reading) else reading

    def _add_column(self, symbol: str) -> None:
        """A symbol first seen now: missing from every earlier row."""
        self._columns[symbol] = len(self._columns)
        n = len(self._columns)
        self._ring = np.ascontiguousarray(
            np.hstack([self._ring, np.full((self.window, 1), math.nan)])
        )
        self._anchor = np.append(self._anchor, 0.0)
        self._sums = np.append(self._sums, 0.0)
        cross = np.zeros((n, n))
        cross[: n - 1, : n - 1] = self._cross
        self._cross = cross
        self._finite = np.append(self._finite, 0)
        self._repeats = np.append(self._repeats, 0)


class CorrelationBreaker:
    """Rolling mean pairwise correlation mapped to NORMAL / ELEVATED / CRISIS.

    Parameters
    ----------
    baseline
        Mean pairwise correlation measured on training data; reported as the
        excess in events, and thresholds must lie above it.
    window
        Rows in the rolling window (at least 3).
    elevated_at, crisis_at
        Absolute correlation levels, ``baseline < elevated_at < crisis_at <= 1``
        (e.g. ``baseline + 0.2`` and ``baseline + 0.4``).
    actions
        One :class:`BreakerAction` per level; :data:`DEFAULT_ACTIONS` if omitted.
    margin
        Hysteresis: how far below a threshold the reading must fall to leave it.
    """

    def __init__(
        self,
        baseline: float,
        window: int,
        elevated_at: float,
        crisis_at: float,
        actions: Mapping[BreakerLevel, BreakerAction] | None = None,
        *,
        margin: float = 0.1,
    ) -> None:
        if window < 3:
            raise ValueError(f"the breaker window must be at least 3 rows, got {window}")
        if not baseline < elevated_at < crisis_at <= 1.0:
            raise ValueError(
                f"need baseline < elevated_at < crisis_at <= 1, got "
                f"{baseline}, {elevated_at}, {crisis_at}"
            )
        if not 0.0 <= margin < elevated_at - baseline:
            raise ValueError(f"margin must be in [0, elevated_at - baseline), got {margin}")
        chosen = DEFAULT_ACTIONS if actions is None else actions
        missing = [lvl.name for lvl in BreakerLevel if lvl not in chosen]
        if missing:
            raise ValueError(f"breaker actions missing for {', '.join(missing)}")
        self.baseline = baseline
        self.window = window
        self.elevated_at = elevated_at
        self.crisis_at = crisis_at
        self.margin = margin
        self.actions: Mapping[BreakerLevel, BreakerAction] = MappingProxyType(dict(chosen))
        self._correlation = RollingCorrelation(window)
        self._level = BreakerLevel.NORMAL

    @property
    def level(self) -> BreakerLevel:
        """The level after the last update."""
        return self._level

    def update(
        self, returns_row: Mapping[str, float], *, ts: pd.Timestamp | None = None
    ) -> BreakerState:
        """Add one row of returns (symbol -> return) and return the new state.

        When the level changes and ``ts`` is given, the state carries a
        :class:`RiskEvent` for the log.
        """
        correlation = self._correlation.add(returns_row)
        old = self._level
        if correlation is not None:
            self._level = next_level(
                old,
                correlation,
                elevated_at=self.elevated_at,
                crisis_at=self.crisis_at,
                margin=self.margin,
            )
        changed = self._level is not old
        event = None
        if changed and ts is not None and correlation is not None:
            severity = Severity.INFO if self._level < old else Severity.WARNING
            if self._level is BreakerLevel.CRISIS:
                severity = Severity.CRITICAL
            event = RiskEvent(
                ts=ts,
                component="correlation_breaker",
                severity=severity,
                reason=(
                    f"{old.name} -> {self._level.name}: mean pairwise correlation "
                    f"{correlation:.2f} (baseline {self.baseline:.2f})"
                ),
                data={"from": old.name, "to": self._level.name, "correlation": correlation},
            )
        return BreakerState(self._level, correlation, self.actions[self._level], changed, event)
