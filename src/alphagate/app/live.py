"""The checks ``alphagate live`` makes before it may trade real money (RELIABILITY SE-04).

Paper is the default everywhere; live is refused unless every one of these
holds, checked in this order so that the cheapest refusal comes first:

1. the kill switch is not tripped (an operator's halt outlives any start);
2. ``--confirm`` was given, and the typed phrase ``YES I AM SURE`` was
   entered at the terminal or set in ``ALPHAGATE_LIVE_CONFIRM`` for an
   unattended start; a start with neither, and no terminal, is refused;
3. the venue's credentials are in the environment. Their names are printed
   when missing, their values never (not in messages, not in logs).

Only then is the venue's adapter opened (:data:`VENUES`, one line per venue):
a start refused by any check has made no request to the venue (SE-04).
:func:`trade_live` then runs the run's model through ``paper``'s engine
(:func:`~alphagate.app.paper_engine.paper_engine`: the same kernel, decision
path, risk guard, journal, recovery, reconciliation and health gate) against
the broker, with the venue's polled closed bars
(:mod:`alphagate.adapters.broker.polled_feed`). The health registry holds the
feed's silence check and the venue's rate-limit check (BF-04).

A live session lives in ``<runs>/<run_id>/live-<venue>/``: the journal, the
trading database (``trading.db``) and ``session.json``, which pins what a
restart must reproduce to replay the journal (the account's cash at the
first start, the last bar the model was warmed up on).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import pandas as pd

from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.app.model_backtest import (
    ModelBacktestRequest,
    load_trained_run,
    online_predictor,
    plan_model_run,
)
from alphagate.app.paper import level_method
from alphagate.app.paper_engine import PaperParts, paper_engine
from alphagate.app.trading_books import TradingBooks
from alphagate.app.trading_db import open_trading_store
from alphagate.atomic import write_text_atomically
from alphagate.config import Settings
from alphagate.domain.bar import Bar
from alphagate.domain.timeframe import Timeframe
from alphagate.engine.health import HealthCheck
from alphagate.errors import AlphagateError
from alphagate.execution.commission import NoCommission
from alphagate.execution.fill_models import NextOpenFill
from alphagate.live.driver import LiveDriver
from alphagate.live.records import risk_record
from alphagate.live.runner import OpenOrderPolicy, RunSummary, run_live
from alphagate.monitor.engine_monitor import EngineMonitor
from alphagate.risk.events import RiskEvent, Severity
from alphagate.strategies.model import ModelStrategy

CONFIRM_PHRASE: Final = "YES I AM SURE"
CONFIRM_ENV: Final = "ALPHAGATE_LIVE_CONFIRM"
CREDENTIALS: Final[Mapping[str, tuple[str, ...]]] = {
    "alpaca": ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"),
    "binance": ("ALPHAGATE_BINANCE_API_KEY", "ALPHAGATE_BINANCE_SECRET"),
    "okx": ("ALPHAGATE_OKX_API_KEY", "ALPHAGATE_OKX_SECRET", "ALPHAGATE_OKX_PASSWORD"),
}
"""The environment variables each venue's credentials come from."""


class OpenedVenue(Protocol):
    """A broker opened for trading: the engine's venue, its bar feed, and its connections."""

    @property
    def venue(self) -> BrokerVenue: ...

    def feed(
        self, symbols: Sequence[str], *, after: int, on_silence: Callable[[str], None]
    ) -> LiveFeed: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


class LiveFeed(Protocol):
    """What the live engine needs of a bar feed: steps, a health check, closed bars for warm-up."""

    def stream(self, after: int | None = None) -> AsyncIterator[tuple[int, Sequence[Bar]]]: ...

    def check(self, now_ns: int) -> HealthCheck: ...

    def closed(self, after: int | None, start: pd.Timestamp | None = None) -> pd.DataFrame: ...


def _open_alpaca(settings: Settings, environ: Mapping[str, str], poll_s: float) -> OpenedVenue:
    from alphagate.adapters.alpaca.live import open_live

    return open_live(settings, environ, poll_s)


