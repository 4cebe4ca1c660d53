"""A loopback server that speaks the subset of Alpaca's wire protocol alpaca-py uses.

The Alpaca adapter is tested with the real client library (``TradingClient``,
``TradingStream``, ``StockHistoricalDataClient``) pointed at this server by
its base URL, exactly as a user points it at a proxy or the paper endpoint.
The server keeps the venue's truth (orders by id and client id, executions,
positions, cash) and answers what Alpaca answers:

* REST v2: ``POST/GET/DELETE /v2/orders``, ``GET /v2/orders/{id}``,
  ``GET /v2/orders:by_client_order_id``, ``GET /v2/positions``,
  ``GET /v2/account``, ``GET /v2/account/activities/FILL``; the auth headers
  are checked (401 otherwise), a second order with a client id it holds is
  refused with 422 as Alpaca does;
* the trade-updates websocket (JSON: ``authenticate`` -> ``authorization``
  -> ``listen`` -> ``trade_updates`` events ``new``, ``partial_fill``,
  ``fill``, ``canceled``, ``rejected``, ``expired``);
* market-data REST ``GET /v2/stocks/bars`` with ``next_page_token`` paging,
  over a seeded random walk of weekday daily bars, optionally released a
  session at a time (a live market);
* bracket and OTO orders: legs with their own ids, held until the entry
  fills, the survivor canceled when one fills (server-side OCO);
* ``/_test/*`` routes (no keys, no faults) for a test in another process:
  state, fill an order or a leg, release bars, forget history, place an
  external order, change a position.

Behaviour is chosen by a seeded :class:`Scenario` (see :data:`SCENARIOS`):
normal fills, partial fills over several messages, rejects, a submit that
times out after the server accepted it and one where it never did, 429 with
``Retry-After``, 5xx bursts, duplicate and out-of-order fill messages, and a
position changed outside the engine. ``counts`` holds the requests per
endpoint, so a test asserts "exactly one POST" on the server's side.

In a test: ``with AlpacaServer(scenario) as server: ... server.url``. As a
process: ``python tests/servers/alpaca_server.py --port P --scenario NAME``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgpack
from aiohttp import WSMsgType, web

NEW_YORK = ZoneInfo("America/New_York")
KEY_ID = "PKTESTKEY0000000000"
SECRET_KEY = "TESTSECRET000000000000000000000000000000"


@dataclass(frozen=True)
class Scenario:
    """What the server does to the requests and orders it gets; every field has a quiet default.

    ``fill_parts`` splits a market order's execution into that many messages.
    ``rest_fraction``: a market order fills only this share and keeps working.
    ``reject``: every order is refused for insufficient buying power (403).
    ``post_timeout``: the first POST stalls for ``stall_s`` (longer than the
    client waits), having stored the order first (``"accepted"``) or not
    (``"lost"``). ``rate_limit``: the first this many requests get 429 with
    ``Retry-After: retry_after``. ``errors_5xx``: the first this many requests
    get 503 and change nothing. ``duplicate_fills``: an order's last fill is
    sent first, then the ``new`` event, then every fill, then the last again.
    ``cancel_stall``: a DELETE cancels the order, then stalls like a POST.
    ``outside_position``: a position the engine never traded, held from the
    start. ``bars_released``: only the first this many sessions' bars are
    listed (``None``: all), one more every ``release_every_s`` when set, as a
    market that keeps closing bars does. ``rate_limit_all``: every request
    gets 429 (a sustained rate limit, BF-04). ``stream_drop_after``: the first
    market-data connection is closed after pushing this many bar messages (a
    drop mid-stream; bars released while the client reconnects are not pushed).
    """

    name: str = "normal"
    seed: int = 0
    fill_price: float = 100.0
    fill_parts: int = 1
    rest_fraction: float = 1.0
    reject: bool = False
    post_timeout: str | None = None
    stall_s: float = 3.0
    rate_limit: int = 0
    retry_after: float = 1.0
    errors_5xx: int = 0
    duplicate_fills: bool = False
    cancel_stall: bool = False
    outside_position: dict[str, float] = field(default_factory=dict)
    bars_released: int | None = None
    release_every_s: float | None = None
    rate_limit_all: bool = False
    stream_drop_after: int | None = None
    bars_page: int = 50
    bars_days: int = 300
    cash: float = 100_000.0


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(),
        Scenario(name="partial_fills", fill_parts=3),
        Scenario(name="partial_then_rest", rest_fraction=0.4),
        Scenario(name="reject", reject=True),
        Scenario(name="timeout_accepted", post_timeout="accepted"),
        Scenario(name="timeout_lost", post_timeout="lost"),
        Scenario(name="rate_limited", rate_limit=1, retry_after=1.0),
        Scenario(name="errors_5xx", errors_5xx=2),
        Scenario(name="duplicate_fills", fill_parts=2, duplicate_fills=True),
        Scenario(name="outside_position", outside_position={"MSFT": 7.0}),
        Scenario(name="cancel_stall", cancel_stall=True),
        Scenario(name="live_bars", bars_released=40, release_every_s=0.5),
        Scenario(name="silent_bars", bars_released=40),
        Scenario(name="sustained_429", rate_limit_all=True, retry_after=2.0),
        Scenario(name="stream_drop", bars_released=40, release_every_s=0.3, stream_drop_after=3),
    )
}
"""The seeded scenarios by name, for ``--scenario`` and for tests to start from."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat().replace("+00:00", "Z")


