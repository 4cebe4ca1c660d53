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
  window and non-zero variance; fewer than two such symbols, or fewer than
  ``window`` rows, means "no reading" and the level does not move.
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
from collections import deque
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
        self._rows: deque[Mapping[str, float]] = deque(maxlen=window)
        self._symbols: dict[str, None] = {}  # insertion-ordered set of every symbol seen
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
        self._rows.append(dict(returns_row))
        self._symbols.update(dict.fromkeys(returns_row))
        correlation: float | None = None
        if len(self._rows) == self.window:
            matrix = np.array(
                [[row.get(s, math.nan) for s in self._symbols] for row in self._rows],
                dtype=np.float64,
            )
            correlation = mean_pairwise_correlation(matrix)
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
