"""Tests for order requests, fills, bars, and the order state machine.

The illegal-transition tests are generated from the complement of
``TRANSITIONS``, so adding a status or a move to the table changes what is
tested without anyone remembering to write a case.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    Accepted,
    Canceled,
    Expired,
    Filled,
    IllegalTransition,
    OrderEvent,
    OrderState,
    OverfillError,
    Rejected,
    Submitted,
    check_transition,
)
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

T0 = 1_709_303_400_000_000_000  # 2024-03-01 14:30 UTC, in ns since the epoch
ORDER_ID = "ag-test-order"


def request(**overrides: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": ORDER_ID,
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": 10.0,
        "ts_init": T0,
    }
    fields.update(overrides)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def fill(quantity: float, price: float = 100.0, trade_id: str = "t1", **overrides: object) -> Fill:
    fields: dict[str, object] = {
        "client_order_id": ORDER_ID,
        "trade_id": trade_id,
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": quantity,
        "price": price,
        "ts_event": T0,
    }
    fields.update(overrides)
    return Fill(**fields)  # type: ignore[arg-type]


def replay(*events: OrderEvent) -> OrderState:
    state = OrderState.new(request())
    for event in events:
        state = state.apply(event)
    return state


# ---------------------------------------------------------------------------------------- requests


def test_a_market_request_keeps_what_it_was_given() -> None:
    order = request(
        time_in_force=TimeInForce.IOC, parent_id="ag-parent", oco_group_id="g1", reduce_only=True
    )
    assert (order.order_type, order.time_in_force) == (OrderType.MARKET, TimeInForce.IOC)
    assert (order.parent_id, order.oco_group_id, order.reduce_only) == ("ag-parent", "g1", True)
    assert order.limit_price is None and order.stop_price is None


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_a_request_with_a_non_positive_or_non_finite_quantity_is_refused_naming_the_order(
    quantity: float,
) -> None:
    with pytest.raises(ValueError, match=rf"order '{ORDER_ID}'.*quantity"):
        request(quantity=quantity)


@pytest.mark.parametrize(
    ("order_type", "prices", "message"),
    [
        (OrderType.LIMIT, {}, "LIMIT order needs limit_price"),
        (OrderType.LIMIT, {"stop_price": 99.0}, "LIMIT order needs limit_price"),
        (OrderType.STOP, {}, "STOP order needs stop_price"),
        (OrderType.STOP, {"limit_price": 99.0}, "STOP order takes no limit_price"),
        (OrderType.STOP_LIMIT, {"limit_price": 99.0}, "STOP_LIMIT order needs stop_price"),
        (OrderType.STOP_LIMIT, {"stop_price": 99.0}, "STOP_LIMIT order needs limit_price"),
        (OrderType.MARKET, {"limit_price": 99.0}, "MARKET order takes no limit_price"),
        (OrderType.MARKET, {"stop_price": 99.0}, "MARKET order takes no stop_price"),
        (OrderType.LIMIT, {"limit_price": -1.0}, "limit_price must be positive"),
        (
            OrderType.STOP_LIMIT,
            {"limit_price": 99.0, "stop_price": math.nan},
            "stop_price must be positive",
        ),
    ],
)
def test_each_order_type_requires_exactly_its_own_prices(
    order_type: OrderType, prices: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        request(order_type=order_type, **prices)


def test_each_order_type_is_accepted_with_the_prices_it_needs() -> None:
    assert request(order_type=OrderType.LIMIT, limit_price=99.0).limit_price == 99.0
    assert request(order_type=OrderType.STOP, stop_price=95.0).stop_price == 95.0
    both = request(order_type=OrderType.STOP_LIMIT, stop_price=95.0, limit_price=94.5)
    assert (both.stop_price, both.limit_price) == (95.0, 94.5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_order_id": ""}, "non-empty client_order_id"),
        ({"symbol": ""}, "symbol must not be empty"),
        ({"ts_init": pd.Timestamp("2024-03-01 14:30", tz="UTC")}, "ts_init must be int64 ns"),
        ({"ts_init": True}, "ts_init must be int64 ns"),
        ({"ts_init": 1.7e18}, "ts_init must be int64 ns"),
        ({"parent_id": ORDER_ID}, "its own parent"),
    ],
)
def test_a_malformed_request_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request(**overrides)


def test_a_request_cannot_be_changed_after_it_is_made() -> None:
    order = request()
    with pytest.raises(AttributeError):
        order.quantity = 20.0  # type: ignore[misc]


def test_side_signs_and_opposites() -> None:
    assert (Side.BUY.sign, Side.SELL.sign) == (1, -1)
    assert (Side.BUY.opposite, Side.SELL.opposite) == (Side.SELL, Side.BUY)


# ------------------------------------------------------------------------------------------- fills


def test_a_fill_reports_its_signed_quantity_and_notional() -> None:
    sell = fill(4.0, 110.0, side=Side.SELL, fee=1.0, liquidity=Liquidity.MAKER)
    assert sell.signed_quantity == -4.0
    assert sell.notional == 440.0
    assert sell.liquidity is Liquidity.MAKER


def test_a_fill_keeps_its_execution_assumptions() -> None:
    modelled = fill(5.0, 100.3, reference_price=100.0, slippage=0.2, impact=0.1)
    assert (modelled.reference_price, modelled.slippage, modelled.impact) == (100.0, 0.2, 0.1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": 0.0}, "quantity must be positive"),
        ({"price": 0.0}, "price must be positive"),
        ({"price": math.inf}, "price must be positive"),
        ({"fee": math.nan}, "fee must be finite"),
        ({"slippage": math.inf}, "slippage must be finite"),
        ({"reference_price": -1.0}, "reference_price must be positive"),
        ({"trade_id": ""}, "needs a client_order_id and a trade_id"),
        ({"ts_event": pd.Timestamp("2024-03-01", tz="UTC")}, r"ts_event must be int64 ns.*\.value"),
        ({"ts_event": None}, "ts_event must be int64 ns"),
    ],
)
def test_a_malformed_fill_is_refused_naming_it(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fill(**{"quantity": 1.0, **overrides})  # type: ignore[arg-type]


def test_numpy_integer_times_from_an_int64_column_become_plain_ints() -> None:
    made = request(ts_init=np.int64(T0))
    filled = fill(1.0, ts_event=np.int64(T0 + 1))
    bar = Bar("AAPL", np.int64(T0), 1.0, 2.0, 0.5, 1.5, 100.0)  # type: ignore[arg-type]
    assert [type(t) for t in (made.ts_init, filled.ts_event, bar.ts)] == [int, int, int]
    assert (made.ts_init, filled.ts_event, bar.ts) == (T0, T0 + 1, T0)


def test_a_trade_refuses_a_timestamp_for_its_times() -> None:
    with pytest.raises(ValueError, match="exit_ts must be int64 ns"):
        Trade("AAPL", Side.BUY, 1.0, T0, 100.0, exit_ts=pd.Timestamp(T0, tz="UTC"))  # type: ignore[arg-type]


def test_a_fill_may_carry_a_negative_fee_for_a_maker_rebate() -> None:
    assert fill(1.0, fee=-0.05).fee == -0.05


# ------------------------------------------------------------------------- bars, positions, trades


def test_the_2024_03_01_1430_utc_instant_is_t0() -> None:
    assert pd.Timestamp(T0, tz="UTC") == pd.Timestamp("2024-03-01 14:30", tz="UTC")


def test_a_bar_needs_a_symbol_and_an_integer_ns_close_time() -> None:
    bar = Bar("AAPL", T0, 1.0, 2.0, 0.5, 1.5, 100.0)
    assert (bar.symbol, bar.close, bar.ts) == ("AAPL", 1.5, T0)
    with pytest.raises(ValueError, match="ts must be int64 ns since the epoch"):
        Bar("AAPL", pd.Timestamp("2024-03-01", tz="UTC"), 1.0, 2.0, 0.5, 1.5, 100.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ts must be int64 ns"):
        Bar("AAPL", False, 1.0, 2.0, 0.5, 1.5, 100.0)
    with pytest.raises(ValueError, match="symbol"):
        Bar("", T0, 1.0, 2.0, 0.5, 1.5, 100.0)


def test_a_short_position_values_and_marks_with_its_sign() -> None:
    short = Position("AAPL", quantity=-4.0, average_price=90.0)
    assert short.side is Side.SELL
    assert short.market_value(85.0) == -340.0
    assert short.unrealised_pnl(85.0) == 20.0
    assert Position("AAPL").is_flat and Position("AAPL").side is None


def test_an_open_position_without_an_average_price_is_refused() -> None:
    with pytest.raises(ValueError, match="positive average_price"):
        Position("AAPL", quantity=1.0)


def test_a_trade_reports_open_quantity_and_pnl_net_of_fees() -> None:
    trade = Trade("AAPL", Side.BUY, 10.0, T0, 100.0, exit_quantity=4.0, pnl=40.0, fees=1.0)
    assert trade.is_open
    assert trade.open_quantity == 6.0
    assert trade.net_pnl == 39.0
    with pytest.raises(ValueError, match="exit_quantity"):
        Trade("AAPL", Side.BUY, 10.0, T0, 100.0, exit_quantity=11.0)


# ---------------------------------------------------------------------- state machine: happy paths


def test_a_new_order_state_is_new_and_unfilled() -> None:
    state = OrderState.new(request())
    assert state.status is OrderStatus.NEW
    assert (state.filled_qty, state.avg_fill_price, state.remaining_qty) == (0.0, None, 10.0)
    assert not state.is_terminal


def test_a_sent_order_state_is_the_new_state_after_submission() -> None:
    assert OrderState.sent(request()) == OrderState.new(request()).apply(Submitted())
    assert OrderState.sent(request()).status is OrderStatus.SUBMITTED


def test_partial_then_full_fills_average_their_prices_by_quantity() -> None:
    accepted = replay(Submitted(), Accepted(venue_order_id="v-1"))
    partial = accepted.apply(Filled(fill(4.0, 100.0, "t1")))
    full = partial.apply(Filled(fill(6.0, 105.0, "t2")))

    assert accepted.venue_order_id == "v-1"
    assert (partial.status, partial.filled_qty, partial.avg_fill_price) == (
        OrderStatus.PARTIALLY_FILLED,
        4.0,
        100.0,
    )
    # (4 * 100 + 6 * 105) / 10 = 103
    assert (full.status, full.filled_qty, full.remaining_qty) == (OrderStatus.FILLED, 10.0, 0.0)
    assert full.avg_fill_price == pytest.approx(103.0, rel=1e-15)
    assert full.is_terminal
    # Applying events never changes the snapshot they were applied to.
    assert accepted.status is OrderStatus.ACCEPTED and accepted.filled_qty == 0.0


def test_a_fill_can_arrive_before_the_venue_ack() -> None:
    state = replay(Submitted(), Filled(fill(10.0)))
    assert state.status is OrderStatus.FILLED


def test_fills_that_sum_to_the_quantity_in_floating_point_complete_the_order() -> None:
    state = OrderState.new(request(quantity=0.3)).apply(Submitted())
    state = state.apply(Filled(fill(0.1, trade_id="t1"))).apply(Filled(fill(0.2, trade_id="t2")))
    assert state.status is OrderStatus.FILLED
    assert state.filled_qty == 0.3


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (Canceled("user asked"), OrderStatus.CANCELED),
        (Expired(), OrderStatus.EXPIRED),
    ],
)
def test_a_partly_filled_order_can_end_early_and_keeps_its_fills_and_reason(
    event: OrderEvent, status: OrderStatus
) -> None:
    state = replay(Submitted(), Accepted(), Filled(fill(3.0, 101.0)), event)
    assert state.status is status
    assert (state.filled_qty, state.avg_fill_price) == (3.0, 101.0)
    assert state.reason == (
        "user asked" if status is OrderStatus.CANCELED else "time in force elapsed"
    )


def test_a_rejection_records_why() -> None:
    state = replay(Submitted(), Rejected("insufficient buying power"))
    assert (state.status, state.reason) == (OrderStatus.REJECTED, "insufficient buying power")


def test_a_fill_applied_twice_is_counted_once() -> None:
    once = replay(Submitted(), Accepted(), Filled(fill(4.0, trade_id="t1")))
    twice = once.apply(Filled(fill(4.0, trade_id="t1")))
    assert twice == once
    assert twice.filled_qty == 4.0


def test_a_late_duplicate_of_a_fill_is_ignored_even_after_the_order_ended() -> None:
    filled = replay(Submitted(), Filled(fill(10.0, trade_id="t1")))
    assert filled.apply(Filled(fill(10.0, trade_id="t1"))) is filled


def test_an_overfill_raises_naming_the_order_and_leaves_the_state_unchanged() -> None:
    state = replay(Submitted(), Accepted(), Filled(fill(8.0, trade_id="t1")))
    with pytest.raises(OverfillError, match=rf"order '{ORDER_ID}'.*'t2'.*past the order's 10"):
        state.apply(Filled(fill(3.0, trade_id="t2")))
    assert state.filled_qty == 8.0


@pytest.mark.parametrize(
    "overrides",
    [{"client_order_id": "another"}, {"symbol": "MSFT"}, {"side": Side.SELL}],
)
def test_a_fill_for_another_order_symbol_or_side_is_refused(overrides: dict[str, object]) -> None:
    state = replay(Submitted())
    with pytest.raises(ValueError, match=f"order '{ORDER_ID}'"):
        state.apply(Filled(fill(1.0, **overrides)))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=5),
            st.floats(min_value=1.0, max_value=1000.0, allow_nan=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_filled_quantity_never_decreases_never_exceeds_the_order_and_averages_by_quantity(
    parts: list[tuple[int, float, bool]],
) -> None:
    state = OrderState.new(request(quantity=20.0)).apply(Submitted())
    booked: list[tuple[float, float]] = []
    for index, (quantity, price, duplicate) in enumerate(parts):
        event = Filled(fill(float(quantity), price, trade_id=f"t{index}"))
        before = state.filled_qty
        try:
            state = state.apply(event)
        except (OverfillError, IllegalTransition):
            assert before + quantity > 20.0 or state.is_terminal
            continue
        booked.append((float(quantity), price))
        if duplicate:
            assert state.apply(event) == state
        assert before <= state.filled_qty <= 20.0
    if booked:
        total = sum(q for q, _ in booked)
        assert state.filled_qty == total
        expected = sum(q * p for q, p in booked) / total
        assert state.avg_fill_price == pytest.approx(expected, rel=1e-12)
        assert state.status is (
            OrderStatus.FILLED if total == 20.0 else OrderStatus.PARTIALLY_FILLED
        )


# -------------------------------------------------------------------- state machine: illegal moves

ILLEGAL = [
    (start, end)
    for start, end in itertools.product(OrderStatus, OrderStatus)
    if end not in TRANSITIONS[start]
]

# Events that lead from NEW to each status.
PATH_TO: dict[OrderStatus, tuple[OrderEvent, ...]] = {
    OrderStatus.NEW: (),
    OrderStatus.SUBMITTED: (Submitted(),),
    OrderStatus.ACCEPTED: (Submitted(), Accepted()),
    OrderStatus.PARTIALLY_FILLED: (Submitted(), Accepted(), Filled(fill(4.0, trade_id="p1"))),
    OrderStatus.FILLED: (Submitted(), Accepted(), Filled(fill(10.0, trade_id="p1"))),
    OrderStatus.CANCELED: (Submitted(), Canceled("test")),
    OrderStatus.REJECTED: (Submitted(), Rejected("test")),
    OrderStatus.EXPIRED: (Submitted(), Accepted(), Expired()),
}


def event_towards(target: OrderStatus, state: OrderState) -> OrderEvent | None:
    """An event that asks ``state`` to move to ``target``; None where no event can."""
    makers: dict[OrderStatus, Callable[[], OrderEvent]] = {
        OrderStatus.SUBMITTED: Submitted,
        OrderStatus.ACCEPTED: Accepted,
        OrderStatus.PARTIALLY_FILLED: lambda: Filled(fill(1.0, trade_id="next")),
        OrderStatus.FILLED: lambda: Filled(fill(state.remaining_qty or 10.0, trade_id="next")),
        OrderStatus.CANCELED: lambda: Canceled("test"),
        OrderStatus.REJECTED: lambda: Rejected("test"),
        OrderStatus.EXPIRED: Expired,
    }
    maker = makers.get(target)
    return maker() if maker is not None else None


def test_the_paths_used_below_reach_the_status_they_name() -> None:
    for status, path in PATH_TO.items():
        assert replay(*path).status is status


def test_the_table_has_a_row_for_every_status_and_terminal_rows_are_empty() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    terminal = {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    assert terminal == TERMINAL_STATUSES
    assert all(OrderStatus.NEW not in nexts for nexts in TRANSITIONS.values())


@pytest.mark.parametrize(("start", "end"), ILLEGAL, ids=[f"{a.name}->{b.name}" for a, b in ILLEGAL])
def test_every_move_missing_from_the_table_is_illegal(start: OrderStatus, end: OrderStatus) -> None:
    with pytest.raises(
        IllegalTransition, match=rf"'{ORDER_ID}'.*{start.name} -> {end.name}"
    ) as err:
        check_transition(ORDER_ID, start, end)
    assert (err.value.client_order_id, err.value.from_status, err.value.to_status) == (
        ORDER_ID,
        start,
        end,
    )
    assert isinstance(err.value, ValueError)


# A further fill on a FILLED order asks for FILLED, not PARTIALLY_FILLED, and no
# event asks for NEW; the table-level test above covers those pairs.
EVENT_ILLEGAL = [
    (start, end)
    for start, end in ILLEGAL
    if end is not OrderStatus.NEW
    and not (start is OrderStatus.FILLED and end is OrderStatus.PARTIALLY_FILLED)
]


@pytest.mark.parametrize(
    ("start", "end"), EVENT_ILLEGAL, ids=[f"{a.name}->{b.name}" for a, b in EVENT_ILLEGAL]
)
def test_every_event_asking_for_an_illegal_move_raises_and_leaves_the_state_alone(
    start: OrderStatus, end: OrderStatus
) -> None:
    state = replay(*PATH_TO[start])
    event = event_towards(end, state)
    assert event is not None
    with pytest.raises(IllegalTransition) as err:
        state.apply(event)
    assert (err.value.from_status, err.value.to_status) == (start, end)
    assert state.status is start


@pytest.mark.parametrize(
    ("start", "end"),
    [(a, b) for a, nexts in TRANSITIONS.items() for b in nexts],
    ids=[f"{a.name}->{b.name}" for a, nexts in TRANSITIONS.items() for b in nexts],
)
def test_every_move_in_the_table_is_reachable_by_its_event(
    start: OrderStatus, end: OrderStatus
) -> None:
    state = replay(*PATH_TO[start])
    event = event_towards(end, state)
    assert event is not None
    assert state.apply(event).status is end
