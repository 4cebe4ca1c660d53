"""``alphagate paper --feed VENUE``: the paper engine on a venue's live bars, never its orders.

Gate 3 in ``gates.paper_mode: live`` needs a paper record of real trading
days, not a replayed holdout. So this drives the same paper engine as
:func:`alphagate.app.paper.run_paper` (simulated fills on the paper venue's
own ledger, the risk guard, the journal and recovery) with the bar feed that
``alphagate live`` polls (:data:`alphagate.app.live.VENUES`). Only the
opener's *feed* is used: the broker venue is never handed to the engine and
its trade stream is never started, so no order can reach the broker.

The session lives in ``<runs>/<run_id>/paper-live-<venue>/`` (journal,
ledger, ``session.json`` pinning the warm-up's last bar so that a restart
replays the journal on the same model state). Its books go to the trading
database under :func:`book_id`, apart from the replay session's, so that a
replay never mixes into the live record gate 3 grades.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from alphagate.app.live import VENUES, OpenedVenue, warm_up_bars, warm_up_end
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    PreparedModelRun,
    load_trained_run,
    online_predictor,
    plan_model_run,
)
from alphagate.app.paper import PaperOutcome, level_method, shadow_backtest, simulated_parts
from alphagate.app.paper_engine import paper_engine
from alphagate.app.trading_books import TradingBooks
from alphagate.app.trading_db import open_trading_store
from alphagate.atomic import write_text_atomically
from alphagate.config import Settings
from alphagate.domain.bars import BAR_COLUMNS, bars_from_flat
from alphagate.domain.timeframe import Timeframe
from alphagate.errors import AlphagateError
from alphagate.live.records import bars_of
from alphagate.live.runner import OpenOrderPolicy, run_live
from alphagate.ports import Journal
from alphagate.risk.events import RiskEvent
from alphagate.strategies.model import ModelStrategy

SESSION_FILE = "session.json"


@dataclass(frozen=True)
class LivePaperRequest:
    """What ``alphagate paper --feed VENUE`` was asked."""

    run_id: str
    feed: str
    runs_dir: Path = Path("runs")
    max_cycles: int | None = None
    open_orders: OpenOrderPolicy = "keep"
    poll_s: float = 5.0
    """Seconds between two polls of the venue's closed bars."""
    tracking_alert: float = 0.005
    """A day whose shadow tracking error (equity gap / starting cash) passes this is an alert."""


def live_paper_dir(runs_dir: Path, run_id: str, feed: str) -> Path:
    """Where run ``run_id``'s paper session on ``feed``'s live bars keeps its journal and ledger."""
    return runs_dir / run_id / f"paper-live-{feed}"


def book_id(run_id: str, feed: str) -> str:
    """The session's books in the trading database: the run's, tagged with the feed."""
    return f"{run_id}/paper-live-{feed}"


def start_command(run_id: str, feed: str) -> str:
    """The command an operator runs (and keeps running) to build the live paper record."""
    return f"alphagate paper --run {run_id} --feed {feed}"


def run_paper_live(
    settings: Settings,
    store_bars: pd.DataFrame,
    request: LivePaperRequest,
    environ: Mapping[str, str] | None = None,
    *,
    handle_signals: bool = True,
) -> PaperOutcome:
    """Trade the run's models through the paper venue on ``request.feed``'s polled bars.

    ``store_bars`` warm the model up; the venue's closed bars after them
    complete the warm-up at the first start, as for ``alphagate live``.

    Raises
    ------
    AlphagateError
        When the feed is unknown, or there is no stored bar of the run's symbols.
    """
    if request.feed not in VENUES:
        known = ", ".join(sorted(VENUES))
        raise AlphagateError(f"unknown feed {request.feed!r}; live feeds: {known}")
    plan = plan_model_run(settings, ModelBacktestRequest(request.run_id, request.runs_dir))
    trained = load_trained_run(request.runs_dir, request.run_id)
    symbols: list[str] = list(trained.manifest["bars"]["symbols"])
    session = live_paper_dir(request.runs_dir, trained.run_id, request.feed)
    session.mkdir(parents=True, exist_ok=True)
    run_settings = plan.settings
    events: list[RiskEvent] = []
    env = os.environ if environ is None else environ
    opened = VENUES[request.feed](run_settings, env, request.poll_s)
    try:
        mine = store_bars.loc[store_bars.index.get_level_values("symbol").isin(symbols)]
        until = _pin_warm_up(session, opened, mine, symbols)
        warm = warm_up_bars(opened, mine, symbols, until)
        predictor = online_predictor(run_settings, trained)
        predictor.warm_up(warm)
        strategy = ModelStrategy(predictor, plan.decision)
        feed = opened.feed(symbols, after=until, on_silence=lambda _: None)
        parts = simulated_parts(plan, int(Timeframe.parse(run_settings.data.timeframe).delta.value))
        store = open_trading_store(run_settings)
        books = TradingBooks(
            store, book_id(trained.run_id, request.feed), level_method=level_method(plan)
        )
        try:
            # no ``venue=``: the paper venue fills; the broker is only read for bars
            with paper_engine(
                run_settings, strategy, symbols, parts, session=session, events=events.append,
                checks={"market_data": feed.check},
            ) as (driver, go_live):  # fmt: skip
                summary = asyncio.run(
                    run_live(
                        driver, feed, max_cycles=request.max_cycles,
                        open_orders=request.open_orders, on_cycle=books,
                        after_recovery=go_live, handle_signals=handle_signals,
                    )
                )  # fmt: skip
                books.flush(driver, events)
                # the same model, warmed up alike, backtested on the bars the session traded
                shadowed = PreparedModelRun(
                    bars=journaled_bars(driver.journal), predictions=pd.DataFrame(), cuts={},
                    baseline=None, earlier=warm,
                    online=partial(online_predictor, run_settings, trained),
                )  # fmt: skip
                shadow = shadow_backtest(
                    store, dataclasses.replace(plan, predictor="online"), shadowed, books=books,
                    driver=driver, events=events, tracking_alert=request.tracking_alert,
                    exact=False,
                )  # fmt: skip
        finally:
            store.close()
    finally:
        opened.close()
    return PaperOutcome(session, summary, driver, events, shadow)


def journaled_bars(journal: Journal) -> pd.DataFrame:
    """Every bar the session's journal holds, resumed runs' included, as a bars frame.

    The journal, not the feed, because a resumed run's shadow must cover the
    days the earlier runs traded: the tracking error is stored per day of the
    whole session.
    """
    rows = [
        (bar.symbol, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)
        for _, kind, record in journal.replay()
        if kind == "bars"
        for bar in bars_of(record)[1]
    ]
    flat = pd.DataFrame(rows, columns=["symbol", "ts", *BAR_COLUMNS])
    flat["ts"] = pd.to_datetime(flat["ts"], unit="ns", utc=True)
    return bars_from_flat(flat)


def _pin_warm_up(session: Path, opened: OpenedVenue, bars: pd.DataFrame, symbols: list[str]) -> int:
    """The last bar the model warms up on, pinned at the first start so a restart replays alike.

    The venue's bars closed before the first start warm the model up and are
    not traded: the record starts at the first start, so its days are days
    the session really ran (a backfill would fake gate 3's day count).
    """
    path = session / SESSION_FILE
    if path.exists():
        return int(json.loads(path.read_text(encoding="utf-8"))["warm_up_until"])
    until = warm_up_end(opened, bars, symbols)
    write_text_atomically(path, json.dumps({"warm_up_until": until}, sort_keys=True))
    return until
