"""A local Binance spot REST server: the subset ccxt's ``binance`` class calls, on 127.0.0.1.

The CCXT adapter is tested with the real ccxt client against this server,
never against mocks of ccxt. It speaks what ccxt sends with the options in
SERVICES.md (spot markets only, no margin or currency endpoints):

===========================  ============================================
``GET /api/v3/exchangeInfo``  ``load_markets``
``GET /api/v3/time``          ``fetch_time``, ``load_time_difference``
``POST /api/v3/order``        ``create_order`` (``newClientOrderId``)
``GET /api/v3/order``         ``fetch_order`` (``origClientOrderId``)
``DELETE /api/v3/order``      ``cancel_order`` (``origClientOrderId``)
``GET /api/v3/openOrders``    ``fetch_open_orders``
``GET /api/v3/account``       ``fetch_balance``
``GET /api/v3/myTrades``      ``fetch_my_trades`` (``orderId``)
``GET /api/v3/klines``        ``fetch_ohlcv`` (``startTime`` / ``limit`` paging)
``GET /sapi/v1/account/apiRestrictions``  the key's permissions
===========================  ============================================

Signed requests are checked as Binance checks them: the ``X-MBX-APIKEY``
header (``-2015``, HTTP 401, when wrong), the HMAC-SHA256 ``signature`` of
the query or body (``-1022``), and ``timestamp`` against ``recvWindow``
(``-1021`` when outside it). A repeated ``newClientOrderId`` of an open order
is ``-2010 Duplicate order sent.``; balance and lot-size filters reject with
``-2010`` / ``-1013``. A 429 carries ``Retry-After``; a request inside that
wait counts as a violation, and ``ban_after`` violations turn into 418 bans,
which a well-behaved client never reaches.

Faults are scripted per endpoint (:class:`Fault`) and named scenarios set
them up, seeded, for the tests and for ``python tests/servers/binance_server.py
--port P --scenario NAME``. Every request is counted per endpoint in
:attr:`BinanceState.requests`, so a test can assert "exactly one POST".
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

ORDER = "/api/v3/order"
INTERVALS_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
KLINES_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
OPEN = ("NEW", "PARTIALLY_FILLED")


@dataclass
class Fault:
    """What the next matching requests get instead of a normal answer.

    ``endpoint`` is ``"METHOD /path"`` or ``"*"``; ``kind`` one of
    ``429``, ``503`` (before anything happens), ``503-after`` (the order is
    taken, then 503), ``hang-after`` (taken, then no answer for ``hang_s``),
    ``hang-before`` (no answer for ``hang_s``, never taken), ``skew``.
    Active ``times`` more times, or until the server clock passes ``until``.
    """

    endpoint: str
    kind: str
    times: int = 1
    until: float | None = None
    retry_after: int = 1
    hang_s: float = 2.0

    def matches(self, endpoint: str, now: float) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        if self.until is not None:
            return now < self.until
        return self.times > 0


@dataclass
class Order:
    symbol: str
    order_id: int
    client_id: str
    side: str
    type: str
    quantity: float
    price: float | None
    stop_price: float | None
    time_in_force: str | None
    created_ms: int
    status: str = "NEW"
    executed: float = 0.0
    quote: float = 0.0
    parts: list[float] = field(default_factory=list)


@dataclass
class BinanceState:
    """The exchange's truth: balances, orders, trades, and what was asked of it."""

    api_key: str = "test-key"
    secret: str = "test-secret"
    seed: int = 0
    prices: dict[str, float] = field(default_factory=lambda: {"BTCUSDT": 30_000.0})
    balances: dict[str, float] = field(
        default_factory=lambda: {"USDT": 100_000.0, "BTC": 1.0, "ETH": 0.0}
    )
    partial_parts: int = 1
    duplicate_trades: bool = False
    withdrawals_enabled: bool = False
    skew_ms: int = 0
    ban_after: int = 3
    page_cap: int = 1000
    klines_count: int = 1500
    klines_gap: tuple[int, int] | None = None
    klines_released: int | None = None
    """Only the first this many candles are listed (``None``: all), one more every
    ``release_every_s`` of :attr:`clock` when set: new bars closing, for a live feed."""
    release_every_s: float | None = None
    clock: Callable[[], float] = time.monotonic
    """Seconds for rate-limit waits and timed faults (a test may share a fake clock with the
    client's pacing); signed timestamps are checked against the wall clock."""
    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    orders: list[Order] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    retry_until: float = 0.0
    violations: int = 0
    banned: bool = False
    signed_headers_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.lock = threading.Lock()
        self.released_at = self.clock()

    # -- helpers for tests ------------------------------------------------------------------

    def count(self, method: str, path: str = ORDER) -> int:
        """Requests received for one endpoint."""
        return self.requests[f"{method} {path}"]

    def orders_of(self, client_id: str) -> list[Order]:
        """Every order the exchange holds with this client id."""
        return [o for o in self.orders if o.client_id == client_id]

    def fill(self, client_id: str, quantity: float | None = None) -> None:
        """Fill (part of) a working order now, as the market would."""
        with self.lock:
            order = next(o for o in self.orders if o.client_id == client_id and o.status in OPEN)
            self._execute(order, quantity if quantity is not None else order.quantity)

    def set_balance(self, asset: str, amount: float) -> None:
        """Change a balance outside the engine (a deposit, a manual trade)."""
        with self.lock:
            self.balances[asset] = amount

    # -- the exchange -------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    def symbol_assets(self, symbol: str) -> tuple[str, str]:
        return symbol[:-4], symbol[-4:]

    def _execute(self, order: Order, quantity: float) -> None:
        quantity = min(quantity, order.quantity - order.executed)
        if quantity <= 0:
            return
        price = order.price if order.price is not None else self.prices[order.symbol]
        base, quote = self.symbol_assets(order.symbol)
        commission = round(quantity * price * 0.001, 8)
        sign = 1 if order.side == "BUY" else -1
        self.balances[base] = self.balances.get(base, 0.0) + sign * quantity
        self.balances[quote] = self.balances.get(quote, 0.0) - sign * quantity * price - commission
        order.executed = round(order.executed + quantity, 10)
        order.quote += quantity * price
        order.status = "FILLED" if order.executed >= order.quantity - 1e-12 else "PARTIALLY_FILLED"
        self.trades.append(
            {
                "symbol": order.symbol,
                "id": len(self.trades) + 1,
                "orderId": order.order_id,
                "orderListId": -1,
                "price": f"{price:.8f}",
                "qty": f"{quantity:.8f}",
                "quoteQty": f"{quantity * price:.8f}",
                "commission": f"{commission:.8f}",
                "commissionAsset": quote,
                "time": self.now_ms(),
                "isBuyer": order.side == "BUY",
                "isMaker": order.type != "MARKET",
                "isBestMatch": True,
            }
        )

    def order_json(self, order: Order) -> dict[str, Any]:
        return {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_id,
            "price": f"{order.price or 0:.8f}",
            "origQty": f"{order.quantity:.8f}",
            "executedQty": f"{order.executed:.8f}",
            "cummulativeQuoteQty": f"{order.quote:.8f}",
            "status": order.status,
            "timeInForce": order.time_in_force or "GTC",
            "type": order.type,
            "side": order.side,
            "stopPrice": f"{order.stop_price or 0:.8f}",
            "icebergQty": "0.00000000",
            "time": order.created_ms,
            "updateTime": self.now_ms(),
            "isWorking": order.status in OPEN,
            "workingTime": order.created_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }

    def place(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        symbol, client_id = params["symbol"], params.get("newClientOrderId", "")
        if any(o.client_id == client_id and o.status in OPEN for o in self.orders):
            return 400, {"code": -2010, "msg": "Duplicate order sent."}
        quantity = float(params["quantity"])
        price = float(params["price"]) if "price" in params else None
        stop = float(params["stopPrice"]) if "stopPrice" in params else None
        mark = price if price is not None else self.prices[symbol]
        if quantity < 0.0001:
            return 400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"}
        if quantity * mark < 10.0:
            return 400, {"code": -1013, "msg": "Filter failure: NOTIONAL"}
        base, quote = self.symbol_assets(symbol)
        side = params["side"]
        need, have = (
            (quantity * mark * 1.001, self.balances.get(quote, 0.0))
            if side == "BUY"
            else (quantity, self.balances.get(base, 0.0))
        )
        if need > have + 1e-9:
            return 400, {
                "code": -2010,
                "msg": "Account has insufficient balance for requested action.",
            }
        order = Order(
            symbol,
            len(self.orders) + 1001,
            client_id,
            side,
            params["type"],
            quantity,
            price,
            stop,
            params.get("timeInForce"),
            self.now_ms(),
        )
        if self.partial_parts > 1:
            cuts = sorted(self.rng.uniform(0.1, 0.9) for _ in range(self.partial_parts - 1))
            bounds = [0.0, *cuts, 1.0]
            order.parts = [round(quantity * (b - a), 8) for a, b in pairwise(bounds)]
            order.parts[-1] = round(quantity - sum(order.parts[:-1]), 8)
        self.orders.append(order)
        first_trade = len(self.trades)
        if order.type == "MARKET":
            self._execute(order, order.parts.pop(0) if order.parts else quantity)
        body = self.order_json(order) | {"transactTime": order.created_ms}
        body["fills"] = [
            {
                "price": t["price"],
                "qty": t["qty"],
                "commission": t["commission"],
                "commissionAsset": t["commissionAsset"],
                "tradeId": t["id"],
            }
            for t in self.trades[first_trade:]
        ]
        return 200, body

    def poll(self, order: Order) -> None:
        """A poll of a partially filling order advances it by one part."""
        if order.parts and order.status in OPEN:
            self._execute(order, order.parts.pop(0))

    def klines(self, symbol: str, interval: str) -> list[list[Any]]:
        step = INTERVALS_MS[interval]
        rng = random.Random(f"{self.seed}-{symbol}-{interval}")
        rows, close = [], self.prices.get(symbol, 100.0)
        listed = self.klines_count
        if self.klines_released is not None:
            listed = self.klines_released
            if self.release_every_s:
                listed += int((self.clock() - self.released_at) / self.release_every_s)
        for i in range(min(listed, self.klines_count)):
            open_ = close
            close = open_ * (1 + rng.gauss(0, 0.002))
            high, low = max(open_, close) * 1.001, min(open_, close) * 0.999
            if self.klines_gap is not None and self.klines_gap[0] <= i < self.klines_gap[1]:
                continue
            start = KLINES_START_MS + i * step
            rows.append(
                [start, f"{open_:.2f}", f"{high:.2f}", f"{low:.2f}", f"{close:.2f}",
                 f"{rng.uniform(1, 50):.4f}", start + step - 1, "0", 10, "0", "0", "0"]
            )  # fmt: skip
        return rows


def _error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


class BinanceApp:
    """The aiohttp application over one :class:`BinanceState`."""

    def __init__(self, state: BinanceState) -> None:
        self.state = state
        self.app = web.Application()
        routes = [
            ("GET", "/api/v3/exchangeInfo", self.exchange_info, False),
            ("GET", "/api/v3/time", self.server_time, False),
            ("GET", "/api/v3/klines", self.klines, False),
            ("POST", ORDER, self.post_order, True),
            ("GET", ORDER, self.get_order, True),
            ("DELETE", ORDER, self.delete_order, True),
            ("GET", "/api/v3/openOrders", self.open_orders, True),
            ("GET", "/api/v3/account", self.account, True),
            ("GET", "/api/v3/myTrades", self.my_trades, True),
            ("GET", "/sapi/v1/account/apiRestrictions", self.api_restrictions, True),
        ]
        for method, path, handler, signed in routes:
            self.app.router.add_route(method, path, self._wrap(method, path, handler, signed))

    def _wrap(
        self, method: str, path: str, handler: Callable[..., Any], signed: bool
    ) -> Callable[[web.Request], Any]:
        endpoint = f"{method} {path}"

        async def run(request: web.Request) -> web.StreamResponse:
            raw = await request.text() if method == "POST" else request.query_string
            params = dict(parse_qsl(raw, keep_blank_values=True))
            refused, fault = self._admit(endpoint)
            if refused is None:
                refused = await self._fault_before(fault)
            if refused is None and signed:
                refused = self._check_signature(request, raw, params)
            if refused is not None:
                return refused
            with self.state.lock:
                response: web.Response = handler(params)
            if fault is not None and fault.kind == "hang-after":
                await asyncio.sleep(fault.hang_s)
            if fault is not None and fault.kind == "503-after":
                return _error(503, -1001, "Service unavailable.")
            return response

        return run

    def _admit(self, endpoint: str) -> tuple[web.Response | None, Fault | None]:
        """Count the request; refuse it inside a wait or a ban; pick the fault it meets."""
        state = self.state
        with state.lock:
            state.requests[endpoint] += 1
            now = state.clock()
            refused = self._rate_limited(now)
            if refused is not None:
                return refused, None
            fault = next((f for f in state.faults if f.matches(endpoint, now)), None)
            if fault is not None and fault.until is None:
                fault.times -= 1
            if fault is not None and fault.kind == "429":
                state.retry_until = max(state.retry_until, now + fault.retry_after)
        return None, fault

    async def _fault_before(self, fault: Fault | None) -> web.Response | None:
        if fault is None:
            return None
        if fault.kind == "429":
            headers = {"Retry-After": str(fault.retry_after)}
            return _error(429, -1003, "Too many requests; current limit is 1200.", headers)
        if fault.kind == "hang-before":
            await asyncio.sleep(fault.hang_s)
        if fault.kind in ("503", "hang-before"):
            return _error(503, -1001, "Service unavailable.")
        return None

    def _rate_limited(self, now: float) -> web.Response | None:
        state = self.state
        if state.banned:
            return _error(418, -1003, "Way too many requests; IP banned.", {"Retry-After": "120"})
        if now < state.retry_until:
            state.violations += 1
            if state.violations >= state.ban_after:
                state.banned = True
                return _error(418, -1003, "Way too many requests; IP banned.",
                              {"Retry-After": "120"})  # fmt: skip
            wait = max(int(state.retry_until - now + 0.999), 1)
            return _error(429, -1003, "Too many requests.", {"Retry-After": str(wait)})
        return None

    def _check_signature(
        self, request: web.Request, raw: str, params: dict[str, str]
    ) -> web.Response | None:
        state = self.state
        if request.headers.get("X-MBX-APIKEY") != state.api_key:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(state.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return _error(400, -1022, "Signature for this request is not valid.")
        server_ms = state.now_ms()
        stamp = int(params.get("timestamp", "0"))
        window = int(params.get("recvWindow", "5000"))
        if stamp >= server_ms + 1000 or server_ms - stamp > window:
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    # -- endpoints (called under the state's lock) --------------------------------------------

    def exchange_info(self, params: dict[str, str]) -> web.Response:
        symbols = []
        for symbol in self.state.prices:
            base, quote = self.state.symbol_assets(symbol)
            symbols.append(
                {
                    "symbol": symbol,
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS",
                                   "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "quoteOrderQtyMarketAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": "0.01",
                         "maxPrice": "1000000.00", "tickSize": "0.01"},
                        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0",
                         "stepSize": "0.00001"},
                        {"filterType": "NOTIONAL", "minNotional": "10.0"},
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                }
            )  # fmt: skip
        return web.json_response(
            {"timezone": "UTC", "serverTime": self.state.now_ms(), "rateLimits": [],
             "exchangeFilters": [], "symbols": symbols}
        )  # fmt: skip

    def server_time(self, params: dict[str, str]) -> web.Response:
        return web.json_response({"serverTime": self.state.now_ms()})

    def klines(self, params: dict[str, str]) -> web.Response:
        symbol, interval = params["symbol"], params["interval"]
        if symbol not in self.state.prices or interval not in INTERVALS_MS:
            return _error(400, -1121, "Invalid symbol.")
        limit = min(int(params.get("limit", "500")), 1000, self.state.page_cap)
        start = int(params.get("startTime", "0"))
        end = int(params.get("endTime", str(2**62)))
        rows = [r for r in self.state.klines(symbol, interval) if start <= r[0] <= end]
        return web.json_response(rows[:limit])

    def _find(self, params: dict[str, str]) -> Order | None:
        client_id = params.get("origClientOrderId")
        matching = [
            o
            for o in self.state.orders
            if o.symbol == params.get("symbol")
            and (o.client_id == client_id if client_id else str(o.order_id) == params["orderId"])
        ]
        return matching[-1] if matching else None

    def post_order(self, params: dict[str, str]) -> web.Response:
        status, body = self.state.place(params)
        return web.json_response(body, status=status)

    def get_order(self, params: dict[str, str]) -> web.Response:
        order = self._find(params)
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        self.state.poll(order)
        return web.json_response(self.state.order_json(order))

    def delete_order(self, params: dict[str, str]) -> web.Response:
        order = self._find(params)
        if order is None or order.status not in OPEN:
            return _error(400, -2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.parts = []
        body = self.state.order_json(order) | {"origClientOrderId": order.client_id}
        return web.json_response(body)

    def open_orders(self, params: dict[str, str]) -> web.Response:
        symbol = params.get("symbol")
        listed = [o for o in self.state.orders if o.status in OPEN and symbol in (None, o.symbol)]
        for order in listed:
            self.state.poll(order)
        return web.json_response([self.state.order_json(o) for o in listed])

    def account(self, params: dict[str, str]) -> web.Response:
        balances = [
            {"asset": a, "free": f"{v:.8f}", "locked": "0.00000000"}
            for a, v in self.state.balances.items()
        ]
        return web.json_response(
            {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
             "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
             "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
             "updateTime": self.state.now_ms(), "accountType": "SPOT", "balances": balances,
             "permissions": ["SPOT"], "uid": 1}
        )  # fmt: skip

    def my_trades(self, params: dict[str, str]) -> web.Response:
        trades = [
            t
            for t in self.state.trades
            if t["symbol"] == params["symbol"]
            and ("orderId" not in params or str(t["orderId"]) == params["orderId"])
        ]
        if self.state.duplicate_trades:
            trades = list(reversed(trades)) + trades[:1]
        return web.json_response(trades)

    def api_restrictions(self, params: dict[str, str]) -> web.Response:
        return web.json_response(
            {"ipRestrict": False, "createTime": 1_700_000_000_000,
             "enableWithdrawals": self.state.withdrawals_enabled, "enableInternalTransfer": False,
             "permitsUniversalTransfer": False, "enableVanillaOptions": False,
             "enableReading": True, "enableFutures": False, "enableMargin": False,
             "enableSpotAndMarginTrading": True}
        )  # fmt: skip


SCENARIOS: dict[str, Callable[[BinanceState], None]] = {
    "normal": lambda s: None,
    "partial": lambda s: setattr(s, "partial_parts", 3),
    "reject-funds": lambda s: s.balances.update(USDT=5.0, BTC=0.0),
    "timeout-after-accept": lambda s: s.faults.append(Fault(f"POST {ORDER}", "hang-after")),
    "timeout-before-accept": lambda s: s.faults.append(Fault(f"POST {ORDER}", "hang-before")),
    "rate-limit": lambda s: s.faults.append(Fault("*", "429", times=2, retry_after=1)),
    "5xx": lambda s: s.faults.extend(
        [Fault("*", "503", times=2), Fault(f"POST {ORDER}", "503-after")]
    ),
    "duplicate-trades": lambda s: setattr(s, "duplicate_trades", True),
    "clock-skew": lambda s: setattr(s, "skew_ms", -10_000),
    "withdrawals-enabled": lambda s: setattr(s, "withdrawals_enabled", True),
    "klines-gap": lambda s: setattr(s, "klines_gap", (100, 103)),
}
"""Named, seeded set-ups; a test may also script :class:`Fault` values itself."""


def state_for(scenario: str, *, seed: int = 0, **overrides: Any) -> BinanceState:
    """A fresh exchange set up for ``scenario``; unknown names list the known ones."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    state = BinanceState(seed=seed, **overrides)
    SCENARIOS[scenario](state)
    return state


class BinanceServer:
    """The app on a free loopback port, served from its own thread (``with`` starts and stops)."""

    def __init__(self, state: BinanceState) -> None:
        self.state = state
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``venues.ccxt.urls.all`` points at."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BinanceServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(
            BinanceApp(self.state).app, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        hanging = [t for t in asyncio.all_tasks() if t is not current]
        for task in hanging:  # handlers still sleeping in a "hang" fault
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)


def main() -> None:
    """Serve one scenario on a port until interrupted (for manual runs and the CLI tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--secret", default="test-secret")
    args = parser.parse_args()
    state = state_for(args.scenario, seed=args.seed, api_key=args.api_key, secret=args.secret)
    print(json.dumps({"port": args.port, "scenario": args.scenario}), flush=True)
    web.run_app(BinanceApp(state).app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
