"""Value records: read-only once built and equal by value, compiled or interpreted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import Accepted, Canceled, Filled, OrderState
from alphagate.domain.orders import Fill, OrderRequest, Side
from alphagate.domain.positions import Position, Trade
from alphagate.native_core import PURE_PYTHON_ENV

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


def test_interpreted_records_are_read_only_too() -> None:
    script = textwrap.dedent(
        """
        import pandas as pd
        from alphagate.native_core import native_status
        from alphagate.domain.positions import Position
        assert native_status().startswith("pure Python"), native_status()
        p = Position("AAA", 3.0, 10.0)
        for act in (lambda: setattr(p, "quantity", 1.0), lambda: setattr(p, "x", 1),
                    lambda: delattr(p, "symbol")):
            try:
                act()
            except AttributeError:
                continue
            raise SystemExit("a store went through")
        assert p == Position("AAA", 3.0, 10.0) and p.replace(quantity=1.0).quantity == 1.0
        """
    )
    env = os.environ | {PURE_PYTHON_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
