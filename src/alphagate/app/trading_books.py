"""A paper or live session's books, written to the trading database as they change.

The journal is the record a session recovers from; the trading database is
what people and dashboards read: orders, fills, closed trades, positions,
the equity at every bar, risk events, each protected entry's stop and
target, and each day's performance with the shadow backtest's tracking
error. Every write is idempotent (an order's
same state, a fill's same trade id, an equity point's same bar), so after a
crash the books are simply written again from the replayed session, and
nothing is doubled. Writes are gathered and flushed every ``every`` bars and
at the end, so the database never slows a cycle down.

A model's staleness changes (:class:`~alphagate.engine.staleness_monitor.StalenessChange`)
become ``model_staleness`` system events, keyed by bar and column so a
replayed session does not store them twice; :func:`model_status` reads the
latest per column back, with the retrain flag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from alphagate.adapters.trading_db.records import (
    DailyPerformance,
    EquityPoint,
    LevelMethod,
    ProtectiveLevels,
)
from alphagate.adapters.trading_db.store import TradingStore
from alphagate.domain.instants import NS_PER_DAY
from alphagate.domain.order_state import OrderState
from alphagate.domain.orders import OrderType
from alphagate.engine.staleness_monitor import StalenessMonitor
from alphagate.live.driver import LiveDriver
from alphagate.risk.events import RiskEvent

MODEL_STALENESS = "model_staleness"
"""The kind of the system event a model's staleness change leaves."""
_EVENTS_READ = 100_000


