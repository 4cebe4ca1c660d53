"""Alpaca's trading API as a :class:`~alphagate.adapters.broker.client.BrokerClient` (alpaca-py).

Every call is one request (or, for a query, the order and then its fill
activities) through alpaca-py's ``TradingClient``, with no retry of its own:
:class:`~alphagate.adapters.broker.venue.BrokerVenue` paces and retries reads
and sends writes once.

Two of alpaca-py's defaults are wrong for money and are changed through its
public constructor, never by editing a private attribute:

* **Its own retries.** ``RESTClient`` resends any request answered 429 or
  504 three times after a fixed 3 s sleep. For a POST a 504 resend is the
  blind resend BF-05 forbids, and a 3 s sleep ignores ``Retry-After``
  (BF-03). ``TradingClient`` does not forward ``RESTClient``'s retry
  arguments, so :class:`_SingleShotTradingClient` calls ``RESTClient``'s
  constructor with ``retry_exception_codes`` naming only a status no HTTP
  answer carries (an empty list means "the defaults" there).
* **No timeout.** requests waits forever by default, and alpaca-py offers no
  timeout setting. Each call runs on a small worker pool and is abandoned
  after ``timeout_s``: the caller gets :class:`OutcomeUnknownError` (the
  request may have arrived; BrokerVenue settles it by client id, BF-01), and
  the abandoned worker finishes when the server answers or the connection
  dies.

Executions carry ids derived from the cumulative filled quantity, the same
from the stream and from a query; see :mod:`.mapping`. A query reads them
from ``/v2/account/activities/FILL`` through the client's public ``get``,
since ``TradingClient`` has no typed call for it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final, TypeVar

from alpaca.common.enums import BaseURL
from alpaca.common.rest import RESTClient
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order, Position, TradeAccount
from alpaca.trading.requests import GetOrdersRequest

from alphagate.adapters.alpaca.errors import VENUE, broker_error
from alphagate.adapters.alpaca.mapping import (
    alpaca_bracket,
    alpaca_request,
    bracket_legs,
    leg_of,
    request_of,
    snapshot_of,
)
from alphagate.adapters.broker.client import OrderSnapshot
from alphagate.adapters.broker.errors import OrderNotFoundError
from alphagate.domain.orders import OrderRequest
from alphagate.ports import VenueAccount, VenueCapabilities

T = TypeVar("T")

_NO_HTTP_STATUS: Final = 0
"""A status code no HTTP answer has: the only retry code alpaca-py's client is given."""

ACTIVITIES_PAGE: Final = 100


class _SingleShotTradingClient(TradingClient):
    """alpaca-py's ``TradingClient`` built with its base class's retries switched off."""

    def __init__(self, api_key: str, secret_key: str, *, paper: bool, url: str | None) -> None:
        base = url or (BaseURL.TRADING_PAPER if paper else BaseURL.TRADING_LIVE)
        RESTClient.__init__(
            self,
            base_url=base,
            api_key=api_key,
            secret_key=secret_key,
            api_version="v2",
            sandbox=paper,
            raw_data=False,
            retry_attempts=1,
            retry_exception_codes=[_NO_HTTP_STATUS],
        )


