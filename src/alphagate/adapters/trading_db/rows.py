"""Domain values to column values and back: one pair of functions per table.

Kept apart from the store so the mapping can be read (and checked for
round trips) without a database. Each ``*_values`` function also checks what
the columns cannot: SQLite stores a 200-character symbol in a
``VARCHAR(64)`` silently where PostgreSQL refuses it, so lengths are checked
here and both backends behave alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from alphagate.adapters.trading_db.records import (
    Candidate,
    CandidateState,
    DailyPerformance,
    EquityPoint,
    LevelMethod,
    ProtectiveLevels,
)
from alphagate.adapters.trading_db.tables import ID_LENGTH, RUN_LENGTH
from alphagate.domain.order_state import OrderState
from alphagate.domain.orders import (
    Fill,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from alphagate.domain.positions import Position, Trade
from alphagate.risk.events import RiskEvent, Severity

Row = Mapping[Any, Any]  # what SQLAlchemy's RowMapping is

# Statuses in which an order has certainly been handed to a venue. A canceled or
# rejected order may have been refused before sending (see ``order_values``).
_SENT_STATUSES = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.EXPIRED,
    }
)


def fit(name: str, value: str | None, limit: int) -> str | None:
    """Return ``value`` if it fits a column of ``limit`` characters, else raise naming it."""
    if value is not None and len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters: {value[:limit]!r}...")
    return value


def run_key(run_id: str | None) -> str:
    """Check a run id: non-empty, and short enough for its column."""
    if not run_id:
        raise ValueError("a run_id is required: it names the trading run the row belongs to")
    fit("run_id", run_id, RUN_LENGTH)
    return run_id


REQUEST_COLUMNS = (
    "symbol", "side", "order_type", "time_in_force", "quantity", "limit_price",
    "stop_price", "parent_id", "oco_group_id", "reduce_only", "ts_init",
)  # fmt: skip
"""The columns an order's request fixes; a second request under the same id must match."""
STATE_COLUMNS = ("status", "filled_qty", "avg_fill_price", "reason", "venue_order_id", "trade_ids")
"""The columns an order's events change."""


def order_values(state: OrderState, run_id: str, ts_updated: int) -> dict[str, Any]:
    """Columns of ``orders`` for ``state``.

    ``sent`` is true in every status that implies a venue has the order, and
    for a canceled or rejected order the venue knew (a venue id or a fill);
    an order first stored canceled or rejected without either is taken as
    refused before sending. The runner stores an order when it sends it, so
    a sent order is normally seen ``SUBMITTED`` first, and ``sent`` never
    goes back to false once stored true.
    """
    request = state.request
    coid = fit("client_order_id", request.client_order_id, ID_LENGTH)
    sent = state.status in _SENT_STATUSES or (
        state.status in {OrderStatus.CANCELED, OrderStatus.REJECTED}
        and (state.venue_order_id is not None or state.filled_qty > 0)
    )
    return {
        "client_order_id": coid,
        "run_id": run_key(run_id),
        "symbol": fit("symbol", request.symbol, ID_LENGTH),
        "side": request.side.value,
        "order_type": request.order_type.value,
        "time_in_force": request.time_in_force.value,
        "quantity": request.quantity,
        "limit_price": request.limit_price,
        "stop_price": request.stop_price,
        "parent_id": fit("parent_id", request.parent_id, ID_LENGTH),
        "oco_group_id": fit("oco_group_id", request.oco_group_id, ID_LENGTH),
        "reduce_only": request.reduce_only,
        "status": state.status.value,
        "filled_qty": state.filled_qty,
        "avg_fill_price": state.avg_fill_price,
        "reason": state.reason,
        "venue_order_id": fit("venue_order_id", state.venue_order_id, 128),
        "trade_ids": list(state.trade_ids),
        "sent": sent,
        "ts_init": request.ts_init,
        "ts_updated": ts_updated,
    }