def _num(value: float) -> str:
    return f"{value:.9g}"


@dataclass
class _Order:
    """One order as the venue holds it; ``as_json`` is Alpaca's order object."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    qty: float
    type: str
    time_in_force: str
    limit_price: float | None
    stop_price: float | None
    created_at: datetime
    status: str = "new"
    filled_qty: float = 0.0
    filled_notional: float = 0.0
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    order_class: str = "simple"
    legs: list[_Order] = field(default_factory=list)
    parent: str | None = None

    def as_json(self) -> dict[str, Any]:
        avg = self.filled_notional / self.filled_qty if self.filled_qty else None
        return {
            "id": self.id, "client_order_id": self.client_order_id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at or self.created_at),
            "submitted_at": _iso(self.created_at),
            "filled_at": _iso(self.ended_at) if self.status == "filled" else None,
            "expired_at": _iso(self.ended_at) if self.status == "expired" else None,
            "canceled_at": _iso(self.ended_at) if self.status == "canceled" else None,
            "failed_at": None, "replaced_at": None, "replaced_by": None, "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.symbol)), "symbol": self.symbol,
            "asset_class": "us_equity", "notional": None, "qty": _num(self.qty),
            "filled_qty": _num(self.filled_qty),
            "filled_avg_price": None if avg is None else _num(avg),
            "order_class": self.order_class, "order_type": self.type, "type": self.type,
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": None if self.limit_price is None else _num(self.limit_price),
            "stop_price": None if self.stop_price is None else _num(self.stop_price),
            "status": self.status, "extended_hours": False,
            "legs": [leg.as_json() for leg in self.legs] or None,
        }  # fmt: skip


_OPEN = frozenset({"new", "accepted", "pending_new", "partially_filled", "held"})


class AlpacaServer:
    """The venue: its books, its REST and websocket endpoints, and the scenario's faults.

    Parameters
    ----------
    scenario
        A :class:`Scenario` or the name of one in :data:`SCENARIOS`.
    port
        0 for a free port (tests); a fixed one for ``--port``.
    """

    def __init__(self, scenario: Scenario | str = "normal", port: int = 0) -> None:
        self.scenario = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        self.port = port
        self.counts: Counter[str] = Counter()
        self.arrivals: list[tuple[str, float]] = []
        self.bar_queries: list[dict[str, str]] = []
        self.orders: dict[str, _Order] = {}
        self.by_client_id: dict[str, str] = {}
        self.activities: list[dict[str, Any]] = []
        self.positions: dict[str, float] = dict(self.scenario.outside_position)
        self.cash = self.scenario.cash
        self.sent_events: list[dict[str, Any]] = []
        self._later: list[dict[str, Any]] = []
        self.bars_released = self.scenario.bars_released
        self._random = random.Random(self.scenario.seed)
        self._faults_left = {"429": self.scenario.rate_limit, "5xx": self.scenario.errors_5xx}
        self._post_timeouts_left = 1 if self.scenario.post_timeout else 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.data_connections = 0
        self.sessions_pushed: list[int] = []
        self.quotes_per_symbol = 5
        """Quote messages pushed per symbol on each subscribed market-data connection."""
        self.quotes_sent: list[dict[str, Any]] = []
        self._quote_random = random.Random(self.scenario.seed + 1)  # bars' draws stay unchanged

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The REST base URL (``venues.alpaca.base_url`` and ``data_url``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stream_url(self) -> str:
        """The trade-updates websocket URL (``venues.alpaca.trade_stream_url``)."""
        return f"ws://127.0.0.1:{self.port}/stream"

    @property
    def data_stream_url(self) -> str:
        """The msgpack market-data websocket URL (``venues.alpaca.data_stream_url``)."""
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    # -- running -----------------------------------------------------------------------------

    def __enter__(self) -> AlpacaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve in a background thread on its own event loop; returns once it listens."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._listen())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=serve, name="alpaca-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Alpaca test server did not start within 10 s")

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    async def _listen(self) -> None:
        app = self._app()
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.scenario.release_every_s is not None:
            asyncio.get_running_loop().create_task(self._release_bars())

    async def _close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def call(self, make: Callable[[], Awaitable[Any]]) -> Any:
        """Run a coroutine on the server's loop from a test's thread and return its result."""
        assert self._loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(10)

    # -- what tests drive --------------------------------------------------------------------

    def fill(self, order_id: str, qty: float, price: float | None = None) -> None:
        """Execute ``qty`` of a working order now, with its stream event."""
        self.call(lambda: self._fill(self.orders[order_id], qty, price))

    def end(self, order_id: str, status: str) -> None:
        """End a working order as the venue would (``canceled``, ``expired``), with its event."""
        self.call(lambda: self._end(self.orders[order_id], status))

    def drop_streams(self) -> None:
        """Close every trade-updates connection, as a network drop would."""

        async def drop() -> None:
            dropped, self._sockets = list(self._sockets), set()
            for ws in dropped:
                await ws.close()

        self.call(drop)

    def order_of(self, client_order_id: str) -> _Order:
        """The order the venue holds under a client id (``KeyError`` if none)."""
        return self.orders[self.by_client_id[client_order_id]]

    def leg_of(self, parent_client_order_id: str, kind: str) -> _Order:
        """A bracket's leg by its entry's client id and its type (``stop`` or ``limit``)."""
        legs = self.order_of(parent_client_order_id).legs
        return next(leg for leg in legs if leg.type.startswith(kind))

    def release(self, sessions: int = 1) -> None:
        """List ``sessions`` more days of bars (a scenario with ``bars_released``)."""
        with self._lock:
            self.bars_released = (self.bars_released or 0) + sessions

    def forget_history(self) -> None:
        """Drop every ended order and every execution: a position older than the history.

        An entry whose legs still work is kept, as Alpaca keeps it.
        """
        with self._lock:
            working = {leg.parent for leg in self.orders.values() if leg.status in _OPEN}
            for order in [
                o for o in self.orders.values() if o.status not in _OPEN and o.id not in working
            ]:
                del self.orders[order.id]
                del self.by_client_id[order.client_order_id]
            self.activities.clear()

    def place_external(self, symbol: str, qty: float, limit_price: float) -> _Order:
        """A working buy limit placed outside the engine (a person, another tool)."""
        return self._book(
            f"manual-{uuid.uuid4().hex[:8]}", symbol=symbol, side="buy", qty=qty, type="limit",
            time_in_force="gtc", limit_price=limit_price, stop_price=None,
        )  # fmt: skip

    # -- the control routes a test in another process drives (no keys, no faults) ----------

    async def _test_state(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({
            "counts": dict(self.counts), "positions": self.positions, "cash": self.cash,
            "orders": [o.as_json() | {"parent": o.parent} for o in self.orders.values()],
            "bars_released": self.bars_released,
        })  # fmt: skip

    async def _test_fill(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if "leg" in body:
            order = self.leg_of(body["parent_client_order_id"], body["leg"])
        else:
            order = self.order_of(body["client_order_id"])
        if order.status == "held":
            return _error(422, 42210000, "a held leg cannot fill before its entry")
        await self._fill(order, float(body.get("qty") or order.qty - order.filled_qty),
                         _float_or_none(body.get("price")))  # fmt: skip
        return web.json_response(order.as_json())

    async def _test_position(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.positions[body["symbol"]] = float(body["qty"])  # changed outside the engine
        return web.json_response(self.positions)

    async def _test_release(self, request: web.Request) -> web.StreamResponse:
        self.release(int((await request.json()).get("sessions", 1)))
        return web.json_response({"bars_released": self.bars_released})

    async def _test_forget(self, request: web.Request) -> web.StreamResponse:
        self.forget_history()
        return web.json_response({"orders": len(self.orders)})

    async def _test_external(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        order = self.place_external(body["symbol"], float(body["qty"]), float(body["limit_price"]))
        return web.json_response(order.as_json())

    # -- the application ---------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.router.add_post("/v2/orders", self._post_order)
        app.router.add_get("/v2/orders", self._list_orders)
        app.router.add_get("/v2/orders:by_client_order_id", self._order_by_client_id)
        app.router.add_get("/v2/orders/{order_id}", self._get_order)
        app.router.add_delete("/v2/orders/{order_id}", self._cancel_order)
        app.router.add_get("/v2/positions", self._positions)
        app.router.add_get("/v2/account", self._account)
        app.router.add_get("/v2/account/activities/FILL", self._fills)
        app.router.add_get("/v2/stocks/bars", self._bars)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/v2/iex", self._market_data)
        app.router.add_get("/_test/state", self._test_state)
        app.router.add_post("/_test/fill", self._test_fill)
        app.router.add_post("/_test/forget_history", self._test_forget)
        app.router.add_post("/_test/external_order", self._test_external)
        app.router.add_post("/_test/release", self._test_release)
        app.router.add_post("/_test/position", self._test_position)
        return app

    @web.middleware
    async def _gate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Count, check the keys, and apply the scenario's 429s and 5xx bursts before any work."""
        route = request.match_info.route.resource
        name = f"{request.method} {route.canonical if route is not None else request.path}"
        with self._lock:
            self.counts[name] += 1
            self.arrivals.append((name, time.monotonic()))
        if request.path in {"/stream", "/v2/iex"} or request.path.startswith("/_test/"):
            return await handler(request)
        if (
            request.headers.get("APCA-API-KEY-ID") != KEY_ID
            or request.headers.get("APCA-API-SECRET-KEY") != SECRET_KEY
        ):
            return _error(401, 40110000, "request is not authorized")
        if self.scenario.rate_limit_all or self._faults_left["429"] > 0:
            self._faults_left["429"] -= 1
            headers = {"Retry-After": _num(self.scenario.retry_after)}
            return _error(429, 42910000, "rate limit exceeded", headers)
        if self._faults_left["5xx"] > 0:
            self._faults_left["5xx"] -= 1
            return _error(503, 50300000, "service unavailable")
        return await handler(request)

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        cid = body.get("client_order_id") or uuid.uuid4().hex
        stall = self._post_timeouts_left > 0
        self._post_timeouts_left = max(self._post_timeouts_left - 1, 0)
        if stall and self.scenario.post_timeout == "lost":
            await asyncio.sleep(self.scenario.stall_s)
            return _error(504, 50400000, "gateway timeout")
        if cid in self.by_client_id:
            return _error(422, 40010001, "client_order_id must be unique")
        if self.scenario.reject:
            return _error(403, 40310000, "insufficient buying power")
        order = self._book(
            cid, symbol=body["symbol"], side=body["side"], qty=float(body["qty"]),
            type=body["type"], time_in_force=body["time_in_force"],
            limit_price=_float_or_none(body.get("limit_price")),
            stop_price=_float_or_none(body.get("stop_price")),
            order_class=body.get("order_class") or "simple",
        )  # fmt: skip
        self._book_legs(order, body)
        answer = order.as_json()
        asyncio.get_running_loop().create_task(self._work(order))
        if stall:
            await asyncio.sleep(self.scenario.stall_s)
        return web.json_response(answer)

    def _book(self, cid: str, **fields: Any) -> _Order:
        order = _Order(
            id=str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
            client_order_id=cid, created_at=_now(), **fields,
        )  # fmt: skip
        self.orders[order.id] = order
        self.by_client_id[cid] = order.id
        return order

    def _book_legs(self, parent: _Order, body: dict[str, Any]) -> None:
        """A bracket's or OTO's legs: held until the entry fills, each with its own ids."""
        if parent.order_class not in {"bracket", "oto"}:
            return
        exit_side = "sell" if parent.side == "buy" else "buy"
        take, stop = body.get("take_profit"), body.get("stop_loss")
        for kind, leg in (("limit", take), ("stop", stop)):
            if not leg:
                continue
            child = self._book(
                uuid.uuid4().hex, symbol=parent.symbol, side=exit_side, qty=parent.qty,
                type=kind if kind == "limit" or leg.get("limit_price") is None else "stop_limit",
                time_in_force=parent.time_in_force,
                limit_price=_float_or_none(leg.get("limit_price")),
                stop_price=_float_or_none(leg.get("stop_price")),
                order_class=parent.order_class, status="held", parent=parent.id,
            )  # fmt: skip
            parent.legs.append(child)

    async def _work(self, order: _Order) -> None:
        """Announce the order, and execute a market order as the scenario says."""
        await asyncio.sleep(0.01)
        if order.type != "market":
            await self._publish("new", order)
            return
        total = order.qty * self.scenario.rest_fraction
        parts = max(self.scenario.fill_parts, 1)
        sizes = [round(total / parts, 6)] * (parts - 1)
        sizes.append(round(total - sum(sizes), 6))
        events = []
        for size in sizes:
            if size > 0:
                events.append(self._execute(order, size, self.scenario.fill_price))
        new = self._event("new", order.as_json())
        if self.scenario.duplicate_fills:
            stream = [events[-1], new, *events, events[-1]]
        else:
            stream = [new, *events]
        for event in stream:
            await self._send(event)
        await self._flush_later()

    def _execute(self, order: _Order, qty: float, price: float | None) -> dict[str, Any]:
        """Book one execution: the order, the position, the cash, the activity; its event."""
        price = self.scenario.fill_price if price is None else price
        qty = min(qty, order.qty - order.filled_qty)
        sign = 1.0 if order.side == "buy" else -1.0
        order.filled_qty = round(order.filled_qty + qty, 9)
        order.filled_notional += qty * price
        now = _now()
        order.updated_at = now
        done = order.filled_qty >= order.qty - 1e-9
        order.status = "filled" if done else "partially_filled"
        if done:
            order.ended_at = now
            self._after_done(order, now)
        self.positions[order.symbol] = round(self.positions.get(order.symbol, 0.0) + sign * qty, 9)
        self.cash -= sign * qty * price
        execution_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        self.activities.append({
            "id": f"{now:%Y%m%d%H%M%S%f}::{execution_id}", "activity_type": "FILL",
            "transaction_time": _iso(now), "type": "fill" if done else "partial_fill",
            "price": _num(price), "qty": _num(qty), "side": order.side, "symbol": order.symbol,
            "leaves_qty": _num(order.qty - order.filled_qty), "order_id": order.id,
            "cum_qty": _num(order.filled_qty), "order_status": order.status,
        })  # fmt: skip
        return self._event(
            "fill" if done else "partial_fill", order.as_json(), now,
            execution_id=execution_id, qty=_num(qty), price=_num(price),
            position_qty=_num(self.positions[order.symbol]),
        )  # fmt: skip

    def _after_done(self, order: _Order, now: datetime) -> None:
        """A filled entry frees its legs; a filled leg cancels its sibling (server-side OCO)."""
        for leg in order.legs:
            if leg.status == "held":
                leg.status, leg.updated_at = "new", now
        if order.parent is not None:
            for sibling in self.orders[order.parent].legs:
                if sibling is not order and sibling.status in _OPEN:
                    sibling.status, sibling.ended_at, sibling.updated_at = "canceled", now, now
                    self._later.append(self._event("canceled", sibling.as_json(), now))

    async def _fill(self, order: _Order, qty: float, price: float | None) -> None:
        await self._send(self._execute(order, qty, price))
        await self._flush_later()

    async def _flush_later(self) -> None:
        later, self._later = self._later, []
        for event in later:
            await self._send(event)

    async def _end(self, order: _Order, status: str) -> None:
        if order.status not in _OPEN:
            return
        order.status, order.ended_at = status, _now()
        order.updated_at = order.ended_at
        await self._publish(status, order)
        for leg in order.legs:  # an entry canceled before it filled takes its legs with it
            await self._end(leg, status)

    async def _publish(self, event: str, order: _Order) -> None:
        await self._send(self._event(event, order.as_json()))

    def _event(
        self, event: str, order: dict[str, Any], ts: datetime | None = None, **extra: Any
    ) -> dict[str, Any]:
        data = {"event": event, "order": order, "timestamp": _iso(ts or _now()), **extra}
        return {"stream": "trade_updates", "data": data}

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent_events.append(message)
        text = json.dumps(message)
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)

    async def _list_orders(self, request: web.Request) -> web.StreamResponse:
        status = request.query.get("status", "open")
        orders = list(self.orders.values())
        if status == "open":
            orders = [o for o in orders if o.status in _OPEN]
        elif status == "closed":
            orders = [o for o in orders if o.status not in _OPEN]
        return web.json_response([o.as_json() for o in orders])

    async def _order_by_client_id(self, request: web.Request) -> web.StreamResponse:
        order_id = self.by_client_id.get(request.query.get("client_order_id", ""))
        if order_id is None:
            return _error(404, 40410000, "order not found")
        return web.json_response(self.orders[order_id].as_json())

    async def _get_order(self, request: web.Request) -> web.StreamResponse:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return _error(404, 40410000, "order not found")
        return web.json_response(order.as_json())

    async def _cancel_order(self, request: web.Request) -> web.StreamResponse:
        order = self.orders.get(request.match_info["order_id"])
        if order is None:
            return _error(404, 40410000, "order not found")
        if order.status not in _OPEN:
            return _error(422, 42210000, f"order is already in {order.status} state")
        asyncio.get_running_loop().create_task(self._end(order, "canceled"))
        if self.scenario.cancel_stall:
            await asyncio.sleep(self.scenario.stall_s)
        return web.Response(status=204)

    async def _positions(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([_position(s, q) for s, q in self.positions.items() if q])

    async def _account(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({
            "id": str(uuid.UUID(int=1)), "account_number": "PA0000TEST", "status": "ACTIVE",
            "currency": "USD", "cash": _num(self.cash), "buying_power": _num(self.cash),
            "trading_blocked": False, "account_blocked": False,
        })  # fmt: skip

    async def _fills(self, request: web.Request) -> web.StreamResponse:
        after = request.query.get("after")
        size = int(request.query.get("page_size", "100"))
        token = request.query.get("page_token")
        rows = sorted(self.activities, key=lambda a: a["id"])
        if after:
            rows = [a for a in rows if a["transaction_time"] >= after]
        if token:
            rows = [a for a in rows if a["id"] > token]
        return web.json_response(rows[:size])

    async def _bars(self, request: web.Request) -> web.StreamResponse:
        self.bar_queries.append(dict(request.query))
        symbols = request.query["symbols"].split(",")
        start = request.query.get("start")
        end = request.query.get("end")
        limit = min(int(request.query.get("limit") or 10_000), self.scenario.bars_page)
        offset = int(request.query.get("page_token") or 0)
        rows = [
            (symbol, bar)
            for symbol in symbols
            for bar in _daily_bars(symbol, self._bar_days(), self.scenario.seed)
            if (start is None or bar["t"] >= start) and (end is None or bar["t"] <= end)
        ]
        page = rows[offset : offset + limit]
        bars: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in page:
            bars.setdefault(symbol, []).append(bar)
        token = str(offset + limit) if offset + limit < len(rows) else None
        return web.json_response({"bars": bars, "next_page_token": token})

    def _bar_days(self) -> int:
        days = self.scenario.bars_days
        return days if self.bars_released is None else min(days, self.bars_released)

    async def _release_bars(self) -> None:
        """One more session's bars every ``release_every_s``: a market that keeps closing bars."""
        every = self.scenario.release_every_s
        while every is not None and self.bars_released is not None:
            await asyncio.sleep(every)
            self.bars_released += 1

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        authorized = False
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            action, data = payload.get("action"), payload.get("data") or {}
            if action in {"authenticate", "auth"}:
                authorized = data.get("key_id") == KEY_ID and data.get("secret_key") == SECRET_KEY
                status = "authorized" if authorized else "unauthorized"
                await ws.send_json(
                    {
                        "stream": "authorization",
                        "data": {"action": "authenticate", "status": status},
                    }
                )
                if not authorized:
                    break
            elif action == "listen" and authorized:
                self._sockets.add(ws)
                await ws.send_json(
                    {"stream": "listening", "data": {"streams": data.get("streams", [])}}
                )
        self._sockets.discard(ws)
        return ws

    async def _market_data(self, request: web.Request) -> web.StreamResponse:
        """The msgpack market-data stream: connected, auth, subscribe, then each new bar.

        Subscribed quotes are pushed too: ``quotes_per_symbol`` rounds, then none.
        """
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.data_connections += 1
        first = self.data_connections == 1
        await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
        authorized, pusher, quoter = False, None, None
        try:
            async for message in ws:
                if message.type != WSMsgType.BINARY:
                    continue
                payload = msgpack.unpackb(message.data)
                action = payload.get("action")
                if action == "auth":
                    authorized = (
                        payload.get("key") == KEY_ID and payload.get("secret") == SECRET_KEY
                    )
                    reply = (
                        {"T": "success", "msg": "authenticated"}
                        if authorized
                        else {"T": "error", "code": 402, "msg": "auth failed"}
                    )
                    await ws.send_bytes(msgpack.packb([reply]))
                    if not authorized:
                        break
                elif action == "subscribe" and authorized:
                    symbols = list(payload.get("bars", []))
                    quoted = list(payload.get("quotes", []))
                    await ws.send_bytes(
                        msgpack.packb([{"T": "subscription", "trades": [], "quotes": quoted,
                                        "bars": symbols}])
                    )  # fmt: skip
                    if pusher is None:
                        pusher = asyncio.get_running_loop().create_task(
                            self._push_bars(ws, symbols, drop=first)
                        )
                    if quoter is None and quoted:
                        quoter = asyncio.get_running_loop().create_task(
                            self._push_quotes(ws, quoted)
                        )
        finally:
            for task in (pusher, quoter):
                if task is not None:
                    task.cancel()
        return ws

    async def _push_bars(self, ws: web.WebSocketResponse, symbols: list[str], drop: bool) -> None:
        """Push each session released from now on; close the socket mid-stream if told to."""
        sent, pushed = self._bar_days(), 0
        limit = self.scenario.stream_drop_after if drop else None
        while not ws.closed:
            await asyncio.sleep(0.02)
            while sent < self._bar_days():
                sent += 1
                frame = [
                    _bar_message(symbol, list(_daily_bars(symbol, sent, self.scenario.seed))[-1])
                    for symbol in symbols
                ]
                await ws.send_bytes(msgpack.packb(frame, datetime=False))
                pushed += 1
                self.sessions_pushed.append(sent)
                if limit is not None and pushed >= limit:
                    await ws.close()
                    return

    async def _push_quotes(self, ws: web.WebSocketResponse, symbols: list[str]) -> None:
        """``quotes_per_symbol`` rounds of ``q`` messages, one frame a round, stamped now."""
        for _ in range(self.quotes_per_symbol):
            await asyncio.sleep(0.01)
            frame = [self._quote_message(symbol) for symbol in symbols]
            if ws.closed:
                return
            await ws.send_bytes(msgpack.packb(frame, datetime=False))
            self.quotes_sent.extend(frame)

    def _quote_message(self, symbol: str) -> dict[str, Any]:
        """A ``q`` message: a random top of book around 100, its ``t`` a msgpack Timestamp."""
        draw = self._quote_random
        bid = round(100 + draw.uniform(-1, 1), 2)
        return {
            "T": "q", "S": symbol, "bx": "V", "bp": bid, "bs": draw.randint(1, 10) * 100,
            "ax": "V", "ap": round(bid + draw.choice((0.01, 0.02, 0.05)), 2),
            "as": draw.randint(1, 10) * 100, "t": msgpack.Timestamp.from_datetime(_now()),
            "c": ["R"], "z": "C",
        }  # fmt: skip


def _bar_message(symbol: str, bar: dict[str, Any]) -> dict[str, Any]:
    """A REST bar as the stream's ``b`` message: its ``t`` a msgpack Timestamp."""
    stamp = datetime.fromisoformat(bar["t"].replace("Z", "+00:00"))
    return {
        "T": "b", "S": symbol, "o": bar["o"], "h": bar["h"], "l": bar["l"], "c": bar["c"],
        "v": bar["v"], "t": msgpack.Timestamp.from_datetime(stamp), "n": bar["n"],
        "vw": bar["vw"],
    }  # fmt: skip


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = json.dumps({"code": code, "message": message})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _position(symbol: str, qty: float) -> dict[str, Any]:
    return {
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)), "symbol": symbol,
        "exchange": "NASDAQ", "asset_class": "us_equity", "avg_entry_price": "100",
        "qty": _num(qty), "side": "long" if qty > 0 else "short", "cost_basis": _num(100 * qty),
    }  # fmt: skip


