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
    bars_of,
    bundled_bars,
    fill_of,
    random_walk_bars,
    request_of,
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


def test_the_scripted_venue_acks_fills_in_parts_cancels_and_refuses_a_resent_id() -> None:
    venue = ScriptedVenue(cash=1_000.0)
    buy, sell = request_of("b", quantity=10.0), request_of("s", side=Side.SELL, quantity=3.0)
    [ack] = venue.submit(buy, buy.ts_created)
    assert isinstance(ack.event, Accepted)
    venue.submit(sell, sell.ts_created)
    with pytest.raises(ValueError, match="already submitted"):
        venue.submit(buy, buy.ts_created)
    first = venue.fill("b", 4.0, 100.0, buy.ts_created)
    assert isinstance(first.event, Filled) and first.event.fill.quantity == 4.0
    assert [o.status for o in venue.open_orders()] == [
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.ACCEPTED,
    ]
    venue.fill("b", 6.0, 101.0, buy.ts_created)
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
    assert fill.ts - request.ts_created == pd.Timedelta("1D")
    assert np.isfinite(fill.price)
