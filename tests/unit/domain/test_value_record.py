"""Value records: read-only once built and equal by value, compiled or interpreted."""

from __future__ import annotations

import pandas as pd
import pytest

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import Accepted, Canceled, Filled, OrderState
from alphagate.domain.orders import Fill, OrderRequest, Side
from alphagate.domain.positions import Position, Trade

TS = pd.Timestamp("2024-03-08 21:00", tz="UTC")


def request(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": "ag1",
        "symbol": "AAA",
        "side": Side.BUY,
        "quantity": 10.0,
        "ts_created": TS,
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
        "ts": TS,
    }
    return Fill(**(fields | changes))  # type: ignore[arg-type]


RECORDS = [
    Bar("AAA", TS, 1.0, 2.0, 0.5, 1.5, 100.0),
    request(),
    fill(),
    Position("AAA", 3.0, 10.0),
    Trade("AAA", Side.SELL, 2.0, TS, 50.0),
    Accepted("sim-1"),
    Canceled("by request"),
    OrderState.new(request()),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_cannot_be_changed_extended_or_emptied(record: object) -> None:
    field = type(record).__match_args__[0]  # type: ignore[attr-defined]
    before = repr(record)
    with pytest.raises(AttributeError):
        setattr(record, field, None)
    with pytest.raises(AttributeError):
        record.not_a_field = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        delattr(record, field)
    assert repr(record) == before


def test_records_are_equal_and_hash_alike_by_value_and_only_within_one_type() -> None:
    assert fill() == fill() and hash(fill()) == hash(fill())
    assert fill() != fill(price=101.6)
    assert Canceled("x") != Accepted("x")  # same fields' values, different events
    assert Filled(fill()) == Filled(fill())
    assert len({OrderState.new(request()), OrderState.new(request())}) == 1
    assert fill() != ("ag1", "t1")


def test_repr_names_every_field_in_order() -> None:
    assert repr(Position("AAA", 3.0, 10.0)) == (
        "Position(symbol='AAA', quantity=3.0, average_price=10.0, realised_pnl=0.0)"
    )


def test_replace_changes_only_what_it_is_given_and_checks_the_result() -> None:
    smaller = request().replace(quantity=4.0)
    assert smaller.quantity == 4.0 and smaller.client_order_id == "ag1"
    assert request().quantity == 10.0
    with pytest.raises(ValueError, match="quantity must be positive"):
        request().replace(quantity=-1.0)
    with pytest.raises(TypeError, match="no field colour"):
        request().replace(colour="red")
