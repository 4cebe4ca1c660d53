"""The test kit users get: its builders make valid frames and its venue keeps the venue rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphagate.domain.bars import check_bars_frame
from alphagate.domain.order_state import Accepted, Canceled, Filled
from alphagate.domain.orders import OrderStatus, Side
from alphagate.testing import (
    ScriptedVenue,
    bars_by_symbol,
    bars_from_rows,
    bars_of,
    bundled_bars,
    fill_of,
    random_walk_bars,
    request_of,
    stack_bars,
    synthetic_bars,
)


def test_random_walks_are_canonical_consistent_and_follow_their_gaps() -> None:
    bars = random_walk_bars({"AAA": 0, "BBB": 3}, n=30)
    check_bars_frame(bars)
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert len(bars.loc["AAA"]) == 30 and len(bars.loc["BBB"]) == 20


def test_bundled_bars_are_cut_to_whole_days_inclusive() -> None:
    bars = bundled_bars(["^GSPC"], start="2010-01-04", end="2010-01-08")
    days = pd.DatetimeIndex(bars.index.get_level_values("ts")).tz_convert("America/New_York")
    assert [d.day for d in days] == [4, 5, 6, 7, 8]


def test_bars_of_puts_highs_and_lows_at_the_bars_extremes() -> None:
    bars = bars_of([10.0, 12.0], opens=[11.0, 11.0])
    assert bars["high"].tolist() == [11.0, 12.0] and bars["low"].tolist() == [10.0, 11.0]


def test_bars_of_repeats_one_number_and_closes_at_the_stamps_given() -> None:
    stamps = pd.DatetimeIndex(["2024-01-02 21:00", "2024-01-05 21:00"], tz="UTC")
    bars = bars_of([10.0, 12.0], highs=20.0, lows=5.0, volume=[1.0, 2.0], stamps=stamps)
    check_bars_frame(bars)
    assert bars["high"].tolist() == [20.0, 20.0] and bars["low"].tolist() == [5.0, 5.0]
    assert bars["volume"].tolist() == [1.0, 2.0]
    assert list(bars.index.get_level_values("ts")) == list(stamps)


def test_bars_of_refuses_a_column_whose_length_is_not_the_closes() -> None:
    with pytest.raises(ValueError, match="expected 2 values, one per close, got 3"):
        bars_of([10.0, 12.0], opens=[1.0, 2.0, 3.0])


def test_bars_by_symbol_and_stack_bars_give_one_sorted_frame_of_every_symbol() -> None:
    bars = bars_by_symbol({"BBB": [2.0, 3.0], "AAA": [1.0]})
    check_bars_frame(bars)
    assert bars.index.get_level_values("symbol").tolist() == ["AAA", "BBB", "BBB"]
    assert (bars["open"] == bars["close"]).all() and (bars["high"] == bars["low"]).all()
    again = stack_bars(bars_of([2.0, 3.0], symbol="BBB"), bars_of([1.0]))
    pd.testing.assert_frame_equal(again, bars)


def test_rows_become_a_canonical_frame_whatever_their_order_and_time_type() -> None:
    bars = bars_from_rows(
        [
            ("AAA", "2024-01-03 21:00", 2.0, 3.0, 1.0, 2.5, 10.0),
            ("AAA", pd.Timestamp("2024-01-02 21:00", tz="UTC"), 1.0, 2.0, 0.5, 1.5, 5.0),
        ]
    )
    check_bars_frame(bars)
    assert bars["close"].tolist() == [1.5, 2.5]
    assert bars.index.get_level_values("ts")[0] == pd.Timestamp("2024-01-02 21:00", tz="UTC")


def test_synthetic_bars_follow_the_calendar_and_the_seed() -> None:
    bars = synthetic_bars(["AAA", "BBB"], "2019-07-01", "2019-07-08")
    check_bars_frame(bars)
    days = pd.DatetimeIndex(bars.loc["AAA"].index).tz_convert("America/New_York")
    # 4 July is a holiday and 6-7 July a weekend; 3 July closes early, at 13:00.
    assert [d.day for d in days] == [1, 2, 3, 5, 8]
    assert days[2].hour == 13
    other = synthetic_bars(["AAA", "BBB"], "2019-07-01", "2019-07-08", seed=8)
    assert not np.allclose(bars["close"], other["close"])


def test_the_scripted_venue_acks_fills_in_parts_cancels_and_refuses_a_resent_id() -> None:
    venue = ScriptedVenue(cash=1_000.0)
    buy, sell = request_of("b", quantity=10.0), request_of("s", side=Side.SELL, quantity=3.0)
    [ack] = venue.submit(buy, buy.ts_init)
    assert isinstance(ack.event, Accepted)
    venue.submit(sell, sell.ts_init)
    with pytest.raises(ValueError, match="already submitted"):
        venue.submit(buy, buy.ts_init)
    first = venue.fill("b", 4.0, 100.0, buy.ts_init)
    assert isinstance(first.event, Filled) and first.event.fill.quantity == 4.0
    assert [o.status for o in venue.open_orders()] == [
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.ACCEPTED,
    ]
    venue.fill("b", 6.0, 101.0, buy.ts_init)
    [canceled] = venue.cancel("s")
    assert isinstance(canceled.event, Canceled) and venue.cancel("s") == []
    account = venue.account()
    assert account.positions == {"AAA": 10.0}
    assert account.cash == pytest.approx(1_000.0 - 400.0 - 606.0)
    assert venue.open_orders() == []


def test_a_fill_built_for_a_request_defaults_to_all_of_it_a_day_later() -> None:
    request = request_of(quantity=7.0)
    fill = fill_of(request, price=5.0)
    assert (fill.quantity, fill.price, fill.side) == (7.0, 5.0, Side.BUY)
    assert fill.ts_event - request.ts_init == 86_400 * 10**9
    assert np.isfinite(fill.price)


def test_the_builders_take_a_tz_aware_timestamp_or_ns_and_refuse_a_naive_one() -> None:
    noon = pd.Timestamp("2024-03-01 12:00", tz="UTC")
    assert request_of(ts=noon).ts_init == request_of(ts=1_709_294_400_000_000_000).ts_init
    assert fill_of(request_of(), ts=noon).ts_event == 1_709_294_400_000_000_000
    assert request_of().ts_init == pd.Timestamp("2020-01-01 21:00", tz="UTC").value
    with pytest.raises(ValueError, match="tz-aware"):
        request_of(ts=pd.Timestamp("2024-03-01 12:00"))
