"""Composition of ``alphagate paper``: a run's models traded on a replayed feed, recoverably.

A paper session belongs to a run: ``<runs>/<run_id>/paper/`` holds the
engine's journal (``journal.db``) and the paper venue's ledger
(``venue.db``). The kill switch is the operator's (``risk.kill_switch_state``,
``alphagate kill-switch``), obeyed once the journal is replayed. Starting the
same session again resumes it (:func:`alphagate.live.recovery.recover`); a crash
at any point resumes the same way.

The engine is the backtest's, piece for piece (:mod:`alphagate.app.model_backtest`):
the run's models through the decision path, out of sample only, the risk
guard, the execution settings' fill model and commission. Predictions are
computed online, bar by bar, as a live run must; so a replay of a run's
holdout gives exactly what ``backtest --strategy model --predictor online``
gives on the same bars (tested).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from alphagate.adapters.journal.sqlite import SqliteJournal
from alphagate.app.backtest import commission_of, fill_model_of
from alphagate.app.kill_switch import open_kill_switch
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    PredictorKind,
    load_trained_run,
    plan_model_run,
    prepare_model_run,
)
from alphagate.config import Settings
from alphagate.domain.bars import symbols_of
from alphagate.engine.kernel import Kernel
from alphagate.engine.market import MarketData
from alphagate.errors import AlphagateError
from alphagate.execution.portfolio import Portfolio
from alphagate.execution.venue import SimulatedVenue
from alphagate.live.driver import LiveDriver
from alphagate.live.feeds import ReplayFeed
from alphagate.live.paper_venue import PaperVenue
from alphagate.live.runner import OpenOrderPolicy, RunSummary, run_live
from alphagate.risk.events import RiskEvent
from alphagate.risk.guard import RiskGuard
from alphagate.risk.kill_switch import KillSwitch
from alphagate.runs import find_run
from alphagate.strategies.model import ModelStrategy

JOURNAL: Final = "journal.db"
LEDGER: Final = "venue.db"


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


@dataclass(frozen=True)
class PaperOutcome:
    """A session's run: its summary, books and risk events."""

    session: Path
    summary: RunSummary
    driver: LiveDriver
    risk_events: list[RiskEvent]


def session_dir(runs_dir: Path, run_id: str) -> Path:
    """Where run ``run_id``'s paper session keeps its journal, ledger and kill switch."""
    return runs_dir / run_id / "paper"


def run_paper(
    settings: Settings,
    bars: pd.DataFrame,
    request: PaperRequest,
    *,
    on_cycle: Callable[[LiveDriver], None] | None = None,
    handle_signals: bool = True,
) -> PaperOutcome:
    """Replay a run's out-of-sample bars through the paper engine; resume a session already begun.

    Raises
    ------
    AlphagateError
        When the run is missing, the bars are not the run's, no bar is left
        to replay, or the session's journal was written by other settings.
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
    execution = plan.settings.execution
    events: list[RiskEvent] = []
    operator_switch = open_kill_switch(plan.settings)
    fill_model = fill_model_of(execution)
    symbols = symbols_of(replay)
    with tempfile.TemporaryDirectory(prefix="alphagate-replay-kill-") as scratch:
        guard = RiskGuard.from_settings(
            plan.risk, KillSwitch(Path(scratch) / "kill_switch.json"), events.append,
            baseline=prepared.baseline,
        )  # fmt: skip
        kernel = Kernel(
            ModelStrategy(prepared.predictor(plan.predictor), plan.decision),
            Portfolio(execution.cash),
            MarketData.empty(symbols),
            commission=commission_of(execution),
            units="whole" if plan.decision.whole_units else "fractional",
            sizing=execution.sizing,
            guard=guard,
        )
        venue = SimulatedVenue(
            fill_model, commission_of(execution), execution.latency_bars,
            symbols=symbols, starting_cash=execution.cash,
        )  # fmt: skip
        journal, ledger = SqliteJournal(session / JOURNAL), SqliteJournal(session / LEDGER)
        try:
            driver = LiveDriver(
                kernel, PaperVenue(venue, ledger), journal,
                feed_every_bar=fill_model.history_bars > 0,
            )  # fmt: skip

            def go_live(d: LiveDriver) -> None:
                guard.obey(operator_switch)
                if operator_switch.is_tripped() and d.last_ts is not None:
                    d.carry_out(d.kernel.on_timer(d.last_ts, "guard"))

            summary = asyncio.run(
                run_live(
                    driver, ReplayFeed(replay, speed=request.speed),
                    max_cycles=request.max_cycles, open_orders=request.open_orders,
                    on_cycle=on_cycle, after_recovery=go_live, handle_signals=handle_signals,
                )
            )  # fmt: skip
        finally:
            journal.close()
            ledger.close()
    return PaperOutcome(session, summary, driver, events)


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


def session_status(settings: Settings, runs_dir: Path, run_id: str) -> dict[str, Any]:
    """The session's books from its latest snapshot, and the kill switch; nothing is started."""
    run = find_run(runs_dir, run_id)
    session = session_dir(runs_dir, run.run_id)
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
    return {
        "run_id": run.run_id,
        "session": str(session),
        **books,
        "records_after_snapshot": records,
        "kill_switch": {"tripped": tripped, "reason": switch.reason},
        "degradation": "halted" if tripped else "normal",
    }
