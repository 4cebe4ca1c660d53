"""Broker-held brackets: an entry and its legs sent as one Alpaca order, and found again by our ids.

The server's truth is the oracle: one POST, an order of class ``bracket``
with a stop and a limit leg for the entry's quantity, the survivor canceled
when a leg fills (server-side OCO), and a restarted venue that knows nothing
finds each leg by our client id through its entry.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alpaca_helpers import Connected, fold

from alphagate.adapters.broker.venue import BrokerVenue
from alphagate.domain.ids import client_order_id
from alphagate.domain.order_state import Accepted
from alphagate.domain.orders import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from alphagate.testing.orders import DEFAULT_TS

Connect = Callable[..., Connected]
POST = "POST /v2/orders"


def bracket() -> tuple[OrderRequest, OrderRequest, OrderRequest]:
    def cid(leg: str) -> str:
        return client_order_id("test", "AAPL", DEFAULT_TS, leg)

    common = {"symbol": "AAPL", "quantity": 10.0, "ts_init": DEFAULT_TS.value}
    entry = OrderRequest(client_order_id=cid("entry"), side=Side.BUY, **common)  # type: ignore[arg-type]
    stop = OrderRequest(
        client_order_id=cid("stop"), side=Side.SELL, order_type=OrderType.STOP, stop_price=97.0,
        time_in_force=TimeInForce.GTC, parent_id=entry.client_order_id, oco_group_id="g",
        **common,  # type: ignore[arg-type]
    )  # fmt: skip
    take = OrderRequest(
        client_order_id=cid("take_profit"), side=Side.SELL, order_type=OrderType.LIMIT,
        limit_price=103.0, time_in_force=TimeInForce.GTC, parent_id=entry.client_order_id,
        oco_group_id="g", **common,  # type: ignore[arg-type]
    )  # fmt: skip
    return entry, stop, take


def test_an_entry_and_its_legs_are_one_bracket_order_held_at_the_broker(connect: Connect) -> None:
    alpaca = connect()
    entry, stop, take = bracket()
    told = alpaca.venue.submit_bracket(entry, [stop, take], 0)
    assert told is not None
    assert {(u.client_order_id, type(u.event)) for u in told} == {
        (entry.client_order_id, Accepted),
        (stop.client_order_id, Accepted),
        (take.client_order_id, Accepted),
    }
    server = alpaca.server
    assert server.counts[POST] == 1
    parent = server.order_of(entry.client_order_id)
    assert parent.order_class == "bracket"
    legs = {leg.type: leg for leg in parent.legs}
    assert legs["stop"].stop_price == 97.0 and legs["stop"].qty == 10.0
    assert legs["limit"].limit_price == 103.0 and legs["limit"].side == "sell"
    assert legs["stop"].time_in_force == "gtc"  # the legs' time in force, not the entry's day
    alpaca.cycle_until(lambda: parent.status == "filled")
    assert legs["stop"].status == "new"  # freed when the entry filled

    server.fill(legs["stop"].id, 10.0, 96.5)
    assert legs["limit"].status == "canceled"  # the broker's OCO, not ours

    restarted = BrokerVenue(alpaca.client)  # a fresh venue: nothing tracked, nothing seen
    for request, status in ((stop, OrderStatus.FILLED), (take, OrderStatus.CANCELED)):
        reports = restarted.reports(request.client_order_id, request)
        assert reports is not None, request.client_order_id
        assert {u.client_order_id for u in reports} == {request.client_order_id}
        assert fold(request, reports).status is status
    filled = fold(stop, restarted.reports(stop.client_order_id, stop) or [])
    assert filled.filled_qty == pytest.approx(10.0) and filled.avg_fill_price == pytest.approx(96.5)
    assert alpaca.venue.account().positions == {}
    assert server.counts[POST] == 1


def test_legs_alpaca_cannot_hold_are_left_to_the_caller(connect: Connect) -> None:
    alpaca = connect()
    entry, stop, _ = bracket()
    half = OrderRequest(**{**_fields(stop), "quantity": 5.0})
    assert alpaca.venue.submit_bracket(entry, [half], 0) is None
    assert alpaca.server.counts[POST] == 0


def test_a_refused_bracket_rejects_the_entry_and_its_legs(connect: Connect) -> None:
    alpaca = connect("reject")
    entry, stop, take = bracket()
    told = alpaca.venue.submit_bracket(entry, [stop, take], 0) or []
    for request in (entry, stop, take):
        assert fold(
            request, [u for u in told if u.client_order_id == request.client_order_id]
        ).status is (OrderStatus.REJECTED)


def _fields(request: OrderRequest) -> dict[str, object]:
    return {name: getattr(request, name) for name in request.__slots__}  # type: ignore[attr-defined]
