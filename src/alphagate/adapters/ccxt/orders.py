"""Orders between alphagate and ccxt's unified structures, both ways.

Order types on Binance spot (and through the unified API on other
exchanges that have them): ``MARKET``, ``LIMIT`` (``GTC`` or ``IOC``; a
``DAY`` order is sent ``GTC``, since a market that never closes has no
day), ``STOP`` as ``STOP_LOSS`` and ``STOP_LIMIT`` as ``STOP_LOSS_LIMIT``
(ccxt's ``triggerPrice``). ``reduce_only`` is not sent: a spot account
cannot be short, so a sell can only reduce.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from alphagate.adapters.broker.client import OrderSnapshot
from alphagate.domain.orders import (
    Fill,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

_MS = 1_000_000
_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}

CreateArgs = tuple[str, str, str, float, float | None, dict[str, Any]]


def create_args(request: OrderRequest) -> CreateArgs:
    """``create_order``'s arguments: symbol, type, side, amount, price, params."""
    params: dict[str, Any] = {"newClientOrderId": request.client_order_id}
    limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    if request.stop_price is not None:
        params["triggerPrice"] = request.stop_price
    if limit:
        params["timeInForce"] = "IOC" if request.time_in_force is TimeInForce.IOC else "GTC"
    kind = "limit" if limit else "market"
    side = request.side.value
    return request.symbol, kind, side, request.quantity, request.limit_price, params


def request_of(order: Mapping[str, Any]) -> OrderRequest:
    """The request an order the venue reports must have come from (for orders not sent here)."""
    trigger = _number(order.get("triggerPrice")) or _number(order.get("stopPrice"))
    limit = order.get("type") == "limit"
    if trigger:
        kind = OrderType.STOP_LIMIT if limit else OrderType.STOP
    else:
        kind = OrderType.LIMIT if limit else OrderType.MARKET
    tif = TimeInForce.IOC if order.get("timeInForce") == "IOC" else TimeInForce.GTC
    return OrderRequest(
        client_order_id=str(order["clientOrderId"]),
        symbol=str(order["symbol"]),
        side=Side(order["side"]),
        quantity=float(order["amount"]),
        ts_init=_ms_or_now(order.get("timestamp")) * _MS,
        order_type=kind,
        time_in_force=tif,
        limit_price=_number(order.get("price")) if limit else None,
        stop_price=trigger or None,
    )


def status_of(order: Mapping[str, Any]) -> OrderStatus:
    """ccxt's unified status, with ``open`` split by whether anything filled."""
    status = _STATUS.get(str(order.get("status")))
    if status is not None:
        return status
    return OrderStatus.PARTIALLY_FILLED if _number(order.get("filled")) else OrderStatus.ACCEPTED


def fills_of(
    request: OrderRequest,
    trades: Iterable[Mapping[str, Any]],
    *,
    cash: str,
    default_ts_ms: int,
) -> tuple[Fill, ...]:
    """The order's executions, one per venue trade id (a trade listed twice is one fill)."""
    fills: dict[str, Fill] = {}
    for trade in trades:
        trade_id = trade.get("id")
        amount, price = _number(trade.get("amount")), _number(trade.get("price"))
        if trade_id is None or not amount or not price or str(trade_id) in fills:
            continue
        ts = int(trade.get("timestamp") or default_ts_ms) * _MS
        maker = trade.get("takerOrMaker") == "maker"
        fills[str(trade_id)] = Fill(
            client_order_id=request.client_order_id,
            trade_id=str(trade_id),
            symbol=request.symbol,
            side=request.side,
            quantity=amount,
            price=price,
            ts_event=ts,
            fee=fee_in(trade.get("fee"), cash=cash, base=request.symbol.split("/")[0], price=price),
            liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        )
    return tuple(fills.values())


def fee_in(fee: Any, *, cash: str, base: str, price: float) -> float:
    """A trade's fee in the cash currency: as charged, or converted from the base at the price.

    A fee in a third currency (Binance's BNB discount) has no price here, and
    is counted as 0; the account's cash, read from the venue, still has it.
    """
    if not isinstance(fee, Mapping):
        return 0.0
    cost = _number(fee.get("cost")) or 0.0
    currency = fee.get("currency")
    if currency == cash:
        return cost
    if currency == base:
        return cost * price
    return 0.0


def snapshot_of(
    order: Mapping[str, Any],
    request: OrderRequest | None,
    trades: Iterable[Mapping[str, Any]],
    *,
    cash: str,
) -> OrderSnapshot:
    """One order as the venue reports it, with its executions."""
    request = request if request is not None else request_of(order)
    status = status_of(order)
    reason = None if status is not OrderStatus.REJECTED else "rejected at the venue"
    ts_ms = _ms_or_now(order.get("timestamp"))
    fills = fills_of(request, trades, cash=cash, default_ts_ms=ts_ms)
    return OrderSnapshot(request, str(order["id"]), status, fills, reason)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ms_or_now(value: Any) -> int:
    """A venue's millisecond time, or now when it gave none."""
    return int(value) if value else int(time.time() * 1000)