def _open_binance(settings: Settings, environ: Mapping[str, str], poll_s: float) -> OpenedVenue:
    from alphagate.adapters.ccxt.live import open_live

    return open_live(settings, environ, poll_s, exchange="binance")


VENUES: Final[Mapping[str, Callable[[Settings, Mapping[str, str], float], OpenedVenue]]] = {
    "alpaca": _open_alpaca,
    "binance": _open_binance,
}
"""Each live venue's opener (credentials from the environment, URLs from ``venues.*``)."""


class LiveRefused(AlphagateError):  # noqa: N818 - a refusal, named as the user reads it
    """``alphagate live`` will not start; the message says what to do."""


def check_live_start(
    settings: Settings,
    venue: str,
    *,
    confirm: bool,
    ask: Callable[[str], str] | None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`LiveRefused` unless a live start on ``venue`` may go ahead; see the module.

    ``ask`` prompts at a terminal and returns what was typed; ``None`` when
    there is no terminal.
    """
    from alphagate.app.kill_switch import open_kill_switch

    env = os.environ if environ is None else environ
    switch = open_kill_switch(settings)
    if switch.is_tripped():
        raise LiveRefused(
            f"the kill switch is tripped ({switch.reason or 'trigger file present'}); "
            "see `alphagate kill-switch status`, and reset it with "
            "`alphagate kill-switch reset --reason R --by NAME` once it is safe"
        )
    if venue not in CREDENTIALS:
        known = ", ".join(sorted(CREDENTIALS))
        raise LiveRefused(f"unknown venue {venue!r}; live venues: {known}")
    if not confirm:
        raise LiveRefused(
            "live trading sends real orders: add --confirm, then type the phrase "
            f"{CONFIRM_PHRASE!r} (or set {CONFIRM_ENV} for an unattended start)"
        )
    typed = env.get(CONFIRM_ENV)
    if typed is None and ask is not None:
        typed = ask(f"Type {CONFIRM_PHRASE} to trade real money on {venue}")
    if typed is None:
        raise LiveRefused(
            f"no terminal to type the confirmation at: set {CONFIRM_ENV}={CONFIRM_PHRASE!r} "
            "for an unattended start"
        )
    if typed.strip() != CONFIRM_PHRASE:
        raise LiveRefused(f"the confirmation was not {CONFIRM_PHRASE!r}; nothing was started")
    missing = [name for name in CREDENTIALS[venue] if not env.get(name)]
    if missing:
        raise LiveRefused(
            f"{venue} credentials are missing from the environment: set {', '.join(missing)} "
            "(they are read from the environment only, never from files or flags)"
        )
    if venue not in VENUES:
        raise LiveRefused(
            f"every check passed, but no live adapter for {venue} ships yet (live venues: "
            f"{', '.join(sorted(VENUES))}); nothing was sent. Use `alphagate paper` meanwhile"
        )


ExternalPolicy = Literal["ignore", "cancel"]
SESSION_FILE: Final = "session.json"


@dataclass(frozen=True)
class LiveRequest:
    """What ``alphagate live`` was asked."""

    run_id: str
    venue: str
    runs_dir: Path = Path("runs")
    max_cycles: int | None = None
    open_orders: OpenOrderPolicy = "keep"
    external_orders: ExternalPolicy = "ignore"
    """An order at the broker this engine did not send (CR-08): left alone or cancelled."""
    poll_s: float = 5.0
    """Seconds between two polls of the broker's closed bars."""


@dataclass(frozen=True)
class LiveOutcome:
    """A live session's run: its folder, summary, books and risk events."""

    session: Path
    summary: RunSummary
    driver: LiveDriver
    risk_events: list[RiskEvent]


def live_session_dir(runs_dir: Path, run_id: str, venue: str) -> Path:
    """Where run ``run_id``'s live session on ``venue`` keeps its journal and books."""
    return runs_dir / run_id / f"live-{venue}"


def trade_live(
    settings: Settings,
    store_bars: pd.DataFrame,
    request: LiveRequest,
    environ: Mapping[str, str] | None = None,
    *,
    handle_signals: bool = True,
    monitor: EngineMonitor | None = None,
) -> LiveOutcome:
    """Trade the run's models on the venue until the feed stops, a limit, or a signal.

    ``monitor`` (``live --serve``) sees every cycle, risk event and feed step,
    as in ``paper --serve``.

    Call :func:`check_live_start` first: this opens the venue and trades.
    ``store_bars`` are the stored bars the model warms up on; the broker's
    closed bars after them complete the warm-up at the first start.
    """
    plan = plan_model_run(settings, ModelBacktestRequest(request.run_id, request.runs_dir))
    trained = load_trained_run(request.runs_dir, request.run_id)
    symbols: list[str] = list(trained.manifest["bars"]["symbols"])
    session = live_session_dir(request.runs_dir, trained.run_id, request.venue)
    session.mkdir(parents=True, exist_ok=True)
    run_settings = plan.settings.model_copy(
        update={
            "storage": plan.settings.storage.model_copy(
                update={"trading_database_url": f"sqlite:///{(session / 'trading.db').resolve()}"}
            )
        }
    )
    events: list[RiskEvent] = []
    env = os.environ if environ is None else environ
    opened = VENUES[request.venue](run_settings, env, request.poll_s)
    try:
        mine = store_bars.loc[store_bars.index.get_level_values("symbol").isin(symbols)]
        pinned = _pin_session(session, opened, mine, symbols)
        warm = warm_up_bars(opened, mine, symbols, pinned["warm_up_until"])
        predictor = online_predictor(run_settings, trained)
        predictor.warm_up(warm)
        strategy = ModelStrategy(predictor, plan.decision)
        feed = opened.feed(
            symbols, after=pinned["warm_up_until"], on_silence=_silence_alert(events)
        )
        opened.venue.rate_limits.alert_to(_rate_limit_alert(events))
        checks = {"market_data": feed.check, "venue_rate_limits": opened.venue.rate_limits.check}
        parts = PaperParts(
            cash=float(pinned["cash"]),
            fill_model=NextOpenFill(),  # unused: the broker fills
            commission=NoCommission(),  # the broker's cash is the truth, reconciled
            units="whole" if plan.decision.whole_units else "fractional",
            sizing=run_settings.execution.sizing,
            risk=plan.risk,
            bar_interval_ns=int(Timeframe.parse(run_settings.data.timeframe).delta.value),
        )
        store = open_trading_store(run_settings)
        books = TradingBooks(store, trained.run_id, level_method=level_method(plan))
        try:

            def each_event(event: RiskEvent) -> None:
                events.append(event)
                if monitor is not None:
                    monitor.on_event(event)

            with paper_engine(
                run_settings, strategy, symbols, parts, session=session, events=each_event,
                venue=opened.venue, checks=checks,
            ) as (driver, go_live):  # fmt: skip

                def after_recovery(d: LiveDriver) -> None:
                    go_live(d)
                    import_external(d, opened.venue, request.external_orders, events.append)

                def each_cycle(d: LiveDriver) -> None:
                    books(d)
                    if monitor is not None:
                        monitor(d)

                opened.start()
                summary = asyncio.run(
                    run_live(
                        driver, feed if monitor is None else monitor.timed(feed),
                        max_cycles=request.max_cycles, open_orders=request.open_orders,
                        on_cycle=each_cycle, after_recovery=after_recovery,
                        handle_signals=handle_signals,
                    )
                )  # fmt: skip
                books.flush(driver, events)
        finally:
            store.close()
    finally:
        opened.close()
    return LiveOutcome(session, summary, driver, events)


def import_external(
    driver: LiveDriver,
    venue: BrokerVenue,
    policy: ExternalPolicy,
    events: Callable[[RiskEvent], None],
) -> list[str]:
    """Tag every working order at the broker this engine did not send; cancel it if asked (CR-08).

    The kernel never holds such an order, so it never blocks the engine's own
    orders for its symbol; each is journaled as a risk event (``external``)
    and reported, and with ``cancel`` it is cancelled once. Returns their ids.
    """
    found = [s for s in venue.open_orders() if s.client_order_id not in driver.kernel.orders]
    for state in found:
        request = state.request
        verb = "cancelled" if policy == "cancel" else "left working (ignored)"
        event = RiskEvent(
            ts=pd.Timestamp.now(tz="UTC"),
            component="reconcile",
            severity=Severity.WARNING,
            reason=(
                f"external order {request.client_order_id} at the broker ({request.side.value} "
                f"{request.quantity:g} {request.symbol}): imported, tagged external, {verb}"
            ),
            data={"external": True, "client_order_id": request.client_order_id, "policy": policy},
        )
        driver.record("risk", risk_record(event))
        events(event)
        if policy == "cancel":
            venue.cancel(request.client_order_id)
    return [s.client_order_id for s in found]


def live_status(settings: Settings, runs_dir: Path, run_id: str, venue: str) -> dict[str, Any]:
    """The live session's books from its latest snapshot, like ``paper status``; sends nothing."""
    from alphagate.app.paper import session_status

    status = session_status(
        settings, runs_dir, run_id, session=live_session_dir(runs_dir, run_id, venue)
    )
    return {**status, "venue": venue}


def _pin_session(
    session: Path, opened: OpenedVenue, bars: pd.DataFrame, symbols: Sequence[str]
) -> dict[str, Any]:
    """What every start of this session must share: the starting cash and the warm-up's end."""
    path = session / SESSION_FILE
    if path.exists():
        pinned: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return pinned
    pinned = {
        "cash": opened.venue.account().cash,
        "warm_up_until": warm_up_end(opened, bars, symbols),
    }
    write_text_atomically(path, json.dumps(pinned, sort_keys=True))
    return pinned


def warm_up_end(opened: OpenedVenue, bars: pd.DataFrame, symbols: Sequence[str]) -> int:
    """The last bar closed now, stored or at the venue: where a first start's warm-up ends."""
    last_stored = last_bar_ns(bars)
    newer = opened.feed(symbols, after=last_stored, on_silence=lambda _: None).closed(
        last_stored, start=pd.Timestamp(last_stored, tz="UTC")
    )
    return max(last_stored, last_bar_ns(newer)) if not newer.empty else last_stored


def warm_up_bars(
    opened: OpenedVenue, stored: pd.DataFrame, symbols: Sequence[str], until: int
) -> pd.DataFrame:
    """The stored bars, then the broker's closed bars after them, up to the pinned end."""
    last = last_bar_ns(stored)
    newer = opened.feed(symbols, after=last, on_silence=lambda _: None).closed(
        last, start=pd.Timestamp(last, tz="UTC")
    )
    frame = pd.concat([stored, newer]) if not newer.empty else stored
    ts = pd.DatetimeIndex(frame.index.get_level_values("ts")).as_unit("ns").asi8
    return frame.loc[ts <= until].sort_index()


def last_bar_ns(bars: pd.DataFrame) -> int:
    """The latest bar time of ``bars`` (ns); an error saying what to ingest when there is none."""
    if bars.empty:
        raise AlphagateError(
            "no stored bars of the run's symbols to warm the model up on: ingest them first "
            "(`alphagate data ingest --source alpaca --symbols ...`)"
        )
    return int(pd.DatetimeIndex(bars.index.get_level_values("ts")).as_unit("ns").asi8.max())


def _silence_alert(events: list[RiskEvent]) -> Callable[[str], None]:
    def alert(reason: str) -> None:
        events.append(
            RiskEvent(
                ts=pd.Timestamp.now(tz="UTC"),
                component="market_data",
                severity=Severity.WARNING,
                reason=f"{reason}: entries paused until bars resume",
            )
        )

    return alert


def _rate_limit_alert(events: list[RiskEvent]) -> Callable[[str], None]:
    def alert(reason: str) -> None:
        events.append(
            RiskEvent(
                ts=pd.Timestamp.now(tz="UTC"),
                component="venue_rate_limits",
                severity=Severity.WARNING,
                reason=f"{reason}: trading cut back until the venue answers again",
            )
        )

    return alert
