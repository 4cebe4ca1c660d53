"""``CcxtClient``: a :class:`~alphagate.adapters.broker.client.BrokerClient` over ccxt's async API.

Each method is one unretried call as the contract asks; the shared
:class:`~alphagate.adapters.broker.venue.BrokerVenue` paces and retries them.
Where one call needs more than one request (an order and its trades, an
order looked up on several markets), every further request passes the same
:class:`~alphagate.adapters.broker.pacing.Pacing` first, so the budget
counts requests, not calls.

Rate limits escalate: the ``Retry-After`` Binance sends after a 429 is
short (often 1 s), and a client that waits only that long through minutes
of 429s keeps hitting the limit, which Binance turns into 418 bans of
minutes to days (BF-04). Each consecutive refusal doubles a jittered
floor under the wait (``equal jitter``: half fixed, half random, capped at
five minutes); a success resets it.

Orders are found by client id (Binance: ``origClientOrderId``), which
needs the market: the client remembers the market of each order it sent or
saw, and otherwise asks each market it trades. Executions come from the
venue's trade list (``myTrades``) with its trade ids, so a fill seen twice
is one fill (I3).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import ccxt
import ccxt.async_support as ccxt_async

from alphagate.adapters.broker.client import OrderSnapshot
from alphagate.adapters.broker.errors import (
    AuthFailedError,
    BrokerError,
    ClockSkewError,
    OrderNotFoundError,
    RateLimitedError,
    UnreachableError,
)
from alphagate.adapters.broker.pacing import Pacing
from alphagate.adapters.ccxt.errors import RedactingFilter, translate
from alphagate.adapters.ccxt.loop import LoopThread
from alphagate.adapters.ccxt.orders import create_args, snapshot_of
from alphagate.domain.orders import OrderRequest, OrderStatus
from alphagate.ports import VenueAccount, VenueCapabilities

T = TypeVar("T")
log = logging.getLogger(__name__)

SPOT = VenueCapabilities(brackets=False, fractional=True, shorting=False)
"""Spot: no server-held brackets through this adapter, fractional amounts, no shorting."""


class KeyPermissionError(AuthFailedError):
    """The API key may withdraw funds; a trading key must not (SE-08)."""


class CcxtClient:
    """One exchange account through ccxt; see the module docstring.

    Parameters
    ----------
    exchange
        A ccxt async exchange bound to ``loop``'s event loop.
    loop
        The thread its coroutines run on.
    pacing
        The connection's pacing, for the extra requests one call makes.
    symbols
        The markets traded (``BTC/USDT``): where an order of unknown market
        is looked for, and the positions the account reports.
    cash
        The quote currency whose balance is the account's cash; by default
        the quote of the first symbol.
    seed
        Seeds the rate-limit jitter (tests); ``None`` for the system's randomness.
    """

    backoff_base_s = 1.0
    backoff_cap_s = 300.0

    def __init__(
        self,
        exchange: ccxt_async.Exchange,
        loop: LoopThread,
        *,
        pacing: Pacing,
        symbols: Sequence[str] = (),
        cash: str | None = None,
        seed: int | None = None,
    ) -> None:
        self._exchange, self._loop, self._pacing = exchange, loop, pacing
        self._symbols = list(dict.fromkeys(symbols))
        self._cash = cash or (self._symbols[0].split("/")[1] if self._symbols else "USDT")
        self._requests: dict[str, OrderRequest] = {}
        self._market_of: dict[str, str] = {}
        self._unfinished: set[str] = set()
        self._secrets = tuple(
            str(v) for v in (exchange.apiKey, exchange.secret, exchange.password) if v
        )
        self._redactor = RedactingFilter(self._secrets)
        self._logger: logging.Logger = exchange.logger or logging.getLogger("ccxt")
        self._logger.addFilter(self._redactor)
        self._markets_loaded = False
        self._limited = 0
        self._jitter = random.Random(seed)

    @property
    def name(self) -> str:
        """The ccxt exchange id (``binance``)."""
        return str(self._exchange.id)

    @property
    def capabilities(self) -> VenueCapabilities:
        """Spot trading: see :data:`SPOT`."""
        return SPOT

    @property
    def unfinished(self) -> frozenset[str]:
        """Client ids sent or seen here whose end (filled, canceled ...) was not yet seen."""
        return frozenset(self._unfinished)

    @property
    def cash_currency(self) -> str:
        """The currency counted as cash."""
        return self._cash

    # -- BrokerClient ------------------------------------------------------------------------

    def place(self, request: OrderRequest) -> OrderSnapshot:
        """POST the order once with its client id; its fills as the answer lists them."""
        try:
            self._load_markets()
        except BrokerError as error:
            raise UnreachableError(
                f"markets could not be loaded ({error}); the order was not sent", venue=self.name
            ) from None
        self._requests[request.client_order_id] = request
        self._market_of[request.client_order_id] = request.symbol
        self._note_symbol(request.symbol)
        self._unfinished.add(request.client_order_id)  # whatever the answer, until known ended
        order = self._call(self._exchange.create_order(*create_args(request)), write=True)
        return self._note(snapshot_of(order, request, order.get("trades") or (), cash=self._cash))

    def find(self, client_order_id: str) -> OrderSnapshot | None:
        """The order with this client id and its executions, or ``None`` if no market has it."""
        self._load_markets()
        known = self._market_of.get(client_order_id)
        markets = [known] if known else self._symbols
        for number, symbol in enumerate(markets):
            if number:
                self._pacing.acquire()
            params = {"origClientOrderId": client_order_id}
            try:
                order = self._call(self._exchange.fetch_order(None, symbol, params), write=False)
            except OrderNotFoundError:
                continue
            self._market_of[client_order_id] = symbol
            return self._with_trades(order)
        self._unfinished.discard(client_order_id)  # never received: a resend adds it again
        return None

    def cancel(self, client_order_id: str) -> None:
        """DELETE the order by client id; :class:`OrderNotFoundError` if its market is unknown."""
        self._load_markets()
        symbol = self._market_of.get(client_order_id)
        if symbol is None:
            raise OrderNotFoundError(
                f"order {client_order_id} was never seen here: its market is unknown",
                venue=self.name,
            )
        params = {"origClientOrderId": client_order_id}
        self._call(self._exchange.cancel_order(None, symbol, params), write=True)

    def working(self) -> Sequence[OrderSnapshot]:
        """Every open order on the account, with the executions of those partly filled."""
        self._load_markets()
        orders = self._call(self._exchange.fetch_open_orders(), write=False)
        snapshots = []
        for order in orders:
            self._market_of[str(order["clientOrderId"])] = str(order["symbol"])
            self._note_symbol(str(order["symbol"]))
            snapshots.append(self._with_trades(order))
        return snapshots

    def account(self) -> VenueAccount:
        """Cash (the quote currency's total) and each traded market's base balance."""
        balance = self._call(self._exchange.fetch_balance(), write=False)
        totals: Mapping[str, Any] = balance.get("total") or {}
        positions = {
            symbol: float(totals.get(symbol.split("/")[0]) or 0.0) for symbol in self._symbols
        }
        return VenueAccount(cash=float(totals.get(self._cash) or 0.0), positions=positions)

    # -- beyond the contract -----------------------------------------------------------------

    def check_key_permissions(self) -> bool:
        """Refuse a key that may withdraw funds (SE-08); ``False`` when the venue cannot tell.

        Binance tells (``/sapi/v1/account/apiRestrictions``); its spot testnet
        and the unified API of other exchanges do not, which is logged.

        Raises
        ------
        KeyPermissionError
            When the key has withdrawals enabled.
        """
        restrictions = getattr(self._exchange, "sapi_get_account_apirestrictions", None)
        if restrictions is None or "sapi" not in self._exchange.urls.get("api", {}):
            log.warning("%s does not expose the key's permissions; not checked", self.name)
            return False
        answer = self._call(restrictions(), write=False)
        if answer.get("enableWithdrawals"):
            raise KeyPermissionError(
                "this API key may withdraw funds: create a trading key with withdrawals "
                "disabled (API management, 'Enable Withdrawals' off) and use that",
                venue=self.name,
            )
        return True

    def trade(self, symbols: Sequence[str]) -> None:
        """Add markets this account trades: where orders are looked for, positions reported."""
        for symbol in symbols:
            self._note_symbol(symbol)

    def ohlcv(self, symbol: str, timeframe: str, since_ms: int, limit: int) -> list[list[Any]]:
        """One page of candles from ``since_ms`` (one unretried public request)."""
        self._load_markets()
        fetch = self._exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        candles: list[list[Any]] = self._call(fetch, write=False)
        return candles

    def sync_clock(self) -> None:
        """Measure the offset to the venue's clock, so signed timestamps fall in its window."""
        self._call(self._exchange.load_time_difference(), write=False)

    def close(self) -> None:
        """Close the HTTP session and stop the loop."""
        try:
            self._loop.run(self._exchange.close(), timeout=10)
        finally:
            self._logger.removeFilter(self._redactor)
            self._loop.close()

    # -- inside ------------------------------------------------------------------------------

    def _with_trades(self, order: dict[str, Any]) -> OrderSnapshot:
        cid = str(order["clientOrderId"])
        request = self._requests.get(cid)
        trades: list[dict[str, Any]] = []
        if float(order.get("filled") or 0.0) > 0.0:
            self._pacing.acquire()
            fetch = self._exchange.fetch_my_trades(
                str(order["symbol"]), params={"orderId": str(order["id"])}
            )
            trades = self._call(fetch, write=False)
        snapshot = snapshot_of(order, request, trades, cash=self._cash)
        if snapshot.status is OrderStatus.FILLED and not snapshot.fills:
            log.warning("order %s is filled but the venue listed no trades for it yet", cid)
        self._requests.setdefault(cid, snapshot.request)
        return self._note(snapshot)

    def _note(self, snapshot: OrderSnapshot) -> OrderSnapshot:
        if snapshot.state().is_terminal:
            self._unfinished.discard(snapshot.client_order_id)
        else:
            self._unfinished.add(snapshot.client_order_id)
        return snapshot

    def _note_symbol(self, symbol: str) -> None:
        if symbol not in self._symbols:
            self._symbols.append(symbol)

    def _load_markets(self) -> None:
        if not self._markets_loaded:
            self._call(self._exchange.load_markets(), write=False)
            self._markets_loaded = True

    def _call(self, coroutine: Coroutine[Any, Any, T], *, write: bool) -> T:
        # Calls are serialised on the loop thread, so the last response is this call's;
        # cleared first so a failure before any answer never reads the previous one.
        self._exchange.last_http_response = None
        self._exchange.last_response_headers = None
        try:
            answer = self._loop.run(coroutine)
        except ccxt.BaseError as error:
            mapped = translate(
                error,
                self.name,
                write=write,
                headers=self._exchange.last_response_headers,
                body=self._exchange.last_http_response,
                secrets=self._secrets,
            )
        else:
            self._limited = 0
            return answer
        if isinstance(mapped, RateLimitedError):
            mapped.retry_after = max(mapped.retry_after or 0.0, self._backoff())
        if isinstance(mapped, ClockSkewError):
            self._resync_clock()
        raise mapped from None

    def _backoff(self) -> float:
        """The escalating floor under a rate limit's wait; see the module docstring."""
        self._limited += 1
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** (self._limited - 1))
        return ceiling / 2 + self._jitter.uniform(0.0, ceiling / 2)

    def _resync_clock(self) -> None:
        """After a recvWindow refusal, measure the clock offset again so the next call passes."""
        try:
            self._loop.run(self._exchange.load_time_difference())
        except ccxt.BaseError:
            log.warning(
                "%s: could not read the venue's clock; signed calls may keep failing", self.name
            )
