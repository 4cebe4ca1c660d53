"""Journal records: the engine's values as JSON objects and back, exactly.

The live driver journals every event before the kernel sees it and every
command before it is carried out (:mod:`alphagate.live.driver`). A record
must read back to a value *equal* to the one written, because recovery
replays records into a fresh kernel and relies on getting the same state:
floats go through JSON's shortest exact repr, times stay int64 ns, enums are
stored by value. Optional fields that are at their default are left out, so
a record carries what the order is and nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from alphagate.domain.bar import Bar
from alphagate.domain.commands import Cancel, Command, Submit
from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    OrderEvent,
    OrderUpdate,
    Rejected,
    Submitted,
)
from alphagate.domain.orders import Fill, Liquidity, OrderRequest, OrderType, Side, TimeInForce
from alphagate.risk.events import RiskEvent

Record = dict[str, Any]

_REQUEST_DEFAULTS: Final[Mapping[str, object]] = {
    "order_type": OrderType.MARKET.value,
    "time_in_force": TimeInForce.DAY.value,
    "limit_price": None,
    "stop_price": None,
    "parent_id": None,
    "oco_group_id": None,
    "reduce_only": False,
}
_FILL_DEFAULTS: Final[Mapping[str, object]] = {
    "fee": 0.0,
    "reference_price": None,
    "slippage": 0.0,
    "impact": 0.0,
    "liquidity": Liquidity.TAKER.value,
}


class RecordError(ValueError):
    """A journal record does not describe a value this version can rebuild."""


def _without_defaults(values: Record, defaults: Mapping[str, object]) -> Record:
    return {k: v for k, v in values.items() if k not in defaults or defaults[k] != v}


def request_record(request: OrderRequest) -> Record:
    """An order request as a JSON object."""
    values: Record = {
        "client_order_id": request.client_order_id,
        "symbol": request.symbol,
        "side": request.side.value,
        "quantity": request.quantity,
        "ts_init": request.ts_init,
        "order_type": request.order_type.value,
        "time_in_force": request.time_in_force.value,
        "limit_price": request.limit_price,
        "stop_price": request.stop_price,
        "parent_id": request.parent_id,
        "oco_group_id": request.oco_group_id,
        "reduce_only": request.reduce_only,
    }
    return _without_defaults(values, _REQUEST_DEFAULTS)


def request_of(record: Mapping[str, Any]) -> OrderRequest:
    """The order request a :func:`request_record` describes (checked as any request is)."""
    values = {**_REQUEST_DEFAULTS, **record}
    try:
        return OrderRequest(
            client_order_id=values["client_order_id"],
            symbol=values["symbol"],
            side=Side(values["side"]),
            quantity=values["quantity"],
            ts_init=values["ts_init"],
            order_type=OrderType(values["order_type"]),
            time_in_force=TimeInForce(values["time_in_force"]),
            limit_price=values["limit_price"],
            stop_price=values["stop_price"],
            parent_id=values["parent_id"],
            oco_group_id=values["oco_group_id"],
            reduce_only=values["reduce_only"],
        )
    except KeyError as exc:
        raise RecordError(f"order request record lacks {exc.args[0]!r}: {dict(record)}") from None


def fill_record(fill: Fill) -> Record:
    """A fill as a JSON object."""
    values: Record = {
        "client_order_id": fill.client_order_id,
        "trade_id": fill.trade_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "ts_event": fill.ts_event,
        "fee": fill.fee,
        "reference_price": fill.reference_price,
        "slippage": fill.slippage,
        "impact": fill.impact,
        "liquidity": fill.liquidity.value,
    }
    return _without_defaults(values, _FILL_DEFAULTS)


def fill_of(record: Mapping[str, Any]) -> Fill:
    """The fill a :func:`fill_record` describes."""
    values = {**_FILL_DEFAULTS, **record}
    try:
        return Fill(
            client_order_id=values["client_order_id"],
            trade_id=values["trade_id"],
            symbol=values["symbol"],
            side=Side(values["side"]),
            quantity=values["quantity"],
            price=values["price"],
            ts_event=values["ts_event"],
            fee=values["fee"],
            reference_price=values["reference_price"],
            slippage=values["slippage"],
            impact=values["impact"],
            liquidity=Liquidity(values["liquidity"]),
        )
    except KeyError as exc:
        raise RecordError(f"fill record lacks {exc.args[0]!r}: {dict(record)}") from None


def update_record(update: OrderUpdate) -> Record:
    """A venue report as a JSON object: the order's id, the event's name and its fields."""
    event = update.event
    record: Record = {"client_order_id": update.client_order_id}
    match event:
        case Filled(fill=fill):
            record.update(event="filled", fill=fill_record(fill))
        case Accepted(venue_order_id=venue_order_id):
            record.update(event="accepted", venue_order_id=venue_order_id)
        case Canceled(reason=reason):
            record.update(event="canceled", reason=reason)
        case Rejected(reason=reason):
            record.update(event="rejected", reason=reason)
        case Expired(reason=reason):
            record.update(event="expired", reason=reason)
        case Submitted():
            record.update(event="submitted")
    return record


def update_of(record: Mapping[str, Any]) -> OrderUpdate:
    """The venue report an :func:`update_record` describes."""
    name = record.get("event")
    event: OrderEvent
    if name == "filled":
        event = Filled(fill_of(record["fill"]))
    elif name == "accepted":
        event = Accepted(record.get("venue_order_id"))
    elif name == "canceled":
        event = Canceled(record["reason"])
    elif name == "rejected":
        event = Rejected(record["reason"])
    elif name == "expired":
        event = Expired(record["reason"])
    elif name == "submitted":
        event = Submitted()
    else:
        raise RecordError(f"unknown order event {name!r} in {dict(record)}")
    return OrderUpdate(record["client_order_id"], event)


def command_record(command: Command) -> Record:
    """A kernel command as a JSON object."""
    if isinstance(command, Submit):
        return {"submit": request_record(command.request)}
    return {"cancel": command.client_order_id, "reason": command.reason}


def command_of(record: Mapping[str, Any]) -> Command:
    """The kernel command a :func:`command_record` describes."""
    if "submit" in record:
        return Submit(request_of(record["submit"]))
    if "cancel" in record:
        return Cancel(record["cancel"], record["reason"])
    raise RecordError(f"not a command record: {dict(record)}")


def risk_record(event: RiskEvent) -> Record:
    """A risk event as a JSON object (journaled for the record; replay does not read it)."""
    return {
        "ts": event.ts.value,
        "component": event.component,
        "severity": event.severity.value,
        "reason": event.reason,
        "data": {key: _plain(value) for key, value in event.data.items()},
    }


def _plain(value: object) -> object:
    """A JSON-safe value: numbers, text, truth values and nulls as they are, else their text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)


def bars_record(ts: int, bars: Sequence[Bar]) -> Record:
    """Bars closing together at ``ts`` as a JSON object (one row per bar)."""
    return {
        "ts": ts,
        "bars": [[b.symbol, b.open, b.high, b.low, b.close, b.volume] for b in bars],
    }


def bars_of(record: Mapping[str, Any]) -> tuple[int, list[Bar]]:
    """The time and bars a :func:`bars_record` describes."""
    ts = record["ts"]
    return ts, [Bar(s, ts, o, h, lo, c, v) for s, o, h, lo, c, v in record["bars"]]
