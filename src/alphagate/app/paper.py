"""Composition of ``alphagate paper``: a run's models traded on a replayed feed, recoverably.

A paper session belongs to a run: ``<runs>/<run_id>/paper/`` holds the
engine's journal (``journal.db``) and the paper venue's ledger
(``venue.db``). The kill switch is the operator's (``risk.kill_switch_state``,
``alphagate kill-switch``), obeyed once the journal is replayed. Starting the
same session again resumes it (:func:`alphagate.live.recovery.recover`); a crash
at any point resumes the same way.

The engine is the backtest's, piece for piece (:mod:`alphagate.app.model_backtest`):
the run's models through the decision path, out of sample only, the risk
guard, the execution settings' fill model and commission, the staleness
monitor. Predictions are computed online, bar by bar, as a live run must; so
a replay of a run's holdout gives exactly what ``backtest --strategy model
--predictor online`` gives on the same bars (tested).

**The retrain flag.** Each time a model's staleness verdict changes, the
books store a ``model_staleness`` system event in the trading database (the
bar, the column, the verdict, the multiplier, ``retrain`` and the reasons);
``paper status`` shows each column's latest one, and the panel the verdict
of the bar just closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphagate.adapters.journal.sqlite import SqliteJournal
from alphagate.adapters.trading_db.records import LevelMethod
from alphagate.adapters.trading_db.store import TradingStore
from alphagate.app.backtest import commission_of, fill_model_of
from alphagate.app.kill_switch import open_kill_switch
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    ModelRunPlan,
    PredictorKind,
    PreparedModelRun,
    backtest_prepared,
    load_trained_run,
    plan_model_run,
    prepare_model_run,
)
from alphagate.app.paper_engine import JOURNAL, PaperParts, paper_engine
from alphagate.app.trading_books import TradingBooks, model_status
from alphagate.app.trading_db import open_trading_store
from alphagate.config import Settings
from alphagate.domain.bars import symbols_of
from alphagate.domain.instants import NS_PER_DAY
from alphagate.errors import AlphagateError
from alphagate.live.driver import LiveDriver
from alphagate.live.feeds import ReplayFeed
from alphagate.live.runner import OpenOrderPolicy, RunSummary, run_live
from alphagate.live.shadow import ShadowReport, compare
from alphagate.monitor.engine_monitor import EngineMonitor
from alphagate.risk.events import RiskEvent, Severity
from alphagate.runs import find_run
from alphagate.strategies.model import ModelStrategy


@dataclass(frozen=True)
class PaperRequest:
    """What ``alphagate paper`` was asked; ``None`` bounds mean the whole out-of-sample span."""

    run_id: str
    runs_dir: Path = Path("runs")
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    speed: float | None = None
    """Multiple of real time between bars; ``None`` replays at full speed."""
    max_cycles: int | None = None
    open_orders: OpenOrderPolicy = "keep"
    predictor: PredictorKind = "online"
    tracking_alert: float = 0.005
    """A day whose shadow tracking error (equity gap / starting cash) passes this is an alert."""


@dataclass(frozen=True)
class PaperOutcome:
    """A session's run: its summary, books and risk events."""

    session: Path
    summary: RunSummary
    driver: LiveDriver
    risk_events: list[RiskEvent]
    shadow: ShadowReport | None
    """The session against its shadow backtest (``None`` when no bar was traded)."""


def session_dir(runs_dir: Path, run_id: str) -> Path:
    """Where run ``run_id``'s paper session keeps its journal, ledger and kill switch."""
    return runs_dir / run_id / "paper"


def simulated_parts(
    plan: ModelRunPlan, bar_interval_ns: int, *, baseline: Any = None
) -> PaperParts:
    """The paper account of a run's plan: its cash, fill and cost models, sizing and risk."""
    execution = plan.settings.execution
    return PaperParts(
        cash=execution.cash,
        fill_model=fill_model_of(execution),
        commission=commission_of(execution),
        units="whole" if plan.decision.whole_units else "fractional",
        sizing=execution.sizing,
        latency_bars=execution.latency_bars,
        risk=plan.risk,
        baseline=baseline,
        bar_interval_ns=bar_interval_ns,
    )


def level_method(plan: ModelRunPlan) -> LevelMethod:
    """Which protective levels the books record: the plan's Fibonacci or ATR stops."""
    return LevelMethod.FIBONACCI if plan.decision.protect.fibonacci else LevelMethod.ATR


