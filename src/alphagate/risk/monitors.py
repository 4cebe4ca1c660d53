"""Monitors fed once per bar: drawdown, daily loss and exposure over time.

Each monitor keeps only what it must (a peak, a session's start equity) and
returns a :class:`~alphagate.risk.events.RiskEvent` when its state changes,
never on every bar, so the event log stays readable. None of them acts: the
caller maps states to degradation levels and trips the kill switch, which
keeps each monitor testable on a hand-written equity path.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from alphagate.risk.events import RiskEvent, Severity
from alphagate.risk.limits import gross_and_net


class DrawdownState(StrEnum):
    """Trading allowed (``normal``), cut to risk reduction (``reduce``), stopped (``halt``)."""

    NORMAL = "normal"
    REDUCE = "reduce"
    HALT = "halt"


_SEVERITY = {
    DrawdownState.NORMAL: Severity.INFO,
    DrawdownState.REDUCE: Severity.WARNING,
    DrawdownState.HALT: Severity.CRITICAL,
}


def _check_equity(equity: float) -> None:
    if not math.isfinite(equity):
        raise ValueError(f"equity must be finite, got {equity}")


class DrawdownMonitor:
    """Drawdown from the running peak of equity, ``1 - equity / peak``.

    Rules: ``drawdown >= reduce_at`` is REDUCE, ``>= halt_at`` is HALT. REDUCE
    clears by itself once equity recovers below ``reduce_at``; HALT is
    **latched** until :meth:`reset`, because a strategy that lost that much
    should not resume on the first up-tick without a person looking (the
    caller also trips the kill switch on HALT).

    Parameters
    ----------
    reduce_at, halt_at
        Fractions with ``0 < reduce_at < halt_at < 1`` (``0.10`` = 10 %).
    """

    def __init__(self, reduce_at: float, halt_at: float) -> None:
        if not 0.0 < reduce_at < halt_at < 1.0:
            raise ValueError(f"need 0 < reduce_at < halt_at < 1, got {reduce_at}, {halt_at}")
        self.reduce_at = reduce_at
        self.halt_at = halt_at
        self._peak: float | None = None
        self._drawdown = 0.0
        self._state = DrawdownState.NORMAL

    @property
    def state(self) -> DrawdownState:
        """The state after the last update."""
        return self._state

    @property
    def drawdown(self) -> float:
        """The last drawdown, a fraction of the peak."""
        return self._drawdown

    def update(self, ts: pd.Timestamp, equity: float) -> RiskEvent | None:
        """Feed one bar's equity; return an event when the state changed."""
        _check_equity(equity)
        self._peak = equity if self._peak is None else max(self._peak, equity)
        self._drawdown = 1.0 - equity / self._peak if self._peak > 0 else 1.0
        if self._state is DrawdownState.HALT:
            return None
        if self._drawdown >= self.halt_at:
            new = DrawdownState.HALT
        elif self._drawdown >= self.reduce_at:
            new = DrawdownState.REDUCE
        else:
            new = DrawdownState.NORMAL
        return self._move(ts, new, f"drawdown {self._drawdown:.2%} from peak {self._peak:.2f}")

    def reset(self, ts: pd.Timestamp) -> RiskEvent | None:
        """Leave a latched HALT, restarting the peak at the next equity seen."""
        self._peak = None
        self._drawdown = 0.0
        return self._move(ts, DrawdownState.NORMAL, "drawdown monitor reset by operator")

    def _move(self, ts: pd.Timestamp, new: DrawdownState, why: str) -> RiskEvent | None:
        if new is self._state:
            return None
        old, self._state = self._state, new
        return RiskEvent(
            ts=ts,
            component="drawdown",
            severity=_SEVERITY[new],
            reason=f"{old.value} -> {new.value}: {why}",
            data={"from": old.value, "to": new.value, "drawdown": self._drawdown},
        )


class DailyLossLimit:
    """Loss within one session, measured from the equity the session started with.

    The start equity is the last equity of the previous session (its close),
    so an overnight gap counts against the new day as brokers count it; the
    very first update starts the first session at itself. A breach emits one
    CRITICAL event and stays breached until the next session; the caller trips
    the kill switch or stops new entries on it.

    Parameters
    ----------
    max_loss_pct
        Loss fraction of start equity at which the limit is breached (``0.03``).
    """

    def __init__(self, max_loss_pct: float) -> None:
        if not 0.0 < max_loss_pct < 1.0:
            raise ValueError(f"need 0 < max_loss_pct < 1, got {max_loss_pct}")
        self.max_loss_pct = max_loss_pct
        self._session: dt.date | None = None
        self._start = 0.0
        self._last = 0.0
        self._breached = False

    @property
    def breached(self) -> bool:
        """Whether today's loss reached the limit."""
        return self._breached

    @property
    def session(self) -> dt.date | None:
        """The session the last update belonged to."""
        return self._session

    def update(
        self, ts: pd.Timestamp, equity: float, *, session: dt.date | None = None
    ) -> RiskEvent | None:
        """Feed one equity; ``session`` defaults to the UTC date of ``ts``."""
        _check_equity(equity)
        day = session if session is not None else ts.tz_convert("UTC").date()
        if day != self._session:
            self._start = self._last if self._session is not None else equity
            self._session = day
            self._breached = False
        self._last = equity
        loss = 1.0 - equity / self._start if self._start > 0 else 0.0
        if self._breached or loss < self.max_loss_pct:
            return None
        self._breached = True
        return RiskEvent(
            ts=ts,
            component="daily_loss",
            severity=Severity.CRITICAL,
            reason=f"daily loss {loss:.2%} >= max {self.max_loss_pct:.2%} on {day.isoformat()}",
            data={"session": day.isoformat(), "loss": loss, "start_equity": self._start},
        )


@dataclass(frozen=True, slots=True)
class ExposureSnapshot:
    """Gross and net exposure (fractions of equity) at one time."""

    ts: pd.Timestamp
    gross: float
    net: float


class ExposureTracker:
    """Gross and net exposure over time, for reports and the health page.

    It only records; the limits that act on exposure are in
    :class:`~alphagate.risk.limits.PreTradeCheck`.
    """

    def __init__(self) -> None:
        self._history: list[ExposureSnapshot] = []

    def update(
        self,
        ts: pd.Timestamp,
        positions: Mapping[str, float],
        prices: Mapping[str, float],
        equity: float,
    ) -> ExposureSnapshot:
        """Record exposure of signed ``positions`` at ``prices``; equity must be positive."""
        if not (math.isfinite(equity) and equity > 0):
            raise ValueError(f"exposure needs positive finite equity, got {equity}")
        gross, net = gross_and_net(positions, prices, equity)
        snapshot = ExposureSnapshot(ts, gross, net)
        self._history.append(snapshot)
        return snapshot

    def history(self) -> tuple[ExposureSnapshot, ...]:
        """Every snapshot, oldest first."""
        return tuple(self._history)

    @property
    def max_gross(self) -> float:
        """Largest gross exposure seen, ``0.0`` before any update."""
        return max((s.gross for s in self._history), default=0.0)
