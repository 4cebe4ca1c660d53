"""Alpaca's orders, fill activities and trade updates as alphagate's requests, fills and reports.

One execution, one id, whichever way it is learned
--------------------------------------------------
An order's executions reach the engine two ways: the trade-updates stream
(``partial_fill`` / ``fill`` events) and, after a reconnect or a restart, a
REST query. Both must name an execution with the same ``trade_id`` or the
engine would count it twice (invariant I3). The stream's ``execution_id`` is
not a field of the REST answer: alpaca-py's ``TradingClient`` has no typed
call for ``/v2/account/activities/FILL`` (only the Broker API client does), and
the activity's own id is not documented to equal the stream's execution id.
What both *do* carry is the order's cumulative filled quantity after the
execution: the stream's order object (``filled_qty``) and the activity
(``cum_qty``). So an execution's id is ``<alpaca order id>:<cumulative qty>``
(:func:`execution_id`): deterministic, the same from either path, and
distinct for each execution of an order since the cumulative quantity only
grows. The stream's ``execution_id`` is kept in the log line, not the id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import pandas as pd
from alpaca.trading.enums import OrderClass
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.models import Order, TradeUpdate
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)
from alpaca.trading.requests import OrderRequest as AlpacaRequest

from alphagate.adapters.broker.client import OrderSnapshot
from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    OrderEvent,
    OrderUpdate,
    Rejected,
)
from alphagate.domain.orders import Fill, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

STATUS: Final[Mapping[str, OrderStatus]] = {
    "pending_new": OrderStatus.SUBMITTED,
    "new": OrderStatus.ACCEPTED,
    "accepted": OrderStatus.ACCEPTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "pending_cancel": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "pending_review": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""Alpaca's order statuses as ours; every status Alpaca documents is named."""

_TIF: Final = {
    TimeInForce.DAY: AlpacaTif.DAY,
    TimeInForce.GTC: AlpacaTif.GTC,
    TimeInForce.IOC: AlpacaTif.IOC,
}


def alpaca_request(request: OrderRequest, **legs: Any) -> AlpacaRequest:
    """The alpaca-py request that POSTs ``request`` under its own client id (``legs``: see
    :func:`alpaca_bracket`)."""
    common: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": request.quantity,
        "side": AlpacaSide.BUY if request.side is Side.BUY else AlpacaSide.SELL,
        "time_in_force": _TIF[request.time_in_force],
        "client_order_id": request.client_order_id,
    }
    common.update(legs)
    if request.order_type is OrderType.LIMIT:
        return LimitOrderRequest(**common, limit_price=request.limit_price)
    if request.order_type is OrderType.STOP:
        return StopOrderRequest(**common, stop_price=request.stop_price)
    if request.order_type is OrderType.STOP_LIMIT:
        return StopLimitOrderRequest(
            **common, limit_price=request.limit_price, stop_price=request.stop_price
        )
    return MarketOrderRequest(**common)


def bracket_legs(
    parent: OrderRequest, legs: Sequence[OrderRequest]
) -> tuple[OrderRequest | None, OrderRequest | None] | None:
    """The (stop-loss, take-profit) legs if Alpaca can hold them with ``parent``, else ``None``.

    Alpaca holds at most one stop (or stop-limit) and one limit per entry,
    each for the entry's whole quantity on the other side, in the entry's
    time in force: a bracket with both, an OTO with one. A market entry takes
    its legs' time in force (it fills at once either way; the legs must not
    expire at the day's end when the engine asked for GTC). Anything else is
    sent as separate orders.
    """
    stops = [leg for leg in legs if leg.order_type in _STOPPED]
    limits = [leg for leg in legs if leg.order_type is OrderType.LIMIT]
    fits = (
        1 <= len(legs) <= 2
        and len(stops) <= 1
        and len(limits) <= 1
        and len(stops) + len(limits) == len(legs)
        and parent.order_type in {OrderType.MARKET, OrderType.LIMIT}
        and len({leg.time_in_force for leg in legs}) == 1
        and legs[0].time_in_force in {TimeInForce.DAY, TimeInForce.GTC}
        and (parent.order_type is OrderType.MARKET or legs[0].time_in_force is parent.time_in_force)
        and all(
            leg.side is not parent.side
            and abs(leg.quantity - parent.quantity) <= 1e-9 * parent.quantity
            and leg.parent_id == parent.client_order_id
            for leg in legs
        )
    )
    if not fits:
        return None
    return (stops[0] if stops else None, limits[0] if limits else None)


