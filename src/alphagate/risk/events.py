"""What the risk layer reports: one :class:`RiskEvent` per decision worth keeping.

Every rejection, state change and kill-switch action becomes an event with a
sentence a human can act on (``reason``) and the numbers behind it (``data``).
The events are plain values so an adapter can store them in the database
later, and a replayed run produces exactly the same ones; nothing here knows
how they are stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import pandas as pd


class Severity(StrEnum):
    """How urgently a person should look: ``critical`` means trading was stopped or cut."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEvent:
    """One thing the risk layer decided or noticed.

    Parameters
    ----------
    ts
        When it happened, tz-aware: the bar or decision time, never the wall
        clock of the process, so a backtest and its replay agree.
    component
        Which part spoke (``pre_trade``, ``drawdown``, ``kill_switch`` ...), so
        an operator can filter one source of alerts.
    severity
        See :class:`Severity`.
    reason
        A sentence naming the limit and the numbers, e.g.
        ``"position weight 0.32 > max 0.25 for AAA"``.
    data
        The same numbers as values, for dashboards and queries. Copied into a
        read-only mapping so an event cannot change after it was recorded.
    """

    ts: pd.Timestamp
    component: str
    severity: Severity
    reason: str
    data: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ts, pd.Timestamp) or self.ts.tzinfo is None:
            raise ValueError(f"a risk event needs a tz-aware pandas Timestamp, got {self.ts!r}")
        if not self.component or not self.reason:
            raise ValueError("a risk event needs a non-empty component and reason")
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))