class AlpacaClient:
    """One Alpaca account's orders, executions, positions and cash; see the module docstring.

    Parameters
    ----------
    key_id, secret_key
        The account's keys (from the environment; never logged).
    paper
        The paper endpoint when ``base_url`` is not given.
    base_url
        ``venues.alpaca.base_url``: a proxy, a sandbox or a local test server.
    timeout_s
        How long one request may take before its outcome counts as unknown.
    """

    name = VENUE
    capabilities = VenueCapabilities(brackets=True, fractional=True, shorting=True)

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        paper: bool = True,
        base_url: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._trading = _SingleShotTradingClient(key_id, secret_key, paper=paper, url=base_url)
        self._url = base_url or (BaseURL.TRADING_PAPER if paper else BaseURL.TRADING_LIVE).value
        self._timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="alpaca-rest")
        self._legs: dict[str, str] = {}
        """Alpaca's client id of each bracket leg seen -> ours (the stream names legs by theirs)."""

    def __repr__(self) -> str:
        return f"AlpacaClient({self._url!r})"

    def close(self) -> None:
        """Stop the worker pool without waiting for abandoned requests."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- BrokerClient ------------------------------------------------------------------------

    def place(self, request: OrderRequest) -> OrderSnapshot:
        """POST the order once; the answer as a snapshot (its executions come later)."""
        order = self._call(self._trading.submit_order, alpaca_request(request))
        return snapshot_of(_order(order), [], request)

    # -- broker-held brackets (BracketClient) -----------------------------------------------

    def holds(self, parent: OrderRequest, legs: Sequence[OrderRequest]) -> bool:
        """Whether Alpaca can hold ``legs`` with ``parent`` as one bracket or OTO order."""
        return bracket_legs(parent, legs) is not None

    def place_bracket(
        self, parent: OrderRequest, legs: Sequence[OrderRequest]
    ) -> list[OrderSnapshot]:
        """POST the entry and its legs as one order; snapshots of the entry, then each leg."""
        pair = bracket_legs(parent, legs)
        if pair is None:
            raise ValueError(f"alpaca cannot hold these legs of {parent.client_order_id}")
        order = _order(self._call(self._trading.submit_order, alpaca_bracket(parent, *pair)))
        return [snapshot_of(order, [], parent), *self._legs_of(order, legs, fills=False)]

    def find_leg(self, leg: OrderRequest) -> OrderSnapshot | None:
        """A bracket leg, found through its entry (Alpaca names legs itself); ``None`` if none."""
        assert leg.parent_id is not None, "a leg names its entry"
        try:
            parent = _order(self._call(self._trading.get_order_by_client_id, leg.parent_id))
        except OrderNotFoundError:
            return None
        found = self._legs_of(parent, [leg], fills=True)
        return found[0] if found else None

    def our_id(self, alpaca_client_order_id: str) -> str:
        """Our client id for an order Alpaca names (a leg's own id -> ours; others unchanged)."""
        return self._legs.get(alpaca_client_order_id, alpaca_client_order_id)

    def _legs_of(
        self, parent: Order, legs: Sequence[OrderRequest], *, fills: bool
    ) -> list[OrderSnapshot]:
        snapshots = []
        for leg in legs:
            child = leg_of(parent, leg)
            if child is None:
                continue
            self._legs[child.client_order_id] = leg.client_order_id
            snapshots.append(snapshot_of(child, self._fills_of(child) if fills else [], leg))
        return snapshots

    def find(self, client_order_id: str) -> OrderSnapshot | None:
        """The order by client id with its executions; ``None`` when Alpaca has no such order."""
        try:
            order = _order(self._call(self._trading.get_order_by_client_id, client_order_id))
        except OrderNotFoundError:
            return None
        return snapshot_of(order, self._fills_of(order))

    def cancel(self, client_order_id: str) -> None:
        """Find the order's Alpaca id, then DELETE it (:class:`OrderNotFoundError` if none)."""
        order = _order(self._call(self._trading.get_order_by_client_id, client_order_id))
        self._call(self._trading.cancel_order_by_id, order.id)

    def working(self) -> Sequence[OrderSnapshot]:
        """Every open order, with the executions of those partly filled."""
        query = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=False)
        orders = self._call(self._trading.get_orders, query)
        if not isinstance(orders, list):
            raise broker_error(TypeError("orders"))
        return [snapshot_of(o, self._fills_of(o), self._named(o)) for o in orders]

    def account(self) -> VenueAccount:
        """Cash and signed positions."""
        account = self._call(self._trading.get_account)
        positions = self._call(self._trading.get_all_positions)
        if not isinstance(account, TradeAccount) or not isinstance(positions, list):
            raise broker_error(TypeError("account"))
        held = {p.symbol: _signed(p) for p in positions if isinstance(p, Position)}
        return VenueAccount(cash=float(account.cash or 0.0), positions=held)

    # -- inside ------------------------------------------------------------------------------

    def _named(self, order: Order) -> OrderRequest:
        """The order's request under our client id (a leg we placed is listed under Alpaca's)."""
        request = request_of(order)
        ours = self._legs.get(order.client_order_id)
        return request if ours is None else dataclasses.replace(request, client_order_id=ours)

    def _fills_of(self, order: Order) -> list[Mapping[str, Any]]:
        """The order's FILL activities since it was submitted, oldest first, every page."""
        if not float(order.filled_qty or 0.0):
            return []
        oid = str(order.id)
        after = (order.submitted_at - timedelta(seconds=1)).isoformat()
        found: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"after": after, "direction": "asc"}
            params["page_size"] = ACTIVITIES_PAGE
            if token is not None:
                params["page_token"] = token
            page = self._call(self._trading.get, "/account/activities/FILL", params)
            rows = [r for r in page if isinstance(r, dict)] if isinstance(page, list) else []
            found += [r for r in rows if r.get("order_id") == oid]
            if len(rows) < ACTIVITIES_PAGE:
                return found
            token = str(rows[-1]["id"])

    def _call(self, call: Callable[..., T], *args: Any) -> T:
        """One request with a deadline, its failure mapped onto :mod:`.errors` (SE-03)."""
        future = self._pool.submit(call, *args)
        try:
            return future.result(timeout=self._timeout_s)
        except concurrent.futures.TimeoutError:
            error: BaseException = TimeoutError()
        except Exception as raised:
            error = raised
        raise broker_error(error) from None


def _order(answer: object) -> Order:
    if not isinstance(answer, Order):
        raise broker_error(TypeError("order"))
    return answer


def _signed(position: Position) -> float:
    qty = float(position.qty)
    return -abs(qty) if str(getattr(position.side, "value", position.side)) == "short" else qty
