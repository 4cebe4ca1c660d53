"""The trading store on SQLite and PostgreSQL: what goes in comes back, replays change nothing.

Every test runs on both backends (``database_url`` in this folder's conftest).
The oracles are the domain values themselves: an ``OrderState`` or ``Fill``
read back must equal the one stored, field for field, and the raw rows are
read with plain SQL where a test is about what the store did not write.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from alphagate.adapters.trading_db import (
    Candidate,
    CandidateState,
    DailyPerformance,
    EquityPoint,
    FillConflictError,
    LevelMethod,
    OrderConflictError,
    ProtectiveLevels,
    TradingDatabaseError,
    TradingStore,
)
from alphagate.domain.order_state import Accepted, Canceled, Filled, OrderState, Rejected
from alphagate.domain.orders import Fill, Liquidity, OrderType, Side, TimeInForce
from alphagate.domain.positions import Position, Trade
from alphagate.risk.events import RiskEvent, Severity
from alphagate.testing.orders import fill_of, request_of

RUN = "paper-2024-01"
BIG_NS = 2**62 + 123_456_789  # far past a float's 53-bit mantissa: any float detour shows
MAX_NS = 2**63 - 1


@pytest.fixture
def store(database_url: str) -> Iterator[TradingStore]:
    with TradingStore.open(database_url) as opened:
        yield opened


def raw_rows(store: TradingStore, query: str) -> list[tuple[object, ...]]:
    """Rows read with plain SQL beside the store, to see what it wrote."""
    engine = create_engine(store.url.url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_an_order_reads_back_equal_with_every_request_field(store: TradingStore) -> None:
    request = request_of(
        "entry-1", symbol="BBB", side=Side.SELL, quantity=0.1 + 0.2, ts=BIG_NS,
        order_type=OrderType.STOP_LIMIT, time_in_force=TimeInForce.GTC, limit_price=99.5,
        stop_price=100.25, parent_id="p-0", oco_group_id="oco-7", reduce_only=True,
    )  # fmt: skip
    state = OrderState.sent(request).apply(Accepted("V-1"))
    state = state.apply(Filled(fill_of(request, 0.1, 100.125, trade_id="t-1")))

    assert store.upsert_order(state, RUN)

    assert store.orders(RUN) == [state]
    assert store.orders("another-run") == []


def test_the_same_order_state_twice_changes_nothing_not_even_its_update_time(
    store: TradingStore,
) -> None:
    state = OrderState.sent(request_of("o1"))

    assert store.upsert_order(state, RUN, ts_updated=1_000) is True
    assert store.upsert_order(state, RUN, ts_updated=2_000) is False

    assert raw_rows(store, "select ts_updated, status from orders") == [(1_000, "submitted")]


def test_a_new_state_of_a_stored_order_replaces_it(store: TradingStore) -> None:
    request = request_of("o1", quantity=4.0)
    sent = OrderState.sent(request)
    half = sent.apply(Filled(fill_of(request, 2.0, 10.0, trade_id="a")))
    done = half.apply(Filled(fill_of(request, 2.0, 12.0, trade_id="b")))

    store.upsert_order(sent, RUN, ts_updated=1)
    assert store.upsert_order(half, RUN, ts_updated=2)
    assert store.open_orders(RUN) == [half]
    assert store.upsert_order(done, RUN, ts_updated=3)

    assert store.orders(RUN) == [done]
    assert done.avg_fill_price == 11.0  # the state the store must hand back, by hand
    assert store.open_orders(RUN) == []
    assert raw_rows(store, "select ts_updated from orders") == [(3,)]


def test_a_stored_client_order_id_with_another_request_is_refused(store: TradingStore) -> None:
    store.upsert_order(OrderState.sent(request_of("o1", quantity=10.0)), RUN)

    with pytest.raises(OrderConflictError, match="quantity"):
        store.upsert_order(OrderState.sent(request_of("o1", quantity=11.0)), RUN)
    with pytest.raises(OrderConflictError, match="run_id"):
        store.upsert_order(OrderState.sent(request_of("o1", quantity=10.0)), "other-run")
    assert [state.request.quantity for state in store.orders(RUN)] == [10.0]


def test_orders_sent_counts_what_reached_a_venue_even_after_it_ended(
    store: TradingStore,
) -> None:
    never_sent = OrderState.new(request_of("n1"))
    refused_by_us = OrderState.new(request_of("n2")).apply(Rejected("pre-trade: too large"))
    sent_then_canceled = OrderState.sent(request_of("s1")).apply(Canceled("by user"))
    venue_rejected = OrderState.sent(request_of("s2"))
    other_run = OrderState.sent(request_of("s3"))

    for state in (never_sent, refused_by_us, venue_rejected):
        store.upsert_order(state, RUN)
    store.upsert_order(OrderState.sent(sent_then_canceled.request), RUN)
    store.upsert_order(sent_then_canceled, RUN)
    store.upsert_order(venue_rejected.apply(Rejected("venue: no margin")), RUN)
    store.upsert_order(other_run, "other-run")

    assert store.orders_sent(RUN) == 2  # s1 and s2
    assert store.orders_sent() == 3


def test_a_fill_twice_is_stored_once(store: TradingStore) -> None:
    request = request_of("o1")
    fill = Fill(
        client_order_id="o1", trade_id="T-9", symbol="AAA", side=Side.BUY, quantity=10.0,
        price=100.0 + 1e-9, ts_event=BIG_NS, fee=-0.25, reference_price=99.5, slippage=0.375,
        impact=0.125, liquidity=Liquidity.MAKER,
    )  # fmt: skip
    store.upsert_order(OrderState.sent(request), RUN)

    assert store.add_fill(fill, RUN) is True
    assert store.add_fill(fill, RUN) is False

    assert store.fills(RUN) == [fill]


def test_a_fill_again_with_other_numbers_raises_and_keeps_the_first(store: TradingStore) -> None:
    first = fill_of(request_of("o1"), 10.0, 100.0, trade_id="T-1")
    conflicting = fill_of(request_of("o1"), 10.0, 100.5, trade_id="T-1")
    store.add_fill(first, RUN)

    with pytest.raises(FillConflictError, match=r"price: stored 100\.0, now 100\.5"):
        store.add_fill(conflicting, RUN)

    assert store.fills(RUN) == [first]


def test_the_same_trade_id_on_another_order_is_another_fill(store: TradingStore) -> None:
    one = fill_of(request_of("o1"), trade_id="T-1")
    other = fill_of(request_of("o2"), trade_id="T-1")

    assert store.add_fill(one, RUN) and store.add_fill(other, RUN)
    assert len(store.fills(RUN)) == 2


@pytest.mark.parametrize("ns", [BIG_NS, MAX_NS, -(2**62)])
def test_nanosecond_times_round_trip_exactly(store: TradingStore, ns: int) -> None:
    request = request_of("o1", ts=ns)
    fill = fill_of(request, ts=ns)
    store.upsert_order(OrderState.sent(request), RUN)
    store.add_fill(fill, RUN)
    store.add_equity_point(RUN, EquityPoint(ns, 1.0, 1.0))

    assert store.orders(RUN)[0].request.ts_init == ns
    assert store.fills(RUN)[0].ts_event == ns
    assert store.equity(RUN)[0].ts == ns
    assert raw_rows(store, "select ts_init from orders") == [(ns,)]


def test_risk_event_data_round_trips_as_plain_json(store: TradingStore) -> None:
    ts = pd.Timestamp("2024-03-01 15:30:00.000000123", tz="America/New_York")
    event = RiskEvent(
        ts=ts,
        component="pre_trade",
        severity=Severity.WARNING,
        reason="position weight 0.32 > max 0.25 for AAA",
        data={
            "weight": np.float64(0.32),
            "limits": (0.25, 1),
            "nested": {"ok": True, "none": None, "when": pd.Timestamp("2024-03-01", tz="UTC")},
            "nan": float("nan"),
            "symbol": "AAA",
        },
    )

    assert store.add_risk_event(event, RUN) > 0
    (stored,) = store.risk_events(RUN)

    assert stored.ts == ts and stored.ts.value == ts.value
    assert (stored.component, stored.severity, stored.reason) == (
        "pre_trade",
        Severity.WARNING,
        "position weight 0.32 > max 0.25 for AAA",
    )
    assert dict(stored.data) == {
        "weight": 0.32,
        "limits": [0.25, 1],
        "nested": {"ok": True, "none": None, "when": "2024-03-01T00:00:00+00:00"},
        "nan": None,
        "symbol": "AAA",
    }


def test_system_events_come_back_newest_first_and_by_kind(store: TradingStore) -> None:
    store.add_system_event("start", {"pid": 42}, actor="runner", ts=1)
    store.add_system_event("kill_switch_reset", {"reason": "tested"}, actor="alice", ts=2)
    store.add_system_event("stop", None, ts=3)

    assert [e.kind for e in store.system_events()] == ["stop", "kill_switch_reset", "start"]
    (reset,) = store.system_events(kind="kill_switch_reset")
    assert (reset.ts, reset.actor, reset.detail) == (2, "alice", {"reason": "tested"})
    assert store.system_events(limit=1)[0].detail is None


def test_positions_equity_and_days_replace_the_row_of_their_key(store: TradingStore) -> None:
    store.set_position(Position("AAA", 5.0, 100.0), RUN, ts=1)
    store.set_position(Position("AAA", 2.0, 100.0, realised_pnl=30.0), RUN, ts=2)
    store.set_position(Position("BBB", -1.0, 50.0), RUN, ts=2)
    store.add_equity_point(RUN, EquityPoint(2, 1000.0, 400.0))
    store.add_equity_point(RUN, EquityPoint(1, 990.0, 500.0))
    store.add_equity_point(RUN, EquityPoint(2, 1001.0, 401.0))
    day = DailyPerformance(
        day_ts=0, pnl=1.0, day_return=0.001, trades=2, equity=1001.0, drawdown=0.0
    )
    store.set_daily_performance(RUN, day)
    replayed = DailyPerformance(
        day_ts=0, pnl=1.0, day_return=0.001, trades=2, equity=1001.0, drawdown=0.0,
        sharpe_to_date=1.5, tracking_error=0.0,
    )  # fmt: skip
    store.set_daily_performance(RUN, replayed)

    assert store.positions(RUN) == {
        "AAA": Position("AAA", 2.0, 100.0, realised_pnl=30.0),
        "BBB": Position("BBB", -1.0, 50.0),
    }
    assert store.equity(RUN) == [EquityPoint(1, 990.0, 500.0), EquityPoint(2, 1001.0, 401.0)]
    assert store.daily_performance(RUN) == [replayed]


def test_an_open_trade_is_replaced_when_it_closes(store: TradingStore) -> None:
    opened = Trade("AAA", Side.BUY, 10.0, entry_ts=BIG_NS, entry_price=100.0)
    closed = Trade(
        "AAA", Side.BUY, 10.0, entry_ts=BIG_NS, entry_price=100.0, exit_quantity=10.0,
        exit_ts=BIG_NS + 1, exit_price=110.0, pnl=100.0, fees=0.5,
    )  # fmt: skip
    store.add_trade(opened, RUN)
    assert store.trades(RUN) == [opened]

    store.add_trade(closed, RUN)

    assert store.trades(RUN) == [closed]


def test_protective_levels_belong_to_a_stored_entry(store: TradingStore) -> None:
    levels = ProtectiveLevels(
        client_order_id="entry-1", stop=95.0, target=None, method=LevelMethod.FIBONACCI, ts_init=7
    )
    with pytest.raises(TradingDatabaseError, match="protective levels of 'entry-1'"):
        store.set_protective_levels(RUN, levels)

    store.upsert_order(OrderState.sent(request_of("entry-1")), RUN)
    store.set_protective_levels(RUN, levels)

    assert store.protective_levels(RUN) == {"entry-1": levels}


def test_a_candidate_keeps_its_creation_time_when_its_state_changes(store: TradingStore) -> None:
    paper = Candidate(
        candidate_id="c1", run_id="run-a", strategy="model", state=CandidateState.PAPER,
        ts_created=10,
    )  # fmt: skip
    store.upsert_candidate(paper, ts_updated=10)
    live = Candidate(
        candidate_id="c1", run_id="run-a", strategy="model", state=CandidateState.LIVE,
        ts_created=99,
    )  # fmt: skip
    store.upsert_candidate(live, ts_updated=20)

    (stored,) = store.candidates()
    assert (stored.state, stored.ts_created) == (CandidateState.LIVE, 10)
    assert raw_rows(store, "select ts_updated from candidates") == [(20,)]


def test_a_value_too_long_for_its_column_is_refused_on_every_backend(
    store: TradingStore,
) -> None:
    with pytest.raises(ValueError, match="symbol is longer than 64"):
        store.upsert_order(OrderState.sent(request_of("o1", symbol="S" * 65)), RUN)
    with pytest.raises(ValueError, match="run_id is required"):
        store.add_fill(fill_of(request_of("o1")), "")
    assert store.orders(RUN) == []
