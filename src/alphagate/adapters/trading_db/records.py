"""The values the trading store keeps that have no domain type of their own.

Orders, fills, trades, positions and risk events are stored as the domain
values they are (``OrderState``, ``Fill``, ``Trade``, ``Position``,
``RiskEvent``) and read back equal to them. The rows here exist only in the
trading database (an equity point, a day's performance, a candidate), so
they are defined next to it, as frozen values checked on construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from alphagate.domain.instants import check_ns


class LevelMethod(StrEnum):
    """How a decision found its protective levels (see ``decision.protect``)."""

    ATR = "atr"
    FIBONACCI = "fibonacci"


class CandidateState(StrEnum):
    """Where a traded strategy stands."""

    PAPER = "paper"
    LIVE = "live"
    PAUSED = "paused"
    RETIRED = "retired"


def _finite(owner: str, **values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{owner}: {name} must be finite, got {value}")


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """A run's equity and cash at ``ts`` (ns since the epoch, UTC)."""

    ts: int
    equity: float
    cash: float

    def __post_init__(self) -> None:
        check_ns(self.ts, "equity point ts")
        _finite(f"equity point at {self.ts}", equity=self.equity, cash=self.cash)


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPerformance:
    """One UTC day of a run: ``day_ts`` is that day's midnight in ns.

    ``tracking_error`` is the shadow backtest's distance from what paper or
    live did that day; ``None`` until the shadow backtest has run.
    """

    day_ts: int
    pnl: float
    day_return: float
    trades: int
    equity: float
    drawdown: float
    sharpe_to_date: float | None = None
    tracking_error: float | None = None

    def __post_init__(self) -> None:
        check_ns(self.day_ts, "daily performance day_ts")
        _finite(
            f"daily performance of day {self.day_ts}",
            pnl=self.pnl,
            day_return=self.day_return,
            equity=self.equity,
            drawdown=self.drawdown,
            sharpe_to_date=self.sharpe_to_date,
            tracking_error=self.tracking_error,
        )
        if self.trades < 0:
            raise ValueError(f"daily performance of day {self.day_ts}: trades must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectiveLevels:
    """The stop and target one decision set for its entry order ``client_order_id``."""

    client_order_id: str
    stop: float | None
    target: float | None
    method: LevelMethod
    ts_init: int

    def __post_init__(self) -> None:
        owner = f"protective levels of {self.client_order_id!r}"
        if not self.client_order_id:
            raise ValueError("protective levels need the entry's client_order_id")
        check_ns(self.ts_init, f"{owner}: ts_init")
        for name, price in (("stop", self.stop), ("target", self.target)):
            if price is not None and not (math.isfinite(price) and price > 0):
                raise ValueError(f"{owner}: {name} must be positive and finite, got {price}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A strategy being traded: its id, the run whose models it uses, and its state."""

    candidate_id: str
    run_id: str
    strategy: str
    state: CandidateState
    ts_created: int

    def __post_init__(self) -> None:
        if not (self.candidate_id and self.run_id and self.strategy):
            raise ValueError("a candidate needs a candidate_id, a run_id and a strategy")
        check_ns(self.ts_created, f"candidate {self.candidate_id!r}: ts_created")


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """One stored system event; ``id`` grows with insertion order."""

    id: int
    ts: int
    kind: str
    actor: str | None
    detail: dict[str, Any] | None = field(default=None, hash=False)