def run_paper(
    settings: Settings,
    bars: pd.DataFrame,
    request: PaperRequest,
    *,
    on_cycle: Callable[[LiveDriver], None] | None = None,
    handle_signals: bool = True,
    monitor: EngineMonitor | None = None,
) -> PaperOutcome:
    """Replay a run's out-of-sample bars through the paper engine; resume a session already begun.

    Raises
    ------
    AlphagateError
        When the run is missing, the bars are not the run's, no bar is left
        to replay, or the session's journal was written by other settings.

    ``monitor`` (``--serve``) sees every cycle, risk event and the feed's steps.
    """
    plan = plan_model_run(
        settings,
        ModelBacktestRequest(request.run_id, request.runs_dir, predictor=request.predictor),
    )
    trained = load_trained_run(request.runs_dir, request.run_id)
    prepared = prepare_model_run(settings, bars, trained)
    replay = _clip(prepared.bars, request.start, request.end)
    session = session_dir(request.runs_dir, trained.run_id)
    session.mkdir(parents=True, exist_ok=True)
    events: list[RiskEvent] = []
    parts = simulated_parts(plan, _bar_interval(replay), baseline=prepared.baseline)
    health = None if prepared.health is None else prepared.health.monitor()
    strategy = ModelStrategy(prepared.predictor(plan.predictor), plan.decision, health=health)
    store = open_trading_store(plan.settings)
    books = TradingBooks(store, trained.run_id, level_method=level_method(plan), staleness=health)

    if monitor is not None and health is not None:
        monitor.watch_models(health)

    def each_cycle(d: LiveDriver) -> None:
        books(d)
        if monitor is not None:
            monitor(d)
        if on_cycle is not None:
            on_cycle(d)

    def each_event(event: RiskEvent) -> None:
        events.append(event)
        if monitor is not None:
            monitor.on_event(event)

    feed = ReplayFeed(replay, speed=request.speed)

    try:
        with paper_engine(
            plan.settings, strategy, symbols_of(replay), parts, session=session,
            events=each_event,
        ) as (driver, go_live):  # fmt: skip
            summary = asyncio.run(
                run_live(
                    driver, feed if monitor is None else monitor.timed(feed),
                    max_cycles=request.max_cycles, open_orders=request.open_orders,
                    on_cycle=each_cycle, after_recovery=go_live, handle_signals=handle_signals,
                )
            )  # fmt: skip
            books.flush(driver, events)
            if monitor is not None:
                monitor.finish(driver, summary.stopped_by)
            shadow = shadow_backtest(
                store, plan, dataclasses.replace(prepared, bars=replay), books=books,
                driver=driver, events=events, tracking_alert=request.tracking_alert,
                exact=request.speed is None,
            )  # fmt: skip
    finally:
        store.close()
    return PaperOutcome(session, summary, driver, events, shadow)


def shadow_backtest(
    store: TradingStore,
    plan: ModelRunPlan,
    prepared: PreparedModelRun,
    *,
    books: TradingBooks,
    driver: LiveDriver,
    events: list[RiskEvent],
    tracking_alert: float,
    exact: bool,
) -> ShadowReport | None:
    """End a session with its shadow backtest: compare, store each day's tracking error, alert.

    One function for the replay and the live-feed sessions, so that gate 3
    grades both records by the same comparison. ``prepared.bars`` holds (at
    least) the bars the session traded and ``prepared.earlier`` what its model
    warmed up on; ``exact``: any order or fill difference is an alert too (a
    replay at full speed must match its backtest exactly). ``None`` when fewer
    than two bars were traded.
    """
    shadow = _shadow(plan, prepared, books=books, driver=driver)
    if shadow is not None:
        _record_shadow(
            store, shadow, books=books, driver=driver, events=events,
            tracking_alert=tracking_alert, exact=exact,
        )  # fmt: skip
        books.flush(driver, events)
    return shadow


