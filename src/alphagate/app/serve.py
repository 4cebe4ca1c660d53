"""Composition of ``alphagate serve``: the monitoring service over an engine or its stored books.

Two ways to run it, one app (:func:`alphagate.monitor.api.create_app`):

- **beside a running engine** (``alphagate paper --serve``): :func:`engine_service`
  wires the engine monitor's view and metrics, and :func:`start_service` runs
  uvicorn in a thread of the engine's process;
- **on its own** (``alphagate serve --run RUN``): :class:`StoredBooks` reads the
  trading database and the paper session's latest snapshot, so an operator
  can look at a session that is not running (no decision traces then: they
  live in the engine).

Either way the controls are the operator's kill switch
(:mod:`alphagate.app.kill_switch`), which a running engine obeys within one
cycle, and every control call is a ``control`` system event in the trading
database with its actor (SE-07). The bind is checked before a socket opens
(SE-06).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import uvicorn
from fastapi import FastAPI

from alphagate.adapters.trading_db.store import TradingStore
from alphagate.app.kill_switch import open_kill_switch, reset_kill_switch, trip_kill_switch
from alphagate.app.paper import session_status
from alphagate.app.trading_db import open_trading_store
from alphagate.config import Settings
from alphagate.errors import AlphagateError
from alphagate.monitor.access import TOKEN_ENV, check_bind
from alphagate.monitor.api import ControlRefusedError, create_app
from alphagate.monitor.books import LiveBooks, Rows, equity_rows
from alphagate.monitor.engine_monitor import EngineMonitor
from alphagate.monitor.health import FAILED, OK, HealthAnswer, answer
from alphagate.monitor.metrics import EngineMetrics
from alphagate.risk.kill_switch import KillSwitchError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def serve_token() -> str | None:
    """The control token from the environment (never from a file in the repository)."""
    return os.environ.get(TOKEN_ENV) or None


class KillSwitchControls:
    """The control routes over the operator's kill switch, journaled in the trading database."""

    def __init__(self, settings: Settings, store: TradingStore) -> None:
        self._settings, self._store = settings, store

    def act(self, action: str, reason: str, actor: str) -> dict[str, Any]:
        settings = self._settings
        try:
            if action == "kill-switch/trip":
                trip_kill_switch(settings, reason, actor)
            elif action in ("kill-switch/reset", "resume"):
                if not open_kill_switch(settings).is_tripped():
                    raise ControlRefusedError("the kill switch is not tripped: nothing to resume")
                reset_kill_switch(settings, reason, actor)
            elif action == "flatten":
                if not settings.risk.flatten_on_kill:
                    raise ControlRefusedError(
                        "flatten needs risk.flatten_on_kill: true (a trip then closes every "
                        "position); without it use kill-switch/trip, which cancels and halts"
                    )
                trip_kill_switch(settings, f"flatten: {reason}", actor)
            else:
                raise ControlRefusedError(f"unknown control {action!r}", 404)
        except KillSwitchError as error:
            raise ControlRefusedError(str(error)) from error
        switch = open_kill_switch(settings)
        return {"kill_switch": {"tripped": switch.is_tripped(), "reason": switch.reason}}

    def journal(self, action: str, actor: str, outcome: str, detail: dict[str, Any]) -> None:
        self._store.add_system_event(
            "control", {"action": action, "outcome": outcome, **detail}, actor=actor
        )


def candidate_rows(store: TradingStore) -> Rows:
    """Each candidate with its gate state: its last ``candidate_transitions`` move, or its own."""
    last: dict[str, Any] = {}
    for move in store.transitions():
        last[move.candidate_id] = move
    rows: Rows = []
    for candidate in store.candidates():
        move = last.pop(candidate.candidate_id, None)
        rows.append(_candidate_row(candidate.candidate_id, candidate.run_id, candidate.strategy,
                                   candidate.state.value, move))  # fmt: skip
    for cid, move in sorted(last.items()):
        rows.append(_candidate_row(cid, move.run_id, None, move.target.value, move))
    return rows


