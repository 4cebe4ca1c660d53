"""What a running engine shows the operator: metrics and a read-only view, updated per cycle.

:class:`EngineMonitor` is the runner's ``on_cycle`` hook. After each cycle,
in the engine's own thread, it reads the driver's books, sets the metrics
and swaps in a fresh :class:`EngineView`; the HTTP server's threads only
read the last view, so a request never sees the kernel half-way through a
cycle and never slows one down. Nothing here writes to the kernel, the
journal or the venue.

Work grows with what changed, not with the session's length: orders are
refreshed when new or working, fills and trades are taken from where the
last cycle stopped. The decision trace and the journal's snapshot are read
at most every ``slow_every`` seconds (and when the run ends), since both
cost a query or a frame.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import TERMINAL_STATUSES, OrderState
from alphagate.domain.orders import Fill, OrderStatus
from alphagate.engine.staleness import StalenessReport
from alphagate.live.driver import LiveDriver
from alphagate.monitor.metrics import EngineMetrics
from alphagate.risk.events import RiskEvent

RECENT = 200
"""Orders, trades and decisions a view keeps: enough for a dashboard, bounded per cycle."""
BREAKER_LEVELS = {"NORMAL": 0, "ELEVATED": 1, "CRISIS": 2}


class SteppingFeed(Protocol):
    """The runner's feed (:class:`alphagate.live.runner.SteppingFeed`)."""

    def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]: ...


class WatchedModels(Protocol):
    """The staleness monitor as the engine monitor reads it: latest reports and calibration."""

    @property
    def latest(self) -> Mapping[str, StalenessReport]: ...

    def calibration_error(self, column: str) -> float | None: ...


@dataclass(frozen=True)
class EngineView:
    """The engine as of its last cycle, JSON-ready; what the API and ``/health`` read."""

    status: dict[str, Any] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    open_orders: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    execution: dict[str, Any] = field(default_factory=dict)
    components: dict[str, dict[str, str]] = field(default_factory=dict)
    degradation: str = "starting"
    breaker: str = "NORMAL"
    last_cycle_wall: float | None = None
    stopped_by: str | None = None