def alpaca_bracket(
    parent: OrderRequest, stop: OrderRequest | None, take: OrderRequest | None
) -> AlpacaRequest:
    """The one alpaca-py request for an entry and its legs (``order_class`` bracket or OTO)."""
    first = stop if stop is not None else take
    assert first is not None, "a bracket needs a leg"
    legs: dict[str, Any] = {
        "order_class": OrderClass.BRACKET if stop and take else OrderClass.OTO,
        "time_in_force": _TIF[first.time_in_force],
    }
    if take is not None:
        legs["take_profit"] = TakeProfitRequest(limit_price=take.limit_price)
    if stop is not None:
        legs["stop_loss"] = StopLossRequest(
            stop_price=stop.stop_price,
            limit_price=stop.limit_price if stop.order_type is OrderType.STOP_LIMIT else None,
        )
    return alpaca_request(parent, **legs)


def leg_of(parent: Order, leg: OrderRequest) -> Order | None:
    """The Alpaca leg of ``parent`` that stands for our ``leg`` (matched by order type)."""
    wanted = "limit" if leg.order_type is OrderType.LIMIT else "stop"
    for child in parent.legs or []:
        kind = _value(child.type or child.order_type or "")
        if kind == wanted or (wanted == "stop" and kind == "stop_limit"):
            return child
    return None


def request_of(order: Order) -> OrderRequest:
    """The order request an Alpaca order stands for (an order found by a query)."""
    kind = OrderType(_value(order.type or order.order_type or "market"))
    tif = _value(order.time_in_force)
    return OrderRequest(
        client_order_id=order.client_order_id,
        symbol=order.symbol or "",
        side=Side(_value(order.side or "buy")),
        quantity=float(order.qty or 0.0),
        ts_init=ns_of(order.created_at),
        order_type=kind,
        time_in_force=TimeInForce(tif)
        if tif in TimeInForce._value2member_map_
        else TimeInForce.DAY,
        limit_price=_price(order.limit_price) if kind in _LIMITED else None,
        stop_price=_price(order.stop_price) if kind in _STOPPED else None,
    )


_LIMITED: Final = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_STOPPED: Final = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


def snapshot_of(
    order: Order,
    activities: list[Mapping[str, Any]],
    request: OrderRequest | None = None,
) -> OrderSnapshot:
    """One order with its executions (``activities``: Alpaca's FILL activities for it).

    The engine's filled quantity comes from the executions, never from the
    status: a filled order whose activities are not all listed yet folds to
    partially filled, and the missing fills arrive on the stream or at the
    next query. A fill is never invented from ``filled_qty``.
    """
    request = request if request is not None else request_of(order)
    oid = str(order.id)
    fills = tuple(fill_of_activity(request, oid, a) for a in activities)
    status = STATUS.get(_value(order.status), OrderStatus.ACCEPTED)
    reason = f"{_value(order.status)} at alpaca" if status in _ENDED else None
    return OrderSnapshot(request, oid, status, fills, reason)


_ENDED: Final = frozenset({OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


def execution_id(order_id: str, cumulative_qty: float | str) -> str:
    """The id of the execution that took ``order_id``'s filled quantity to ``cumulative_qty``."""
    return f"{order_id}:{float(cumulative_qty):.9g}"


def fill_of_activity(request: OrderRequest, order_id: str, activity: Mapping[str, Any]) -> Fill:
    """A FILL activity (``/v2/account/activities/FILL``) as a fill."""
    return Fill(
        client_order_id=request.client_order_id,
        trade_id=execution_id(order_id, activity["cum_qty"]),
        symbol=request.symbol,
        side=request.side,
        quantity=float(activity["qty"]),
        price=float(activity["price"]),
        ts_event=ns_of(datetime.fromisoformat(str(activity["transaction_time"]))),
    )


def updates_of(update: TradeUpdate) -> list[OrderUpdate]:
    """What one trade-updates event tells the engine (nothing for ``pending_*``, ``replaced``)."""
    order = update.order
    cid, oid, event = order.client_order_id, str(order.id), _value(update.event)
    reported: OrderEvent | None = None
    if event in {"new", "accepted"}:
        reported = Accepted(oid)
    elif event in {"fill", "partial_fill"} and update.qty and update.price:
        request = request_of(order)
        reported = Filled(
            Fill(
                client_order_id=cid,
                trade_id=execution_id(oid, order.filled_qty or 0.0),
                symbol=request.symbol,
                side=request.side,
                quantity=float(update.qty),
                price=float(update.price),
                ts_event=ns_of(update.timestamp),
            )
        )
    elif event == "canceled":
        reported = Canceled("canceled at alpaca")
    elif event == "expired":
        reported = Expired("expired at alpaca")
    elif event == "rejected":
        reported = Rejected("rejected at alpaca")
    return [] if reported is None else [OrderUpdate(cid, reported)]


def ns_of(ts: datetime) -> int:
    """A tz-aware datetime as int64 ns since the epoch, UTC."""
    return int(pd.Timestamp(ts).value)


def _price(value: str | float | None) -> float | None:
    return None if value is None else float(value)


def _value(value: object) -> str:
    """An alpaca-py enum's wire value, or a plain string as it is."""
    return str(getattr(value, "value", value))