def _candidate_row(
    cid: str, run_id: str, strategy: str | None, state: str, move: Any
) -> dict[str, Any]:
    return {
        "candidate": cid,
        "run_id": run_id,
        "strategy": strategy,
        "state": state if move is None else move.target.value,
        "since": None if move is None else pd.Timestamp(move.ts, tz="UTC").isoformat(),
        "reason": None if move is None else move.reason,
    }


def candidate_states(store: TradingStore) -> dict[str, str]:
    """Candidate id to gate state, for ``alphagate_candidate_state``."""
    return {row["candidate"]: row["state"] for row in candidate_rows(store)}


@dataclass(frozen=True)
class EngineService:
    """An engine's monitor and the app that serves it."""

    monitor: EngineMonitor
    app: FastAPI
    store: TradingStore


@contextmanager
def engine_service(
    settings: Settings, *, feed_timeout: float = 30.0, token: str | None = None
) -> Iterator[EngineService]:
    """The monitor to hook into a paper or live run, and its app (the service's own store)."""
    store = open_trading_store(settings)
    try:
        monitor = EngineMonitor(settings.execution.cash)
        monitor.metrics.watch_candidates(lambda: candidate_states(store))
        books = LiveBooks(monitor, lambda: candidate_rows(store), feed_timeout=feed_timeout)
        app = create_app(
            books, monitor.metrics.exposition, KillSwitchControls(settings, store), token=token
        )
        yield EngineService(monitor, app, store)
    finally:
        store.close()


class StoredBooks:
    """A session's books from the trading database and its journal's latest snapshot."""

    def __init__(self, settings: Settings, store: TradingStore, runs_dir: Path, run_id: str):
        self._settings, self._store = settings, store
        self._runs_dir, self._run_id = runs_dir, run_id

    def _session(self) -> dict[str, Any]:
        return session_status(self._settings, self._runs_dir, self._run_id)

    def health(self) -> HealthAnswer:
        found = self._session()
        switch = found["kill_switch"]
        components = {
            "kill_switch": {
                "status": FAILED if switch["tripped"] else OK,
                "detail": switch["reason"] or "",
            },
            "engine": {
                "status": FAILED,
                "detail": "not running: alphagate serve shows the session's stored books",
            },
        }
        return answer(components, str(found["degradation"]), "unknown")

    def status(self) -> dict[str, Any]:
        found = self._session()
        equity = self._store.equity(self._run_id)
        last = equity[-1] if equity else None
        cash = self._settings.execution.cash
        return {
            "run_id": found["run_id"],
            "last_bar": None if last is None else pd.Timestamp(last.ts, tz="UTC").isoformat(),
            "cycles": found.get("cycles"),
            "equity": None if last is None else last.equity,
            "cash": found.get("cash"),
            "pnl_total": None if last is None else last.equity - cash,
            "orders_sent": found.get("orders_sent"),
            "working_orders": len(found.get("open_orders", [])),
            "degradation": found["degradation"],
            "kill_switch_tripped": found["kill_switch"]["tripped"],
            "running": False,
        }

    def equity(self) -> Rows:
        return equity_rows([(p.ts, p.equity) for p in self._store.equity(self._run_id)])

    def positions(self) -> Rows:
        return [
            {"symbol": s, "quantity": p.quantity, "average_price": p.average_price,
             "realised_pnl": p.realised_pnl}
            for s, p in self._store.positions(self._run_id).items()
            if p.quantity
        ]  # fmt: skip

    def orders(self, *, open_only: bool) -> Rows:
        found = (
            self._store.open_orders(self._run_id) if open_only else self._store.orders(self._run_id)
        )
        return [
            {"client_order_id": o.request.client_order_id, "symbol": o.request.symbol,
             "side": o.request.side.value, "type": o.request.order_type.value,
             "quantity": o.request.quantity, "limit_price": o.request.limit_price,
             "stop_price": o.request.stop_price, "status": o.status.value,
             "filled_qty": o.filled_qty, "avg_fill_price": o.avg_fill_price}
            for o in found[-200:]
        ]  # fmt: skip

    def trades(self) -> Rows:
        return [
            {"symbol": t.symbol, "side": t.side.value, "quantity": t.quantity,
             "entry_ts": _iso(t.entry_ts),
             "exit_ts": None if t.exit_ts is None else _iso(t.exit_ts),
             "entry_price": t.entry_price, "exit_price": t.exit_price, "pnl": t.pnl}
            for t in self._store.trades(self._run_id)[-200:]
        ]  # fmt: skip

    def decisions(self) -> Rows:
        return []

    def execution(self) -> dict[str, Any]:
        fills = self._store.fills(self._run_id)
        return {"fills": len(fills), "slippage_bps": []}

    def candidates(self) -> Rows:
        return candidate_rows(self._store)