class EngineMonitor:
    """The ``on_cycle`` hook that keeps :attr:`metrics` and :meth:`view` current.

    Parameters
    ----------
    cash
        The starting cash, for the P&L.
    clock
        Wall clock in seconds (injected by tests).
    slow_every
        Seconds between reads of the decision trace and the journal's snapshot.
    """

    def __init__(
        self,
        cash: float,
        *,
        metrics: EngineMetrics | None = None,
        clock: Callable[[], float] = time.time,
        slow_every: float = 1.0,
    ) -> None:
        self.metrics = metrics if metrics is not None else EngineMetrics()
        self._cash, self._clock, self._slow_every = cash, clock, slow_every
        self._lock = threading.Lock()
        self._view = EngineView()
        self._equity: list[tuple[int, float]] = []
        self._peak = -math.inf
        self._day: tuple[int, float] | None = None
        self._status: dict[str, OrderStatus] = {}
        self._counts: dict[OrderStatus, int] = dict.fromkeys(OrderStatus, 0)
        self._was_working: set[str] = set()
        self._fills_seen = 0
        self._trades: list[dict[str, Any]] = []
        self._trades_seen = 0
        self._slippage: list[float] = []
        self._latency: list[float] = []
        self._decisions_seen = 0
        self._decisions: list[dict[str, Any]] = []
        self._last_slow = -math.inf
        self._step_began: float | None = None
        self._breaker = "NORMAL"
        self._models: WatchedModels | None = None

    # -- hooks ---------------------------------------------------------------------------

    def watch_models(self, models: WatchedModels) -> None:
        """Export the traded models' staleness and calibration (the paper engine's monitor)."""
        self._models = models

    def timed(self, feed: SteppingFeed) -> SteppingFeed:
        """``feed``, noting when each step arrives so the cycle it starts can be timed."""
        monitor = self

        class _Timed:
            async def stream(
                self, after: int | None = None
            ) -> AsyncIterator[tuple[int, Sequence[Bar]]]:
                async for step in feed.stream(after=after):
                    monitor._step_began = time.perf_counter()
                    yield step

        return _Timed()

    def on_event(self, event: RiskEvent) -> None:
        """Take a risk event: the correlation breaker's level changes are its only state here."""
        if event.component == "correlation_breaker":
            level = str(event.data.get("to", "NORMAL"))
            self._breaker = level
            self.metrics.breaker.set(BREAKER_LEVELS.get(level, 0))

    def finish(self, driver: LiveDriver, stopped_by: str) -> None:
        """The run is over: a last full read, and the feed shown as stopped."""
        self._last_slow = -math.inf
        self(driver)
        with self._lock:
            self._view = replace(self._view, stopped_by=stopped_by)

    def __call__(self, driver: LiveDriver) -> None:
        """Read the driver's books after one cycle (the runner's ``on_cycle``)."""
        began, self._step_began = self._step_began, None
        kernel = driver.kernel
        portfolio = kernel.portfolio
        closes = kernel.latest_closes()
        equity = portfolio.equity(closes)
        m = self.metrics
        if driver.last_ts is not None:
            self._note_equity(driver.last_ts, equity)
            m.last_bar.set(driver.last_ts / 1e9)
        m.equity.set(equity)
        m.cash.set(portfolio.cash)
        m.pnl_total.set(equity - self._cash)
        m.pnl_day.set(equity - (self._day[1] if self._day is not None else equity))
        m.drawdown.set((self._peak - equity) / self._peak if self._peak > 0 else 0.0)
        m.cycles.set(driver.cycles)
        positions = self._positions(driver, closes, equity)
        self._orders(driver)
        fills_changed = self._fills(driver)
        if fills_changed or self._trades_seen == 0:
            self._take_trades(driver)
        components, degradation = self._health(driver)
        now = self._clock()
        if now - self._last_slow >= self._slow_every:
            self._last_slow = now
            self._take_decisions(driver)
            self._journal(driver)
            self._take_models()
        if began is not None:
            m.cycle.observe(time.perf_counter() - began)
        m.last_cycle.set(now)
        view = EngineView(
            status={
                "last_bar": None if driver.last_ts is None else _iso(driver.last_ts),
                "cycles": driver.cycles,
                "equity": equity,
                "cash": portfolio.cash,
                "pnl_total": equity - self._cash,
                "orders_sent": len(kernel.orders),
                "working_orders": len(kernel.working),
                "degradation": degradation,
                "kill_switch_tripped": components["kill_switch"]["status"] != "ok",
                "breaker": self._breaker,
            },
            positions=positions,
            open_orders=[_order(kernel.orders[c]) for c in sorted(kernel.working)],
            orders=[_order(kernel.orders[c]) for c in _newest(kernel.orders, RECENT)],
            trades=list(self._trades[-RECENT:]),
            decisions=list(self._decisions),
            execution=self._execution(),
            components=components,
            degradation=degradation,
            breaker=self._breaker,
            last_cycle_wall=now,
        )
        with self._lock:
            self._view = view

    # -- what the server reads -----------------------------------------------------------

    def view(self) -> EngineView:
        """The view as of the last cycle."""
        with self._lock:
            return self._view

    def equity_curve(self) -> list[tuple[int, float]]:
        """(bar close ns, equity) at every cycle, replayed ones included."""
        with self._lock:
            return list(self._equity)

    # -- pieces --------------------------------------------------------------------------

    def _note_equity(self, ts: int, equity: float) -> None:
        day = ts // 86_400_000_000_000
        if self._day is None or self._day[0] != day:
            self._day = (day, equity)
        self._peak = max(self._peak, equity)
        with self._lock:
            if self._equity and self._equity[-1][0] == ts:
                self._equity[-1] = (ts, equity)
            else:
                self._equity.append((ts, equity))

    def _positions(
        self, driver: LiveDriver, closes: dict[str, float], equity: float
    ) -> list[dict[str, Any]]:
        m = self.metrics
        portfolio = driver.kernel.portfolio
        venue = driver.venue.account().positions
        rows: list[dict[str, Any]] = []
        gross = net = 0.0
        differing = 0
        for symbol, position in sorted(portfolio.positions.items()):
            close = closes.get(symbol, math.nan)
            value = position.quantity * close if position.quantity else 0.0
            gross, net = gross + abs(value), net + value
            m.position.labels(symbol).set(position.quantity)
            m.position_value.labels(symbol).set(value)
            difference = venue.get(symbol, 0.0) - position.quantity
            m.reconciliation.labels(symbol).set(difference)
            differing += difference != 0
            if position.quantity:
                rows.append(
                    {
                        "symbol": symbol,
                        "quantity": position.quantity,
                        "average_price": position.average_price,
                        "last": _finite(close),
                        "value": _finite(value),
                        "unrealised_pnl": _finite(
                            (close - position.average_price) * position.quantity
                        ),
                        "realised_pnl": position.realised_pnl,
                    }
                )
        m.reconciliation_count.set(differing)
        m.exposure_gross.set(gross / equity if equity > 0 else 0.0)
        m.exposure_net.set(net / equity if equity > 0 else 0.0)
        return rows

    def _orders(self, driver: LiveDriver) -> None:
        kernel = driver.kernel
        fresh = len(kernel.orders) - len(self._status)
        touched = set(self._was_working) | set(kernel.working)
        touched.update(_newest(kernel.orders, max(fresh, 0)))
        for cid in touched:
            status = kernel.orders[cid].status
            old = self._status.get(cid)
            if old is not status:
                if old is not None:
                    self._counts[old] -= 1
                self._counts[status] += 1
                self._status[cid] = status
        self._was_working = set(kernel.working)
        for status, count in self._counts.items():
            self.metrics.orders.labels(status.value).set(count)
        self.metrics.open_orders.set(len(kernel.working))
        ended = sum(c for s, c in self._counts.items() if s in TERMINAL_STATUSES)
        self.metrics.fill_rate.set(self._counts[OrderStatus.FILLED] / ended if ended else 0.0)

    def _fills(self, driver: LiveDriver) -> bool:
        fills = driver.fills[self._fills_seen :]
        for fill in fills:
            self.metrics.fills.labels(fill.side.value).inc()
            state = driver.kernel.orders.get(fill.client_order_id)
            if state is None:
                continue
            decided = state.request.ts_init
            self._latency.append(max(fill.ts_event - decided, 0) / 1e9)
            self.metrics.latency.observe(self._latency[-1])
            reference = _close_at(driver, fill, decided)
            if reference is not None:
                bps = fill.side.sign * (fill.price - reference) / reference * 1e4
                self._slippage.append(bps)
                self.metrics.slippage.observe(bps)
        self._fills_seen += len(fills)
        if self._slippage:
            self.metrics.slippage_mean.set(math.fsum(self._slippage) / len(self._slippage))
        return bool(fills)

    def _take_trades(self, driver: LiveDriver) -> None:
        closed = driver.kernel.portfolio.closed_trades()
        for trade in closed[self._trades_seen :]:
            self._trades.append(
                {
                    "symbol": trade.symbol,
                    "side": trade.side.value,
                    "quantity": trade.quantity,
                    "entry_ts": _iso(trade.entry_ts),
                    "entry_price": trade.entry_price,
                    "exit_ts": None if trade.exit_ts is None else _iso(trade.exit_ts),
                    "exit_price": trade.exit_price,
                    "pnl": trade.pnl,
                }
            )
        del self._trades[: max(len(self._trades) - RECENT, 0)]
        self._trades_seen = len(closed)

    def _health(self, driver: LiveDriver) -> tuple[dict[str, dict[str, str]], str]:
        m = self.metrics
        components: dict[str, dict[str, str]] = {}
        tripped = driver.operator is not None and driver.operator.engine.is_tripped()
        m.kill_switch.set(1.0 if tripped else 0.0)
        components["kill_switch"] = (
            {"status": "failed", "detail": "the engine's kill switch is tripped"}
            if tripped
            else {"status": "ok", "detail": ""}
        )
        if driver.gate is None:
            return components, "starting"
        registry = driver.gate.registry
        report = registry.last_report
        if report is not None:
            for finding in report.findings:
                components[finding.component] = {
                    "status": finding.status.value,
                    "detail": finding.detail,
                }
            if report.stale_symbols:
                components["market_data"] = {
                    "status": "degraded",
                    "detail": "no fresh bar of " + ", ".join(report.stale_symbols),
                }
        for name, answer in components.items():
            m.component.labels(name).set(1.0 if answer["status"] == "ok" else 0.0)
        m.degradation.set(int(registry.level))
        return components, registry.level.label

    def _take_decisions(self, driver: LiveDriver) -> None:
        decisions = getattr(driver.kernel.strategy, "decisions", None)
        if not callable(decisions):
            return
        frame = decisions()
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            return
        fresh = frame.iloc[self._decisions_seen :]
        self._decisions_seen = len(frame)
        if not fresh.empty:
            blocked = fresh.get("blocked_by", pd.Series(None, index=fresh.index))
            counts = Counter(
                zip(fresh["action"].astype(str), blocked.fillna("none").astype(str), strict=True)
            )
            for (action, block), count in counts.items():
                self.metrics.decisions.labels(action, block).inc(count)
        self._decisions = [_json_row(row) for row in frame.tail(RECENT).to_dict("records")]

    def _take_models(self) -> None:
        models = self._models
        if models is None:
            return
        for column, report in sorted(models.latest.items()):
            self.metrics.observe_staleness(column, report, models.calibration_error(column))

    def _journal(self, driver: LiveDriver) -> None:
        self.metrics.journal_seq.set(driver.last_seq)
        latest = driver.journal.latest_snapshot()
        since = 0 if latest is None else latest[0]
        self.metrics.journal_lag.set(max(driver.last_seq - since, 0))

    def _execution(self) -> dict[str, Any]:
        ended = sum(c for s, c in self._counts.items() if s in TERMINAL_STATUSES)
        return {
            "orders_by_status": {s.value: c for s, c in self._counts.items() if c},
            "fills": self._fills_seen,
            "fill_rate": self._counts[OrderStatus.FILLED] / ended if ended else None,
            "slippage_bps_mean": _mean(self._slippage),
            "slippage_bps": self._slippage[-RECENT:],
            "decision_to_fill_seconds_mean": _mean(self._latency),
        }