def _shadow(
    plan: ModelRunPlan,
    prepared: PreparedModelRun,
    *,
    books: TradingBooks,
    driver: LiveDriver,
) -> ShadowReport | None:
    """Backtest the bars the session traded, from its first to its last, and compare.

    ``None`` for a session of fewer than two bars: a backtest needs two.
    """
    if len(books.equity) < 2:
        return None
    first, last = books.equity[0][0], books.equity[-1][0]
    traded = prepared.bars
    ns = pd.DatetimeIndex(traded.index.get_level_values("ts")).as_unit("ns").asi8
    span = traded.loc[(ns >= first) & (ns <= last)]
    result, _, _ = backtest_prepared(
        dataclasses.replace(prepared, bars=span), plan, plan.decision, plan.settings.data.calendar
    )
    equity = pd.Series([e for _, e, _ in books.equity], index=[t for t, _, _ in books.equity])
    return compare(
        orders=list(driver.kernel.orders.values()),
        fills=driver.fills,
        equity=equity,
        shadow_orders=result.orders,
        shadow_fills=result.fill_records,
        shadow_equity=result.equity,
        cash=plan.settings.execution.cash,
    )


def _record_shadow(
    store: TradingStore,
    shadow: ShadowReport,
    *,
    books: TradingBooks,
    driver: LiveDriver,
    events: list[RiskEvent],
    tracking_alert: float,
    exact: bool,
) -> None:
    """Store each day's tracking error and the comparison; raise an alert above the threshold."""
    exits = [t.exit_ts for t in driver.kernel.portfolio.closed_trades() if t.exit_ts is not None]
    trades_by_day = pd.Series(1, index=[(t // NS_PER_DAY) * NS_PER_DAY for t in exits])
    books.daily(shadow.tracking_error, trades_by_day.groupby(level=0).sum())
    detail = {
        "orders": shadow.orders_compared,
        "fills": shadow.fills_compared,
        "order_differences": shadow.order_differences,
        "fill_differences": shadow.fill_differences,
        "worst_tracking_error": shadow.worst,
        "days": len(shadow.tracking_error),
    }
    last = books.equity[-1][0]
    store.add_system_event("shadow_backtest", detail, actor="paper", ts=last)
    if shadow.worst > tracking_alert or (exact and not shadow.exact()):
        events.append(
            RiskEvent(
                ts=pd.Timestamp(last, tz="UTC"),
                component="shadow",
                severity=Severity.WARNING,
                reason=(
                    f"paper strayed from its shadow backtest: worst daily tracking error "
                    f"{shadow.worst:.3g} (alert above {tracking_alert:g}); "
                    f"{len(shadow.order_differences)} order and "
                    f"{len(shadow.fill_differences)} fill differences"
                ),
                data=detail,
            )
        )


def _bar_interval(bars: pd.DataFrame) -> int:
    """The most common spacing between the bars' closes, in ns (a day when fewer than two)."""
    stamps = np.unique(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8)
    if len(stamps) < 2:
        return NS_PER_DAY
    gaps, counts = np.unique(np.diff(stamps), return_counts=True)
    return int(gaps[np.argmax(counts)])


def _clip(bars: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    ts = bars.index.get_level_values("ts")
    keep = pd.Series(True, index=bars.index).to_numpy()
    if start is not None:
        keep &= ts >= start
    if end is not None:
        keep &= ts <= end
    clipped = bars.loc[keep]
    if clipped.empty:
        span = f"{ts.min()} to {ts.max()}"
        raise AlphagateError(
            f"no out-of-sample bar between {start} and {end}; the run's span is {span}"
        )
    return clipped


def session_status(
    settings: Settings, runs_dir: Path, run_id: str, *, session: Path | None = None
) -> dict[str, Any]:
    """The session's books from its latest snapshot, and the kill switch; nothing is started.

    ``session``: another session folder of the run (a live one) instead of its paper session.
    """
    run = find_run(runs_dir, run_id)
    session = session if session is not None else session_dir(runs_dir, run.run_id)
    if not (session / JOURNAL).exists():
        raise AlphagateError(
            f"run {run.run_id} has no paper session in {session}; start one with "
            f"`alphagate paper --run {run.run_id}`"
        )
    journal = SqliteJournal(session / JOURNAL, readonly=True)
    try:
        latest = journal.latest_snapshot()
        records = sum(1 for _ in journal.replay(after=0 if latest is None else latest[0]))
    finally:
        journal.close()
    switch = open_kill_switch(settings)
    books: dict[str, Any] = dict(latest[1]) if latest is not None else {}
    tripped = switch.is_tripped()
    store = open_trading_store(settings)
    try:
        model = model_status(store, run.run_id)
    finally:
        store.close()
    return {
        "run_id": run.run_id,
        "session": str(session),
        **books,
        "records_after_snapshot": records,
        "kill_switch": {"tripped": tripped, "reason": switch.reason},
        "degradation": "halted" if tripped else books.get("degradation") or "normal",
        "model": model,
    }