def _iso(ts: int) -> str:
    return pd.Timestamp(ts, tz="UTC").isoformat()


def _stored_metrics(store: TradingStore, run_id: str, cash: float) -> EngineMetrics:
    """What a stored session can export: its last equity and P&L, and the gate states."""
    metrics = EngineMetrics()
    metrics.watch_candidates(lambda: candidate_states(store))
    last = store.equity(run_id)
    if last:
        metrics.equity.set(last[-1].equity)
        metrics.cash.set(last[-1].cash)
        metrics.pnl_total.set(last[-1].equity - cash)
    return metrics


def stored_app(settings: Settings, store: TradingStore, runs_dir: Path, run_id: str) -> FastAPI:
    """The service over a session's stored books (``alphagate serve --run``)."""
    books = StoredBooks(settings, store, runs_dir, run_id)
    books.status()  # a missing session fails here, before the server starts
    metrics = _stored_metrics(store, run_id, settings.execution.cash)
    return create_app(
        books, metrics.exposition, KillSwitchControls(settings, store), token=serve_token()
    )


@dataclass
class RunningService:
    """A uvicorn server in a thread; :meth:`stop` ends it and waits."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        """The port it listens on (the one the system picked for port 0)."""
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Ask the server to finish its requests and stop; wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_service(
    app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, token: str | None = None
) -> RunningService:
    """Serve ``app`` from a daemon thread; returns once it listens.

    Raises
    ------
    BindRefusedError
        For a non-loopback host without a token (SE-06).
    AlphagateError
        When the server does not start (the port taken, most often).
    """
    check_bind(host, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="alphagate-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AlphagateError(
                f"the monitoring service did not start on {host}:{port} (is the port taken? "
                "choose another with --port)"
            )
        time.sleep(0.02)
    return RunningService(server, thread, host)


def serve(settings: Settings, *, run_id: str, runs_dir: Path, host: str, port: int) -> None:
    """``alphagate serve``: serve a session's stored books until interrupted."""
    token = serve_token()
    check_bind(host, token)
    store = open_trading_store(settings)
    try:
        run = session_status(settings, runs_dir, run_id)["run_id"]
        app = stored_app(settings, store, runs_dir, run)
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        store.close()


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "EngineService",
    "KillSwitchControls",
    "RunningService",
    "StoredBooks",
    "candidate_rows",
    "engine_service",
    "serve",
    "serving",
    "start_service",
    "stored_app",
]


@contextmanager
def serving(
    settings: Settings, *, host: str, port: int, feed_timeout: float = 30.0
) -> Iterator[tuple[EngineMonitor, RunningService]]:
    """``paper --serve``: the service in a thread for as long as the block runs the engine."""
    token = serve_token()
    check_bind(host, token)
    with engine_service(settings, feed_timeout=feed_timeout, token=token) as service:
        running = start_service(service.app, host, port, token=token)
        try:
            yield service.monitor, running
        finally:
            running.stop()
