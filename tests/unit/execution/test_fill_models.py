"""Fill models on hand-computed bars, then invariants on random bars.

Bars here are written ``bar(open, high, low, close, volume)``; every expected
price is worked out in the comment next to it.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.domain.bar import Bar
from alphagate.domain.orders import Liquidity, OrderRequest, OrderType, Side
from alphagate.execution.fill_models import (
    CloseFill,
    ConservativeFill,
    FillDecision,
    FillModel,
    NextOpenFill,
    WorkingOrder,
)
from alphagate.execution.market_history import NO_HISTORY, BarHistory, MarketState

T0 = pd.Timestamp("2024-03-04 21:00", tz="UTC")
NEXT_OPEN = NextOpenFill()
CLOSE = CloseFill()
NO_COST = ConservativeFill(0.0, 0.0, 0.0, None)


def bar(o: float, h: float, lo: float, c: float, v: float = 1e6, *, day: int = 0) -> Bar:
    return Bar("AAA", (T0 + pd.Timedelta(days=day)).value, o, h, lo, c, v)


def order(
    side: Side = Side.BUY,
    kind: OrderType = OrderType.MARKET,
    quantity: float = 100.0,
    *,
    limit: float | None = None,
    stop: float | None = None,
    triggered: bool = False,
) -> WorkingOrder:
    request = OrderRequest(
        client_order_id="o1",
        symbol="AAA",
        side=side,
        quantity=quantity,
        ts_init=T0.value,
        order_type=kind,
        limit_price=limit,
        stop_price=stop,
    )
    return WorkingOrder(request, quantity, triggered)


def fill(
    model: FillModel, o: WorkingOrder, b: Bar, market: MarketState = NO_HISTORY
) -> FillDecision:
    decision = model.fill(o, b, market)
    assert decision is not None
    return decision


def assert_decomposes(o: WorkingOrder, d: FillDecision) -> None:
    """price == reference + sign * (slippage + impact), the identity every decision keeps."""
    sign = o.request.side.sign
    assert d.price == pytest.approx(d.reference_price + sign * (d.slippage + d.impact))


# --------------------------------------------------------------------------- market orders


def test_next_open_fills_a_market_buy_at_the_open_with_no_cost() -> None:
    d = fill(NEXT_OPEN, order(), bar(100, 105, 95, 102))
    assert (d.price, d.quantity, d.reference_price, d.slippage, d.impact) == (100, 100, 100, 0, 0)
    assert (d.liquidity, d.at_open) == (Liquidity.TAKER, True)


def test_close_fill_fills_a_market_sell_at_the_close() -> None:
    d = fill(CLOSE, order(Side.SELL), bar(100, 105, 95, 102))
    assert (d.price, d.reference_price, d.at_open) == (102, 102, False)


def test_conservative_market_buy_pays_half_spread_slippage_and_square_root_impact() -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None)
    market = MarketState(volatility=0.02, average_volume=10_000)
    d = fill(model, order(quantity=100), bar(100, 105, 95, 102), market)
    # half spread 5 bps + slippage 5 bps = 10 bps of 100 = 0.10;
    # impact = 1.0 * 0.02 * sqrt(100 / 10 000) * 100 = 0.20; price = 100 + 0.10 + 0.20.
    assert d.price == pytest.approx(100.30)
    assert d.reference_price == 100
    assert d.slippage == pytest.approx(0.10)
    assert d.impact == pytest.approx(0.20)


def test_conservative_market_sell_receives_less_by_the_same_amounts() -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None)
    market = MarketState(volatility=0.02, average_volume=10_000)
    d = fill(model, order(Side.SELL), bar(100, 105, 95, 102), market)
    # 100 - 0.10 - 0.20; slippage and impact are positive, i.e. adverse, for a sell too.
    assert d.price == pytest.approx(99.70)
    assert (d.slippage, d.impact) == (pytest.approx(0.10), pytest.approx(0.20))


def test_conservative_impact_is_zero_until_the_symbol_has_history() -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None)
    d = fill(model, order(), bar(100, 105, 95, 102), NO_HISTORY)
    assert (d.price, d.impact) == (pytest.approx(100.10), 0.0)


def test_participation_cap_fills_at_most_its_share_of_the_bar_volume() -> None:
    model = ConservativeFill(0, 0, 0, participation_cap=0.1)
    # 10 % of 1 000 = 100 of the 250 wanted.
    assert fill(model, order(quantity=250), bar(100, 101, 99, 100, v=1_000)).quantity == 100
    # A bar of 10 000 lets the whole 250 through.
    assert fill(model, order(quantity=250), bar(100, 101, 99, 100, v=10_000)).quantity == 250


def test_impact_is_capped_at_max_impact_of_the_price() -> None:
    model = ConservativeFill(0, 0, impact_k=1.0, participation_cap=None, max_impact=0.05)
    market = MarketState(volatility=0.5, average_volume=1.0)
    # Uncapped: 1.0 * 0.5 * sqrt(100 / 1) = 500 % of the price; capped at 5 % of 100 = 5.
    d = fill(model, order(Side.SELL), bar(100, 105, 95, 102), market)
    assert (d.price, d.impact) == (pytest.approx(95.0), pytest.approx(5.0))


def test_a_zero_volume_bar_fills_nothing_under_a_participation_cap() -> None:
    model = ConservativeFill(0, 0, 0, participation_cap=0.1)
    assert model.fill(order(), bar(100, 101, 99, 100, v=0), NO_HISTORY) is None


# --------------------------------------------------------------------------- limits


def test_a_limit_buy_the_bar_does_not_reach_does_not_fill() -> None:
    assert (
        NEXT_OPEN.fill(order(kind=OrderType.LIMIT, limit=94), bar(100, 105, 95, 102), NO_HISTORY)
        is None
    )


def test_a_limit_buy_the_range_reaches_fills_at_the_limit_as_a_maker() -> None:
    o = order(kind=OrderType.LIMIT, limit=97)
    d = fill(NEXT_OPEN, o, bar(100, 105, 95, 102))
    assert (d.price, d.reference_price, d.slippage, d.liquidity) == (97, 97, 0, Liquidity.MAKER)
    assert not d.at_open


def test_a_limit_buy_gapped_below_fills_at_the_better_open() -> None:
    o = order(kind=OrderType.LIMIT, limit=97)
    d = fill(NEXT_OPEN, o, bar(94, 96, 93, 95))
    # Opened at 94 under the 97 limit: filled at 94, 3 better than the limit (slippage -3).
    assert (d.price, d.reference_price, d.slippage, d.liquidity) == (94, 97, -3, Liquidity.TAKER)
    assert d.at_open


def test_a_limit_sell_touched_at_the_high_fills_for_next_open_but_not_for_conservative() -> None:
    o = order(Side.SELL, OrderType.LIMIT, limit=105)
    b = bar(100, 105, 95, 102)
    assert fill(NEXT_OPEN, o, b).price == 105
    assert NO_COST.fill(o, b, NO_HISTORY) is None  # touched, not traded through
    assert fill(NO_COST, o, bar(100, 105.01, 95, 102)).price == 105


def test_conservative_limit_gapped_through_fills_at_the_limit_not_the_open() -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None)
    d = fill(model, order(kind=OrderType.LIMIT, limit=97), bar(94, 96, 93, 95))
    assert (d.price, d.reference_price, d.slippage, d.impact) == (97, 97, 0, 0)
    assert d.liquidity is Liquidity.TAKER


# --------------------------------------------------------------------------- stops


def test_a_stop_sell_gapped_through_fills_at_the_open_and_counts_the_gap_as_slippage() -> None:
    o = order(Side.SELL, OrderType.STOP, stop=95)
    d = fill(NEXT_OPEN, o, bar(90, 92, 88, 91))
    # Opened at 90, under the 95 stop: sold at 90, 5 worse than the stop.
    assert (d.price, d.reference_price, d.slippage, d.at_open) == (90, 95, 5, True)


def test_a_stop_sell_the_range_reaches_fills_at_the_stop() -> None:
    d = fill(NEXT_OPEN, order(Side.SELL, OrderType.STOP, stop=95), bar(100, 101, 94, 96))
    assert (d.price, d.reference_price, d.slippage, d.at_open) == (95, 95, 0, False)


def test_a_stop_buy_the_range_does_not_reach_does_not_fill() -> None:
    assert (
        NEXT_OPEN.fill(order(kind=OrderType.STOP, stop=106), bar(100, 105, 95, 102), NO_HISTORY)
        is None
    )


def test_conservative_stop_sell_gapped_fills_below_the_open_by_its_costs() -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=1.0, participation_cap=None)
    d = fill(model, order(Side.SELL, OrderType.STOP, stop=95), bar(90, 92, 88, 91))
    # 90 * (1 - 0.0010) = 89.91, no impact without history; 5.09 below the stop.
    assert d.price == pytest.approx(89.91)
    assert (d.reference_price, d.slippage) == (95, pytest.approx(5.09))


def test_a_triggered_stop_remainder_is_a_market_order() -> None:
    d = fill(
        NEXT_OPEN, order(Side.SELL, OrderType.STOP, stop=95, triggered=True), bar(99, 100, 98, 99)
    )
    assert (d.price, d.reference_price) == (99, 99)


def test_a_stop_limit_triggered_inside_the_bar_fills_at_the_stop_when_within_its_limit() -> None:
    o = order(kind=OrderType.STOP_LIMIT, stop=101, limit=102)
    d = fill(NEXT_OPEN, o, bar(100, 103, 99, 102))
    assert (d.price, d.reference_price, d.liquidity) == (101, 101, Liquidity.TAKER)


def test_a_stop_limit_gapped_past_its_limit_fills_at_the_limit_if_the_bar_comes_back() -> None:
    o = order(kind=OrderType.STOP_LIMIT, stop=101, limit=102)
    # Triggered at the open (104), above the limit; the whole bar is after the trigger
    # and its low of 101.5 reaches 102.
    d = fill(NEXT_OPEN, o, bar(104, 105, 101.5, 103))
    assert (d.price, d.reference_price, d.liquidity) == (102, 102, Liquidity.MAKER)


def test_a_stop_limit_triggered_inside_the_bar_above_its_limit_waits() -> None:
    o = order(kind=OrderType.STOP_LIMIT, stop=101, limit=100.5)
    # Triggered at 101 inside the bar; whether the 99 low came after is unknown.
    assert NEXT_OPEN.fill(o, bar(100, 103, 99, 102), NO_HISTORY) is None
    # Once triggered it is a plain limit at 100.5.
    triggered = order(kind=OrderType.STOP_LIMIT, stop=101, limit=100.5, triggered=True)
    assert fill(NEXT_OPEN, triggered, bar(102, 103, 100, 101)).price == 100.5


# --------------------------------------------------------------------------- history


def test_bar_history_gives_the_sample_deviation_of_log_returns_and_mean_volume() -> None:
    history = BarHistory(window=2)
    assert history.state("AAA") == NO_HISTORY
    history.observe(bar(100, 100, 100, 100, v=1_000, day=0))
    assert history.state("AAA") == MarketState(None, 1_000)
    history.observe(bar(105, 105, 105, 105, v=2_000, day=1))
    history.observe(bar(100, 100, 100, 100, v=3_000, day=2))
    # Returns +ln 1.05 and -ln 1.05: mean 0, sample variance 2 (ln 1.05)^2 / 1.
    # Volume over the last two bars: (2 000 + 3 000) / 2.
    state = history.state("AAA")
    assert state.volatility == pytest.approx(math.log(1.05) * math.sqrt(2))
    assert state.average_volume == 2_500


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spread_bps": -1.0},
        {"slippage_bps": math.nan},
        {"impact_k": -0.1},
        {"participation_cap": 0.0},
        {"participation_cap": 1.5},
        {"adv_window": 1},
        {"spread_bps": 20_000.0},
        {"max_impact": 1.0},
    ],
)
def test_conservative_fill_refuses_nonsense_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="ConservativeFill"):
        ConservativeFill(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    low = draw(st.floats(1.0, 1_000.0))
    high = low * draw(st.floats(1.0, 1.2))
    o = draw(st.floats(low, high))
    c = draw(st.floats(low, high))
    return Bar("AAA", T0.value, o, high, low, c, draw(st.floats(0.0, 1e6)))


@st.composite
def working_orders(draw: st.DrawFn) -> WorkingOrder:
    kind = draw(st.sampled_from(OrderType))
    price = draw(st.floats(1.0, 1_200.0))
    other = price * draw(st.floats(0.9, 1.1))
    return order(
        draw(st.sampled_from(Side)),
        kind,
        draw(st.floats(1.0, 1e4)),
        limit=price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop=other if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
        triggered=draw(st.booleans()),
    )


MARKETS = st.builds(
    MarketState,
    st.none() | st.floats(0.0, 0.1),
    st.none() | st.floats(1.0, 1e7),
)


@settings(max_examples=300, deadline=None)
@given(b=bars(), side=st.sampled_from(Side))
def test_next_open_and_close_fill_market_orders_inside_the_bar_range(b: Bar, side: Side) -> None:
    for model in (NEXT_OPEN, CLOSE):
        d = fill(model, order(side), b)
        assert b.low <= d.price <= b.high


@settings(max_examples=300, deadline=None)
@given(b=bars(), o=working_orders())
def test_touch_fills_lie_in_the_bar_range_and_respect_the_limit(b: Bar, o: WorkingOrder) -> None:
    for model in (NEXT_OPEN, CLOSE):
        d = model.fill(o, b, NO_HISTORY)
        if d is None:
            continue
        assert b.low <= d.price <= b.high
        assert_decomposes(o, d)
        limit = o.request.limit_price
        if limit is not None:
            assert o.request.side.sign * (d.price - limit) <= 1e-12 * limit


@settings(max_examples=300, deadline=None)
@given(b=bars(), o=working_orders(), market=MARKETS)
def test_conservative_buys_pay_at_least_the_reference_and_sells_receive_at_most(
    b: Bar, o: WorkingOrder, market: MarketState
) -> None:
    model = ConservativeFill(spread_bps=10, slippage_bps=5, impact_k=0.5, participation_cap=0.2)
    d = model.fill(o, b, market)
    if d is None:
        return
    assert_decomposes(o, d)
    assert 0 < d.quantity <= o.quantity
    assert d.quantity <= 0.2 * b.volume * (1 + 1e-12)
    assert d.slippage >= 0 and d.impact >= 0
    assert o.request.side.sign * (d.price - d.reference_price) >= 0