def _daily_bars(symbol: str, days: int, seed: int) -> Iterator[dict[str, Any]]:
    """A seeded random walk over NYSE sessions from 2024-01-02, stamped at midnight New York.

    Alpaca stamps a daily bar at the session's start (midnight New York), and
    lists sessions only: no weekend or holiday bars.
    """
    import exchange_calendars

    sessions = exchange_calendars.get_calendar("XNYS").sessions_in_range("2024-01-02", "2025-12-31")
    walk = random.Random(f"{seed}:{symbol}")
    close = 100.0
    for session in sessions[:days]:
        day = datetime(session.year, session.month, session.day, tzinfo=NEW_YORK).astimezone(UTC)
        open_ = close
        close = max(open_ * (1 + walk.gauss(0, 0.01)), 1.0)
        high = max(open_, close) * (1 + abs(walk.gauss(0, 0.003)))
        low = min(open_, close) * (1 - abs(walk.gauss(0, 0.003)))
        yield {
            "t": _iso(day), "o": round(open_, 4), "h": round(high, 4), "l": round(low, 4),
            "c": round(close, 4), "v": float(walk.randint(1_000, 100_000)), "n": 100,
            "vw": round(close, 4),
        }  # fmt: skip


def scenario_named(name: str, seed: int = 0) -> Scenario:
    """A named scenario with another seed."""
    return replace(SCENARIOS[name], seed=seed)


def main() -> None:
    """Serve until interrupted: ``--port P --scenario NAME [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port-file", default=None, help="write the port here once listening")
    args = parser.parse_args()
    server = AlpacaServer(scenario_named(args.scenario, args.seed), port=args.port)
    server.start()
    if args.port_file:
        staged = Path(args.port_file + ".tmp")
        staged.write_text(str(server.port), encoding="utf-8")
        staged.replace(args.port_file)
    print(f"listening on {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
