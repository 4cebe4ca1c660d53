"""The simulated venue: timing, time in force, OCO and brackets, on hand-made daily bars.

Daily bars close at 21:00 UTC. The engine's order of events is modelled in
every test: the venue sees a bar, then the engine decides and submits with
``now`` = that bar's close, then the venue sees the next bar.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from alphagate.domain.bar import Bar
from alphagate.domain.order_state import (
    Accepted,
    Expired,
    Filled,
    OrderState,
    Rejected,
    Submitted,
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
from alphagate.execution.commission import BasisPoints, MakerTaker
from alphagate.execution.fill_models import CloseFill, ConservativeFill, NextOpenFill
from alphagate.execution.venue import (
    DuplicateOrderError,
    OrderUpdate,
    SimulatedVenue,
    UnknownOrderError,
)

T0 = pd.Timestamp("2024-03-04 21:00", tz="UTC")  # a Monday close
CAPPED = ConservativeFill(0.0, 0.0, 0.0, participation_cap=0.1)


def at(day: int) -> int:
    """The close ``day`` days after ``T0``, in ns since the epoch as the venue takes it."""
    return (T0 + pd.Timedelta(days=day)).value


def bar(
    day: int, o: float = 100, h: float = 101, lo: float = 99, c: float = 100, *, v: float = 1e6
) -> Bar:
    return Bar("AAA", at(day), o, h, lo, c, v)


def request(
    cid: str = "o1", side: Side = Side.BUY, quantity: float = 100, **kw: object
) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": cid,
        "symbol": "AAA",
        "side": side,
        "quantity": quantity,
        "ts_init": T0.value,
    }
    fields.update(kw)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def fills(updates: list[OrderUpdate]) -> list[Fill]:
    found = [u.event.fill for u in updates if isinstance(u.event, Filled)]
    for f in found:  # every simulated fill says how its price came about
        assert f.reference_price is not None
        assert math.isfinite(f.slippage) and math.isfinite(f.impact)
    return found


def kinds(updates: list[OrderUpdate]) -> list[tuple[str, str]]:
    return [(u.client_order_id, type(u.event).__name__) for u in updates]


def replay(updates: list[OrderUpdate], state: OrderState) -> OrderState:
    for u in updates:
        if u.client_order_id == state.client_order_id:
            state = state.apply(u.event)
    return state


# --------------------------------------------------------------------------- timing


def test_a_market_buy_submitted_on_bar_1_fills_at_the_open_of_bar_2() -> None:
    venue = SimulatedVenue(NextOpenFill())
    assert venue.on_bar(bar(1)) == []
    submitted = venue.submit(request(), now=at(1))
    assert [type(u.event) for u in submitted] == [Accepted]
    (f,) = fills(venue.on_bar(bar(2, o=101.5, h=103, lo=100, c=102)))
    assert (f.price, f.quantity, f.ts_event, f.reference_price) == (101.5, 100, at(2), 101.5)
    assert pd.Timestamp(f.ts_event, tz="UTC") == pd.Timestamp("2024-03-06 21:00", tz="UTC")
    assert venue.order("o1").status is OrderStatus.FILLED
    assert venue.open_orders() == []


def test_with_latency_one_bar_a_market_buy_fills_at_the_open_of_bar_3() -> None:
    venue = SimulatedVenue(NextOpenFill(), latency_bars=1)
    venue.submit(request(), now=at(1))
    assert venue.on_bar(bar(2, o=101)) == []
    (f,) = fills(venue.on_bar(bar(3, o=104, h=105, lo=103)))
    assert f.price == 104
    # DAY counts from the bar the order reached the venue, so latency does not expire it.
    assert venue.order("o1").status is OrderStatus.FILLED


def test_a_bar_stamped_at_or_before_submission_does_not_fill_the_order() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(), now=at(1))
    assert venue.on_bar(bar(1)) == []
    assert len(fills(venue.on_bar(bar(2)))) == 1


def test_close_fill_fills_a_market_order_at_the_next_bar_close() -> None:
    venue = SimulatedVenue(CloseFill())
    venue.submit(request(), now=at(1))
    (f,) = fills(venue.on_bar(bar(2, o=100, h=104, lo=99, c=103)))
    assert f.price == 103


def test_bars_of_another_symbol_leave_an_order_alone() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(), now=at(1))
    assert venue.on_bar(Bar("BBB", at(2), 10, 11, 9, 10, 1e6)) == []
    assert venue.order("o1").status is OrderStatus.ACCEPTED


def test_the_venue_fill_and_the_engine_replay_reach_the_same_state() -> None:
    venue = SimulatedVenue(NextOpenFill(), BasisPoints(10))
    updates = venue.submit(request(), now=at(1)) + venue.on_bar(bar(2, o=50, h=51, lo=49))
    # The engine marks the order sent itself; the venue's reports start at its ack.
    assert type(updates[0].event) is Accepted
    mine = replay(updates, OrderState.new(request()).apply(Submitted()))
    assert mine == venue.order("o1")
    # 100 * 50 = 5 000 notional at 10 bps.
    assert fills(updates)[0].fee == pytest.approx(5.0)


# --------------------------------------------------------------------------- conservative


def test_participation_cap_fills_a_250_share_order_as_100_100_and_50() -> None:
    venue = SimulatedVenue(CAPPED)
    venue.submit(request(quantity=250, time_in_force=TimeInForce.GTC), now=at(1))
    statuses = []
    quantities = []
    for day in (2, 3, 4):
        quantities += [f.quantity for f in fills(venue.on_bar(bar(day, v=1_000)))]
        statuses.append(venue.order("o1").status)
    assert quantities == [100, 100, 50]
    assert statuses == [
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert venue.open_orders() == []


def test_conservative_impact_reads_only_the_bars_the_venue_saw_before_the_fill() -> None:
    model = ConservativeFill(
        spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None, adv_window=2
    )
    venue = SimulatedVenue(model)
    for day, close, volume in ((0, 100, 1_000), (1, 105, 2_000), (2, 100, 3_000)):
        venue.on_bar(bar(day, close, close, close, close, v=volume))
    venue.submit(request(quantity=250), now=at(2))
    # The fill bar's own huge volume must not enter the ADV.
    (f,) = fills(venue.on_bar(bar(3, o=100, h=101, lo=99, v=1e9)))
    sigma = math.log(1.05) * math.sqrt(2)  # returns +-ln 1.05
    impact = 1.0 * sigma * math.sqrt(250 / 2_500) * 100  # ADV = (2 000 + 3 000) / 2
    assert f.impact == pytest.approx(impact)
    assert f.price == pytest.approx(100 * 1.001 + impact)
    assert (f.reference_price, f.slippage) == (100, pytest.approx(0.1))


# --------------------------------------------------------------------------- limits and stops


def test_a_limit_buy_keeps_working_until_a_bar_reaches_it() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(
        request(order_type=OrderType.LIMIT, limit_price=95, time_in_force=TimeInForce.GTC),
        now=at(1),
    )
    assert venue.on_bar(bar(2, 100, 101, 96, 100)) == []
    assert venue.order("o1").status is OrderStatus.ACCEPTED
    (f,) = fills(venue.on_bar(bar(3, 98, 99, 94, 96)))
    assert (f.price, f.liquidity) == (95, Liquidity.MAKER)


def test_a_resting_limit_filled_in_the_range_is_charged_the_maker_rate() -> None:
    venue = SimulatedVenue(NextOpenFill(), MakerTaker(maker_bps=-2, taker_bps=5))
    venue.submit(request(order_type=OrderType.LIMIT, limit_price=50), now=at(1))
    (f,) = fills(venue.on_bar(bar(2, 51, 52, 49, 50)))
    # 100 * 50 = 5 000 notional; a -2 bps maker rebate is -1.00.
    assert (f.liquidity, f.fee) == (Liquidity.MAKER, pytest.approx(-1.0))


def test_a_stop_sell_gapped_through_fills_at_the_open() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(side=Side.SELL, order_type=OrderType.STOP, stop_price=95), now=at(1))
    (f,) = fills(venue.on_bar(bar(2, 90, 92, 88, 91)))
    assert (f.price, f.reference_price, f.slippage) == (90, 95, 5)


def test_a_stop_limit_triggered_on_one_bar_fills_as_a_limit_on_a_later_one() -> None:
    venue = SimulatedVenue(NextOpenFill())
    order = request(
        order_type=OrderType.STOP_LIMIT,
        stop_price=101,
        limit_price=100.5,
        time_in_force=TimeInForce.GTC,
    )
    venue.submit(order, now=at(1))
    assert venue.on_bar(bar(2, 100, 103, 99, 102)) == []  # triggered inside the bar, path unknown
    (f,) = fills(venue.on_bar(bar(3, 102, 103, 100, 101)))
    assert (f.price, f.reference_price) == (100.5, 100.5)


# --------------------------------------------------------------------------- time in force


def test_a_day_order_expires_when_the_next_session_starts() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(order_type=OrderType.LIMIT, limit_price=90), now=at(1))
    assert venue.on_bar(bar(2)) == []
    updates = venue.on_bar(bar(3, 85, 86, 84, 85))  # would fill, but session 2 is over
    assert kinds(updates) == [("o1", "Expired")]
    assert venue.order("o1").status is OrderStatus.EXPIRED


def test_a_day_order_works_through_every_bar_of_its_session() -> None:
    venue = SimulatedVenue(NextOpenFill())
    first = pd.Timestamp("2024-03-05 14:35", tz="UTC")
    minute = pd.Timedelta(minutes=1).value
    venue.submit(request(order_type=OrderType.LIMIT, limit_price=90), now=first.value - 5 * minute)
    for minutes in (0, 5, 10):
        assert (
            venue.on_bar(Bar("AAA", first.value + minutes * minute, 100, 101, 99, 100, 1e6)) == []
        )
    next_day = Bar("AAA", (first + pd.Timedelta(days=1)).value, 100, 101, 99, 100, 1e6)
    (update,) = venue.on_bar(next_day)
    assert isinstance(update.event, Expired)
    assert update.event.reason == "DAY order: session 2024-03-05 ended"  # the UTC date, named


def test_a_gtc_order_outlives_the_session() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(
        request(order_type=OrderType.LIMIT, limit_price=90, time_in_force=TimeInForce.GTC),
        now=at(1),
    )
    for day in range(2, 10):
        assert venue.on_bar(bar(day)) == []
    assert venue.order("o1").status is OrderStatus.ACCEPTED


def test_ioc_fills_what_the_first_bar_allows_and_cancels_the_rest() -> None:
    venue = SimulatedVenue(CAPPED)
    venue.submit(request(quantity=250, time_in_force=TimeInForce.IOC), now=at(1))
    updates = venue.on_bar(bar(2, v=1_000))
    assert kinds(updates) == [("o1", "Filled"), ("o1", "Canceled")]
    assert fills(updates)[0].quantity == 100
    state = venue.order("o1")
    assert (state.status, state.filled_qty) == (OrderStatus.CANCELED, 100)


def test_an_ioc_limit_the_first_bar_does_not_reach_is_canceled_at_once() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(
        request(order_type=OrderType.LIMIT, limit_price=90, time_in_force=TimeInForce.IOC),
        now=at(1),
    )
    assert kinds(venue.on_bar(bar(2))) == [("o1", "Canceled")]


# --------------------------------------------------------------------------- OCO and brackets


def bracket(
    venue: SimulatedVenue, entry: OrderRequest, *, stop: float = 95, target: float = 110
) -> None:
    venue.submit(entry, now=at(1))
    for cid, kind, prices in (
        ("sl", OrderType.STOP, {"stop_price": stop}),
        ("tp", OrderType.LIMIT, {"limit_price": target}),
    ):
        child = request(
            cid,
            Side.SELL,
            entry.quantity,
            order_type=kind,
            time_in_force=TimeInForce.GTC,
            parent_id=entry.client_order_id,
            oco_group_id="g1",
            **prices,
        )
        assert [type(u.event) for u in venue.submit(child, now=at(1))] == [Accepted]


def test_a_bar_hitting_both_stop_and_take_profit_fills_the_stop_and_cancels_the_target() -> None:
    venue = SimulatedVenue(NextOpenFill())
    bracket(venue, request("entry", time_in_force=TimeInForce.GTC))
    assert kinds(venue.on_bar(bar(2, 100, 102, 98, 101))) == [("entry", "Filled")]
    updates = venue.on_bar(bar(3, 100, 112, 94, 105))
    assert kinds(updates) == [("sl", "Filled"), ("tp", "Canceled")]
    (f,) = fills(updates)
    assert (f.price, f.quantity) == (95, 100)
    assert "OCO" in str(venue.order("tp").reason)


def test_a_take_profit_gapped_through_at_the_open_wins_over_a_later_stop() -> None:
    venue = SimulatedVenue(NextOpenFill())
    bracket(venue, request("entry", time_in_force=TimeInForce.GTC))
    venue.on_bar(bar(2))
    updates = venue.on_bar(bar(3, 111, 112, 94, 100))  # the open comes first, and it is above 110
    assert kinds(updates) == [("tp", "Filled"), ("sl", "Canceled")]
    assert fills(updates)[0].price == 111


def test_children_cannot_fill_before_their_entry_has() -> None:
    venue = SimulatedVenue(NextOpenFill())
    entry = request(
        "entry", order_type=OrderType.LIMIT, limit_price=90, time_in_force=TimeInForce.GTC
    )
    bracket(venue, entry, stop=85)
    # The range reaches the take-profit, but nothing is held yet.
    assert venue.on_bar(bar(2, 100, 112, 95, 100)) == []
    assert {s.client_order_id for s in venue.open_orders()} == {"entry", "sl", "tp"}


def test_an_entry_filled_at_the_open_is_protected_within_the_same_bar() -> None:
    venue = SimulatedVenue(NextOpenFill())
    bracket(venue, request("entry", time_in_force=TimeInForce.GTC))
    # Bought at the 100 open; everything else in the bar came after, the 94 low included.
    updates = venue.on_bar(bar(2, 100, 101, 94, 96))
    assert kinds(updates) == [("entry", "Filled"), ("sl", "Filled"), ("tp", "Canceled")]
    assert [f.price for f in fills(updates)] == [100, 95]


def test_an_entry_filled_inside_a_bar_protects_from_the_next_bar_only() -> None:
    venue = SimulatedVenue(NextOpenFill())
    entry = request(
        "entry", order_type=OrderType.LIMIT, limit_price=98, time_in_force=TimeInForce.GTC
    )
    bracket(venue, entry)
    # The entry fills at 98 inside the bar; whether the 94 low came after it is unknown.
    assert kinds(venue.on_bar(bar(2, 100, 101, 94, 99))) == [("entry", "Filled")]
    assert kinds(venue.on_bar(bar(3, 96, 97, 94, 95))) == [("sl", "Filled"), ("tp", "Canceled")]


def test_a_canceled_entry_with_nothing_filled_cancels_its_children() -> None:
    venue = SimulatedVenue(NextOpenFill())
    bracket(
        venue,
        request("entry", order_type=OrderType.LIMIT, limit_price=90, time_in_force=TimeInForce.GTC),
    )
    updates = venue.cancel("entry")
    assert kinds(updates) == [("entry", "Canceled"), ("sl", "Canceled"), ("tp", "Canceled")]
    assert venue.open_orders() == []


def test_a_partly_filled_entry_sizes_its_stop_to_the_filled_quantity() -> None:
    venue = SimulatedVenue(CAPPED)
    bracket(venue, request("entry", quantity=250, time_in_force=TimeInForce.GTC))
    # 10 % of 1 000 fills 100 at the open; the children may protect those 100 at once.
    assert kinds(venue.on_bar(bar(2, v=1_000))) == [("entry", "Filled")]
    venue.cancel("entry")
    updates = venue.on_bar(bar(3, 90, 92, 88, 91, v=10_000))  # gaps through the stop
    assert kinds(updates) == [("sl", "Filled"), ("tp", "Canceled"), ("sl", "Canceled")]
    assert fills(updates)[0].quantity == 100
    assert venue.order("sl").filled_qty == 100
    assert "filled only 100" in str(venue.order("sl").reason)


def test_a_child_of_an_already_filled_entry_is_active_at_once() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request("entry"), now=at(1))
    venue.on_bar(bar(2))
    stop = request("sl", Side.SELL, order_type=OrderType.STOP, stop_price=95, parent_id="entry")
    venue.submit(stop, now=at(2))
    (f,) = fills(venue.on_bar(bar(3, 96, 97, 94, 95)))
    assert (f.client_order_id, f.price) == ("sl", 95)


def test_an_order_joining_an_oco_group_that_already_filled_is_rejected() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request("a", oco_group_id="g"), now=at(1))
    venue.on_bar(bar(2))
    updates = venue.submit(request("b", oco_group_id="g"), now=at(2))
    assert isinstance(updates[-1].event, Rejected)


# --------------------------------------------------------------------------- refusals and errors


def test_an_order_for_a_symbol_outside_the_universe_is_rejected_with_the_reason() -> None:
    venue = SimulatedVenue(NextOpenFill(), symbols=["BBB"])
    updates = venue.submit(request(), now=at(1))
    assert [type(u.event) for u in updates] == [Rejected]
    assert venue.order("o1").reason == "unknown symbol 'AAA'"
    assert venue.on_bar(bar(2)) == []


def test_a_child_of_an_unknown_parent_is_rejected() -> None:
    venue = SimulatedVenue(NextOpenFill())
    updates = venue.submit(request(parent_id="nobody"), now=at(1))
    assert updates[-1].event == Rejected("unknown parent order 'nobody'")


def test_canceling_an_unknown_order_raises_a_clear_error() -> None:
    venue = SimulatedVenue(NextOpenFill())
    with pytest.raises(UnknownOrderError, match="'ghost': no order with that client id"):
        venue.cancel("ghost")


def test_asking_for_an_unknown_order_raises_a_clear_error() -> None:
    with pytest.raises(UnknownOrderError, match="cannot query order 'ghost'"):
        SimulatedVenue(NextOpenFill()).order("ghost")


def test_canceling_an_order_that_already_ended_reports_nothing() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(), now=at(1))
    venue.on_bar(bar(2))
    assert venue.cancel("o1") == []
    assert venue.order("o1").status is OrderStatus.FILLED


def test_a_second_order_with_the_same_client_id_is_refused_and_the_first_is_untouched() -> None:
    venue = SimulatedVenue(NextOpenFill())
    venue.submit(request(), now=at(1))
    with pytest.raises(DuplicateOrderError, match="'o1'"):
        venue.submit(request(quantity=5), now=at(1))
    assert venue.order("o1").request.quantity == 100


@pytest.mark.parametrize("now", [pd.Timestamp("2024-03-05", tz="UTC"), True, 1.7e18])
def test_a_submission_time_other_than_int_ns_is_refused_saying_what_it_needs(
    now: object,
) -> None:
    with pytest.raises(ValueError, match="now must be int64 ns since the epoch"):
        SimulatedVenue(NextOpenFill()).submit(request(), now=now)  # type: ignore[arg-type]


def test_two_runs_report_identical_updates() -> None:
    def run() -> list[OrderUpdate]:
        venue = SimulatedVenue(CAPPED, BasisPoints(5))
        out = venue.submit(request(quantity=250, time_in_force=TimeInForce.GTC), now=at(1))
        for day in (2, 3, 4):
            out += venue.on_bar(bar(day, v=1_000))
        return out

    assert run() == run()