def _newest(orders: dict[str, OrderState], n: int) -> list[str]:
    found: list[str] = []
    for cid in reversed(orders):
        if len(found) >= n:
            break
        found.append(cid)
    return found


def _close_at(driver: LiveDriver, fill: Fill, ts: int) -> float | None:
    """The close of ``fill``'s symbol at the last bar at or before ``ts`` (the decision bar)."""
    market = driver.kernel.market
    stamps = market.column(fill.symbol, "ts")
    row = int(np.searchsorted(stamps, ts, side="right")) - 1
    if row < 0:
        return None
    close = float(market.column(fill.symbol, "close")[row])
    return close if close > 0 else None


def _order(state: OrderState) -> dict[str, Any]:
    request = state.request
    return {
        "client_order_id": request.client_order_id,
        "symbol": request.symbol,
        "side": request.side.value,
        "type": request.order_type.value,
        "quantity": request.quantity,
        "limit_price": request.limit_price,
        "stop_price": request.stop_price,
        "status": state.status.value,
        "filled_qty": state.filled_qty,
        "avg_fill_price": state.avg_fill_price,
        "decided": _iso(request.ts_init),
    }


def _json_row(row: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, pd.Timestamp):
            out[str(key)] = value.isoformat()
        elif isinstance(value, float | np.floating):
            out[str(key)] = _finite(float(value))
        elif isinstance(value, np.integer | np.bool_):
            out[str(key)] = value.item()
        elif value is None or isinstance(value, str | int | bool):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out


def _iso(ts: int) -> str:
    return pd.Timestamp(ts, tz="UTC").isoformat()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None
