"""Order requests and fills with sensible defaults, so a test states only what it is about.

Requests and fills hold their times as int64 ns since the epoch (UTC); the
builders also take a tz-aware ``Timestamp``, which reads better in a test,
and convert it.
"""

from __future__ import annotations

import pandas as pd

from alphagate.domain.instants import NS_PER_DAY
from alphagate.domain.orders import Fill, OrderRequest, OrderType, Side, TimeInForce

DEFAULT_TS = pd.Timestamp("2020-01-01 21:00", tz="UTC")


def as_ns(ts: int | pd.Timestamp) -> int:
    """``ts`` as ns since the epoch: a tz-aware Timestamp's ``value``, an int as it is.

    Raises
    ------
    ValueError
        For a naive Timestamp, whose instant depends on a zone nobody named.
    """
    if isinstance(ts, pd.Timestamp):
        if ts.tzinfo is None:
            raise ValueError(f"a test time must be tz-aware (tz='UTC'), got {ts!r}")
        return int(ts.value)
    return ts


def request_of(
    client_order_id: str = "o1",
    *,
    symbol: str = "AAA",
    side: Side = Side.BUY,
    quantity: float = 10.0,
    ts: int | pd.Timestamp = DEFAULT_TS,
    order_type: OrderType = OrderType.MARKET,
    time_in_force: TimeInForce = TimeInForce.DAY,
    limit_price: float | None = None,
    stop_price: float | None = None,
    parent_id: str | None = None,
    oco_group_id: str | None = None,
    reduce_only: bool = False,
) -> OrderRequest:
    """An order request; a market DAY buy of 10 AAA unless told otherwise."""
    return OrderRequest(
        client_order_id=client_order_id, symbol=symbol, side=side, quantity=quantity,
        ts_init=as_ns(ts), order_type=order_type, time_in_force=time_in_force,
        limit_price=limit_price, stop_price=stop_price, parent_id=parent_id,
        oco_group_id=oco_group_id, reduce_only=reduce_only,
    )  # fmt: skip


def fill_of(
    request: OrderRequest,
    quantity: float | None = None,
    price: float = 100.0,
    *,
    ts: int | pd.Timestamp | None = None,
    fee: float = 0.0,
    trade_id: str | None = None,
) -> Fill:
    """A fill of ``request`` (all of it unless ``quantity`` says), at ``price``, a day after it."""
    qty = request.quantity if quantity is None else quantity
    return Fill(
        client_order_id=request.client_order_id,
        trade_id=trade_id or f"{request.client_order_id}-{qty}@{price}",
        symbol=request.symbol, side=request.side, quantity=qty, price=price,
        ts_event=as_ns(ts) if ts is not None else request.ts_init + NS_PER_DAY, fee=fee,
    )  # fmt: skip