class TradingBooks:
    """Follows a driver cycle by cycle (call it as ``on_cycle``) and writes to ``store``."""

    def __init__(
        self,
        store: TradingStore,
        run_id: str,
        *,
        every: int = 50,
        level_method: LevelMethod = LevelMethod.ATR,
        staleness: StalenessMonitor | None = None,
    ) -> None:
        self._store, self._run_id, self._every = store, run_id, every
        self._level_method = level_method
        self._staleness = staleness
        self._changes_written = 0
        self._changes_seen = {
            (e.ts, str((e.detail or {}).get("column")))
            for e in store.system_events(MODEL_STALENESS, limit=_EVENTS_READ)
            if (e.detail or {}).get("run_id") == run_id
        }
        self._levels_written: set[str] = set()
        self.equity: list[tuple[int, float, float]] = []
        """(bar close ns, equity, cash) at every cycle of the session, replayed ones included."""
        self._written: dict[str, OrderState] = {}
        self._fills_written = 0
        self._trades_written = 0
        self._equity_written = 0
        self._events_seen = {_event_key(e) for e in store.risk_events(run_id)}

    def __call__(self, driver: LiveDriver) -> None:
        """Note the equity after one cycle; flush every ``every`` cycles."""
        kernel = driver.kernel
        if driver.last_ts is not None:
            marks = kernel.latest_closes()
            self.equity.append(
                (driver.last_ts, kernel.portfolio.equity(marks), kernel.portfolio.cash)
            )
        if driver.cycles % self._every == 0:
            self.flush(driver)

    def flush(self, driver: LiveDriver, events: Iterable[RiskEvent] = ()) -> None:
        """Write what changed since the last flush."""
        store, run = self._store, self._run_id
        kernel = driver.kernel
        stamp = driver.last_ts
        for cid, state in kernel.orders.items():
            if self._written.get(cid) is not state:
                store.upsert_order(state, run, ts_updated=stamp)
                self._written[cid] = state
        self._write_levels(driver)
        for fill in driver.fills[self._fills_written :]:
            store.add_fill(fill, run)
        self._fills_written = len(driver.fills)
        closed = kernel.portfolio.closed_trades()
        for trade in closed[self._trades_written :]:
            store.add_trade(trade, run)
        self._trades_written = len(closed)
        for ts, equity, cash in self.equity[self._equity_written :]:
            store.add_equity_point(run, EquityPoint(ts=ts, equity=equity, cash=cash))
        self._equity_written = len(self.equity)
        if stamp is not None:
            for position in kernel.portfolio.positions.values():
                store.set_position(position, run, stamp)
        for event in events:
            key = _event_key(event)
            if key not in self._events_seen:
                store.add_risk_event(event, run)
                self._events_seen.add(key)
        self._write_staleness()

    def _write_staleness(self) -> None:
        """Each staleness change not stored yet, as a ``model_staleness`` system event."""
        if self._staleness is None:
            return
        changes = self._staleness.changes
        for change in changes[self._changes_written :]:
            key = (change.ts_ns, change.column)
            if key in self._changes_seen:
                continue
            detail = {"run_id": self._run_id, **change.to_dict()}
            self._store.add_system_event(MODEL_STALENESS, detail, actor="paper", ts=change.ts_ns)
            self._changes_seen.add(key)
        self._changes_written = len(changes)

    def _write_levels(self, driver: LiveDriver) -> None:
        """Each protected entry's stop and target, from its bracket children (once per entry)."""
        levels: dict[str, dict[str, float]] = {}
        stamps: dict[str, int] = {}
        for state in driver.kernel.orders.values():
            request = state.request
            parent = request.parent_id
            if parent is None or parent in self._levels_written:
                continue
            found = levels.setdefault(parent, {})
            stamps[parent] = request.ts_init
            if request.order_type is OrderType.STOP and request.stop_price is not None:
                found["stop"] = request.stop_price
            elif request.order_type is OrderType.LIMIT and request.limit_price is not None:
                found["target"] = request.limit_price
        for parent, found in levels.items():
            self._store.set_protective_levels(
                self._run_id,
                ProtectiveLevels(
                    client_order_id=parent,
                    stop=found.get("stop"),
                    target=found.get("target"),
                    method=self._level_method,
                    ts_init=stamps[parent],
                ),
            )
            self._levels_written.add(parent)

    def daily(self, tracking_error: pd.Series, trades_by_day: pd.Series) -> list[DailyPerformance]:
        """Each UTC day's performance from the equity noted, with its tracking error, stored."""
        days: list[DailyPerformance] = []
        previous: float | None = None
        peak = -math.inf
        returns: list[float] = []
        by_day: dict[int, float] = {}
        for ts, equity, _ in self.equity:
            by_day[(ts // NS_PER_DAY) * NS_PER_DAY] = equity
        for day, equity in sorted(by_day.items()):
            start = previous if previous is not None else self.equity[0][1]
            pnl = equity - start
            day_return = pnl / start if start else 0.0
            returns.append(day_return)
            peak = max(peak, equity)
            sharpe = _sharpe(returns)
            error = tracking_error.get(day)
            performance = DailyPerformance(
                day_ts=day,
                pnl=pnl,
                day_return=day_return,
                trades=int(trades_by_day.get(day, 0)),
                equity=equity,
                drawdown=(peak - equity) / peak if peak > 0 else 0.0,
                sharpe_to_date=sharpe,
                tracking_error=None if error is None else float(error),
            )
            self._store.set_daily_performance(self._run_id, performance)
            days.append(performance)
            previous = equity
        return days


def model_status(store: TradingStore, run_id: str) -> dict[str, Any]:
    """Each model column's latest staleness change in ``run_id``'s session, and the retrain flag.

    A column with no change stored is fresh (the monitor starts there).
    """
    columns: dict[str, dict[str, Any]] = {}
    for event in store.system_events(MODEL_STALENESS, limit=_EVENTS_READ):
        detail = event.detail or {}
        column = detail.get("column")
        if detail.get("run_id") != run_id or not isinstance(column, str) or column in columns:
            continue
        columns[column] = {
            "verdict": detail.get("verdict"),
            "since": detail.get("ts"),
            "confidence": detail.get("confidence"),
            "retrain": bool(detail.get("retrain")),
            "reasons": detail.get("reasons", []),
        }
    return {
        "retrain": any(c["retrain"] for c in columns.values()),
        "columns": dict(sorted(columns.items())),
    }


def _sharpe(returns: list[float]) -> float | None:
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return None if variance <= 0 else mean / math.sqrt(variance) * math.sqrt(252)


def _event_key(event: RiskEvent) -> tuple[object, ...]:
    return (event.ts, event.component, event.reason)
