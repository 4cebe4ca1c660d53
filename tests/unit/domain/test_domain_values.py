"""The order path's values are read-only once built, equal by value, and checked when copied.

A bar, request, fill, position, trade or order event handed to a strategy, a
risk check or the journal must not change under its reader, and a replayed
event must compare equal to the original: these tests pin those promises for
every such type, whatever implements them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    OrderState,
    OrderUpdate,
    Rejected,
    Submitted,
)
from alphagate.domain.orders import Fill, Liquidity, OrderRequest, Side
from alphagate.domain.positions import Position, Trade
from alphagate.execution.fill_models import FillDecision, WorkingOrder

TS = pd.Timestamp("2024-03-08 21:00", tz="UTC").value


def request(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": "ag1",
        "symbol": "AAA",
        "side": Side.BUY,
        "quantity": 10.0,
        "ts_init": TS,
    }
    return OrderRequest(**(fields | changes))  # type: ignore[arg-type]


def fill(**changes: object) -> Fill:
    fields: dict[str, object] = {
        "client_order_id": "ag1",
        "trade_id": "t1",
        "symbol": "AAA",
        "side": Side.BUY,
        "quantity": 10.0,
        "price": 101.5,
        "ts_event": TS,
    }
    return Fill(**(fields | changes))  # type: ignore[arg-type]


VALUES = [
    Bar("AAA", TS, 1.0, 2.0, 0.5, 1.5, 100.0),
    request(),
    fill(),
    Position("AAA", 3.0, 10.0),
    Trade("AAA", Side.SELL, 2.0, TS, 50.0),
    Accepted("sim-1"),
    Filled(fill()),
    Canceled("by request"),
    OrderState.new(request()),
    OrderUpdate("ag1", Accepted("sim-1")),
    WorkingOrder(request(), 10.0),
    FillDecision(101.5, 10.0, 101.0, 0.5, 0.0, Liquidity.TAKER),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_a_value_cannot_be_changed_extended_or_emptied(value: object) -> None:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    before = repr(value)
    with pytest.raises(AttributeError):
        setattr(value, field, None)
    # Python 3.11's frozen, slotted dataclasses refuse a new attribute with a
    # TypeError (CPython gh-90055); either way nothing is added.
    with pytest.raises((AttributeError, TypeError)):
        value.not_a_field = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        delattr(value, field)
    assert repr(value) == before


def test_values_are_equal_and_hash_alike_by_value_and_only_within_one_type() -> None:
    assert fill() == fill() and hash(fill()) == hash(fill())
    assert fill() != fill(price=101.6)
    assert Canceled("x") != Rejected("x")  # same reason, different events
    assert Canceled("x") != Expired("x")
    assert Submitted() == Submitted()
    assert Filled(fill()) == Filled(fill())
    assert len({OrderState.new(request()), OrderState.new(request())}) == 1
    assert fill() != ("ag1", "t1")


def test_repr_names_the_type_and_every_field_in_order() -> None:
    assert repr(Position("AAA", 3.0, 10.0)) == (
        "Position(symbol='AAA', quantity=3.0, average_price=10.0, realised_pnl=0.0)"
    )
    assert repr(Rejected("no margin")) == "Rejected(reason='no margin')"


def test_positional_construction_fills_the_fields_in_their_documented_order() -> None:
    bar = Bar("AAA", TS, 1.0, 2.0, 0.5, 1.5, 100.0)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (1.0, 2.0, 0.5, 1.5, 100.0)
    trade = Trade("AAA", Side.SELL, 2.0, TS, 50.0, 1.0)
    assert (trade.quantity, trade.entry_price, trade.exit_quantity) == (2.0, 50.0, 1.0)
    assert Expired().reason == "time in force elapsed"


def test_requests_and_fills_take_keywords_only_so_a_swapped_price_cannot_pass_unseen() -> None:
    with pytest.raises(TypeError):
        OrderRequest("ag1", "AAA", Side.BUY, 10.0, TS)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Fill("ag1", "t1", "AAA", Side.BUY, 10.0, 101.5, TS)  # type: ignore[misc]


def test_a_copy_changes_only_what_it_is_given_and_is_checked_like_a_new_value() -> None:
    smaller = dataclasses.replace(request(), quantity=4.0)
    assert smaller.quantity == 4.0 and smaller.client_order_id == "ag1"
    assert request().quantity == 10.0
    with pytest.raises(ValueError, match="quantity must be positive"):
        dataclasses.replace(request(), quantity=-1.0)
    with pytest.raises(ValueError, match="an open position needs a positive average_price"):
        dataclasses.replace(Position("AAA", 3.0, 10.0), average_price=0.0)
    with pytest.raises(ValueError, match="ts must be int64 ns since the epoch"):
        dataclasses.replace(VALUES[0], ts=pd.Timestamp("2024-03-08 21:00", tz="UTC"))
    with pytest.raises(TypeError, match="colour"):
        dataclasses.replace(request(), colour="red")  # type: ignore[call-arg]
