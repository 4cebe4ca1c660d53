"""What the API and the dashboard read, behind one Protocol: a running engine or stored books.

``alphagate paper --serve`` serves :class:`LiveBooks`, the engine monitor's
view as of the last cycle (decision traces included). ``alphagate serve``
on its own serves the trading database and the session's latest snapshot
(the composition root builds that reader), where the decision trace is not
stored. The server cannot tell them apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from alphagate.monitor.engine_monitor import EngineMonitor
from alphagate.monitor.health import HealthAnswer, answer, feed_component

Rows = list[dict[str, Any]]


class Books(Protocol):
    """The read side of the service."""

    def health(self) -> HealthAnswer: ...

    def status(self) -> dict[str, Any]: ...

    def equity(self) -> Rows: ...

    def positions(self) -> Rows: ...

    def orders(self, *, open_only: bool) -> Rows: ...

    def trades(self) -> Rows: ...

    def decisions(self) -> Rows: ...

    def execution(self) -> dict[str, Any]: ...

    def candidates(self) -> Rows: ...


def equity_rows(points: list[tuple[int, float]]) -> Rows:
    """(ns, equity) points with their drawdown from the running peak, for the chart."""
    rows: Rows = []
    peak = float("-inf")
    for ts, equity in points:
        peak = max(peak, equity)
        drawdown = (peak - equity) / peak if peak > 0 else 0.0
        rows.append(
            {"ts": pd.Timestamp(ts, tz="UTC").isoformat(), "equity": equity, "drawdown": drawdown}
        )
    return rows


class LiveBooks:
    """A running engine's books, from its :class:`EngineMonitor`.

    Parameters
    ----------
    candidates
        Reads the candidates and their gate states (the trading database).
    feed_timeout
        Seconds without a bar after which ``/health`` names the feed failed.
    """

    def __init__(
        self,
        monitor: EngineMonitor,
        candidates: Callable[[], Rows],
        *,
        feed_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._monitor, self._candidates = monitor, candidates
        self._timeout, self._clock = feed_timeout, clock

    def health(self) -> HealthAnswer:
        view = self._monitor.view()
        components = dict(view.components)
        components["feed"] = feed_component(
            view.last_cycle_wall, view.stopped_by, self._clock(), self._timeout
        )
        return answer(components, view.degradation, view.breaker)

    def status(self) -> dict[str, Any]:
        view = self._monitor.view()
        return {**view.status, "running": view.stopped_by is None, "stopped_by": view.stopped_by}

    def equity(self) -> Rows:
        return equity_rows(self._monitor.equity_curve())

    def positions(self) -> Rows:
        return self._monitor.view().positions

    def orders(self, *, open_only: bool) -> Rows:
        view = self._monitor.view()
        return view.open_orders if open_only else view.orders

    def trades(self) -> Rows:
        return self._monitor.view().trades

    def decisions(self) -> Rows:
        return self._monitor.view().decisions

    def execution(self) -> dict[str, Any]:
        return self._monitor.view().execution

    def candidates(self) -> Rows:
        return self._candidates()