def order_from_row(row: Row) -> OrderState:
    """The ``OrderState`` a row of ``orders`` stores."""
    request = OrderRequest(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=float(row["quantity"]),
        ts_init=int(row["ts_init"]),
        order_type=OrderType(row["order_type"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        parent_id=row["parent_id"],
        oco_group_id=row["oco_group_id"],
        reduce_only=bool(row["reduce_only"]),
    )
    return OrderState(
        request=request,
        status=OrderStatus(row["status"]),
        filled_qty=float(row["filled_qty"]),
        avg_fill_price=row["avg_fill_price"],
        reason=row["reason"],
        venue_order_id=row["venue_order_id"],
        trade_ids=tuple(row["trade_ids"]),
    )


def fill_values(fill: Fill, run_id: str) -> dict[str, Any]:
    """Columns of ``fills`` for ``fill``."""
    return {
        "run_id": run_key(run_id),
        "client_order_id": fit("client_order_id", fill.client_order_id, ID_LENGTH),
        "trade_id": fit("trade_id", fill.trade_id, 128),
        "symbol": fit("symbol", fill.symbol, ID_LENGTH),
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "fee": fill.fee,
        "reference_price": fill.reference_price,
        "slippage": fill.slippage,
        "impact": fill.impact,
        "liquidity": fill.liquidity.value,
        "ts_event": fill.ts_event,
    }


def fill_from_row(row: Row) -> Fill:
    """The ``Fill`` a row of ``fills`` stores."""
    return Fill(
        client_order_id=row["client_order_id"],
        trade_id=row["trade_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=float(row["quantity"]),
        price=float(row["price"]),
        ts_event=int(row["ts_event"]),
        fee=float(row["fee"]),
        reference_price=row["reference_price"],
        slippage=float(row["slippage"]),
        impact=float(row["impact"]),
        liquidity=Liquidity(row["liquidity"]),
    )


def trade_values(trade: Trade, run_id: str) -> dict[str, Any]:
    """Columns of ``trades`` for ``trade``."""
    return {
        "run_id": run_key(run_id),
        "symbol": fit("symbol", trade.symbol, ID_LENGTH),
        "side": trade.side.value,
        "quantity": trade.quantity,
        "entry_ts": trade.entry_ts,
        "entry_price": trade.entry_price,
        "exit_quantity": trade.exit_quantity,
        "exit_ts": trade.exit_ts,
        "exit_price": trade.exit_price,
        "pnl": trade.pnl,
        "fees": trade.fees,
    }


def trade_from_row(row: Row) -> Trade:
    """The ``Trade`` a row of ``trades`` stores."""
    return Trade(
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=float(row["quantity"]),
        entry_ts=int(row["entry_ts"]),
        entry_price=float(row["entry_price"]),
        exit_quantity=float(row["exit_quantity"]),
        exit_ts=None if row["exit_ts"] is None else int(row["exit_ts"]),
        exit_price=row["exit_price"],
        pnl=float(row["pnl"]),
        fees=float(row["fees"]),
    )


def position_from_row(row: Row) -> Position:
    """The ``Position`` a row of ``positions`` stores."""
    return Position(
        symbol=row["symbol"],
        quantity=float(row["quantity"]),
        average_price=float(row["average_price"]),
        realised_pnl=float(row["realised_pnl"]),
    )


def equity_from_row(row: Row) -> EquityPoint:
    """The ``EquityPoint`` a row of ``equity`` stores."""
    return EquityPoint(int(row["ts"]), float(row["equity"]), float(row["cash"]))


def daily_from_row(row: Row) -> DailyPerformance:
    """The ``DailyPerformance`` a row of ``daily_performance`` stores."""
    return DailyPerformance(
        day_ts=int(row["day_ts"]),
        pnl=float(row["pnl"]),
        day_return=float(row["day_return"]),
        trades=int(row["trades"]),
        equity=float(row["equity"]),
        drawdown=float(row["drawdown"]),
        sharpe_to_date=row["sharpe_to_date"],
        tracking_error=row["tracking_error"],
    )


def risk_event_values(event: RiskEvent, run_id: str | None) -> dict[str, Any]:
    """Columns of ``risk_events`` for ``event``; its tz-aware ``ts`` becomes UTC ns."""
    return {
        "run_id": None if run_id is None else run_key(run_id),
        "ts": int(event.ts.value),
        "component": fit("risk event component", event.component, 64),
        "severity": event.severity.value,
        "reason": event.reason,
        "data": json_ready(event.data),
    }


def risk_event_from_row(row: Row) -> RiskEvent:
    """The ``RiskEvent`` a row of ``risk_events`` stores, its ``ts`` in UTC."""
    return RiskEvent(
        ts=pd.Timestamp(int(row["ts"]), unit="ns", tz="UTC"),
        component=row["component"],
        severity=Severity(row["severity"]),
        reason=row["reason"],
        data=row["data"] or {},
    )


def levels_from_row(row: Row) -> ProtectiveLevels:
    """The ``ProtectiveLevels`` a row of ``protective_levels`` stores."""
    return ProtectiveLevels(
        client_order_id=row["client_order_id"],
        stop=row["stop"],
        target=row["target"],
        method=LevelMethod(row["method"]),
        ts_init=int(row["ts_init"]),
    )


def candidate_from_row(row: Row) -> Candidate:
    """The ``Candidate`` a row of ``candidates`` stores."""
    return Candidate(
        candidate_id=row["candidate_id"],
        run_id=row["run_id"],
        strategy=row["strategy"],
        state=CandidateState(row["state"]),
        ts_created=int(row["ts_created"]),
    )


def json_ready(value: object) -> Any:
    """``value`` as plain JSON types, so both backends store it and read it back alike.

    Tuples become lists, NumPy scalars plain numbers, dates and timestamps ISO
    strings, NaN and infinity ``null`` (JSON has no such numbers and
    PostgreSQL refuses them), and anything else its ``str``. Mapping keys
    become strings, as JSON requires.
    """
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, float) and not math.isfinite(value):
        value = None
    elif not (value is None or isinstance(value, str | int | float | bool)):
        value = str(value)
    return value
