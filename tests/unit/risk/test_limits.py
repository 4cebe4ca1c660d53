"""Pre-trade limits on hand-computed books: each accept or reject is one line of arithmetic.

The base book: equity 100 000, cash 50 000, long 100 AAA at 100 (10 000, weight
0.10) and short 200 BBB at 50 (-10 000), so gross 0.20 and net 0.00.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import pytest

from alphagate.domain.orders import OrderRequest, OrderType, Side
from alphagate.risk.events import Severity
from alphagate.risk.limits import PreTradeCheck, RiskDecision, RiskLimits, gross_and_net
from alphagate.testing import request_of

LIMITS = RiskLimits(
    max_position_weight=0.25,
    max_gross_exposure=1.5,
    max_net_exposure=1.0,
    max_order_notional=10_000.0,
    max_orders_per_day=20,
    price_collar_pct=0.05,
    min_cash=1_000.0,
)
TS = pd.Timestamp("2024-03-01 15:00", tz="UTC")


def _order(
    side: Side,
    qty: float,
    symbol: str = "AAA",
    *,
    limit_price: float | None = None,
    reduce_only: bool = False,
) -> OrderRequest:
    return request_of(
        f"ag-{side.value}-{symbol}-{qty}",
        symbol=symbol,
        side=side,
        quantity=qty,
        ts=TS,
        order_type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
        limit_price=limit_price,
        reduce_only=reduce_only,
    )


def _check(
    order: OrderRequest,
    *,
    price: float = 100.0,
    last_price: float = 100.0,
    equity: float = 100_000.0,
    cash: float = 50_000.0,
    positions: Mapping[str, float] | None = None,
    prices: Mapping[str, float] | None = None,
    orders_today: int = 0,
) -> RiskDecision:
    return PreTradeCheck(LIMITS).check(
        order,
        price=price,
        last_price=last_price,
        equity=equity,
        cash=cash,
        positions={"AAA": 100.0, "BBB": -200.0} if positions is None else positions,
        prices={"AAA": 100.0, "BBB": 50.0} if prices is None else prices,
        orders_today=orders_today,
    )


def _reason(decision: RiskDecision) -> str:
    assert not decision.accepted
    assert decision.event is not None
    return decision.event.reason


def test_an_order_inside_every_limit_is_accepted_without_an_event() -> None:
    # Buy 50 at 100: notional 5 000, AAA 150 * 100 = 15 000 -> weight 0.15.
    assert _check(_order(Side.BUY, 50)) == RiskDecision(accepted=True, event=None)


def test_a_position_weight_above_the_limit_is_rejected_naming_the_numbers() -> None:
    # Hold 300 AAA (0.30 already), buy 20 more: 320 * 100 / 100 000 = 0.32.
    decision = _check(_order(Side.BUY, 20), positions={"AAA": 300.0, "BBB": -200.0})
    assert _reason(decision) == "position weight 0.32 > max 0.25 for AAA"
    assert decision.event is not None
    assert decision.event.component == "pre_trade"
    assert decision.event.severity is Severity.WARNING
    assert decision.event.data["client_order_id"] == "ag-buy-AAA-20"


def test_a_weight_exactly_at_the_limit_passes() -> None:
    # Buy 150: notional 15 000 would break the notional limit, so raise it for this test.
    check = PreTradeCheck(
        RiskLimits(
            max_position_weight=0.25,
            max_gross_exposure=1.5,
            max_net_exposure=1.0,
            max_order_notional=20_000.0,
            max_orders_per_day=20,
            price_collar_pct=0.05,
        )
    )
    # 100 + 150 = 250 AAA * 100 = 25 000 / 100 000 = 0.25, not above 0.25.
    decision = check.check(
        _order(Side.BUY, 150),
        price=100.0,
        last_price=100.0,
        equity=100_000.0,
        cash=50_000.0,
        positions={"AAA": 100.0},
        prices={"AAA": 100.0},
        orders_today=0,
    )
    assert decision.accepted


def test_gross_exposure_above_the_limit_is_rejected() -> None:
    # Three longs and three shorts of 250 * 100 = 25 000 each: gross 1.50, net 0.
    book = {"L1": 250.0, "L2": 250.0, "L3": 250.0, "S1": -250.0, "S2": -250.0, "S3": -250.0}
    marks = dict.fromkeys(book, 100.0)
    # Buy 10 AAA at 100 adds 1 000: gross 151 000 / 100 000 = 1.51.
    decision = _check(_order(Side.BUY, 10), positions=book, prices=marks)
    assert _reason(decision) == "gross exposure 1.51 > max 1.50"


def test_net_exposure_above_the_limit_is_rejected() -> None:
    # Four longs of 25 000: net 1.00; buying 1 000 more makes it 1.01.
    book = {"L1": 250.0, "L2": 250.0, "L3": 250.0, "L4": 250.0}
    decision = _check(_order(Side.BUY, 10), positions=book, prices=dict.fromkeys(book, 100.0))
    assert _reason(decision) == "net exposure 1.01 > max 1.00"


def test_an_order_notional_above_the_limit_is_rejected() -> None:
    # 101 * 100 = 10 100 > 10 000 (weight 201 * 100 / 100 000 = 0.201 is fine).
    decision = _check(_order(Side.BUY, 101))
    assert _reason(decision) == "order notional 10100.00 > max 10000.00 for AAA"


def test_a_buy_that_would_leave_less_than_min_cash_is_rejected() -> None:
    # Cash 5 000 - 50 * 100 = 0 < 1 000.
    decision = _check(_order(Side.BUY, 50), cash=5_000.0)
    assert _reason(decision) == "cash after order 0.00 < min 1000.00"


def test_a_short_sale_brings_cash_in_and_passes_the_cash_check() -> None:
    # Selling 50 more BBB at 50 adds 2 500 cash: 5 000 -> 7 500; short 250 * 50 = 0.125 weight.
    assert _check(_order(Side.SELL, 50, "BBB"), price=50.0, last_price=50.0, cash=5_000.0).accepted


def test_the_daily_order_count_stops_new_risk_at_the_limit() -> None:
    assert _check(_order(Side.BUY, 10), orders_today=19).accepted
    decision = _check(_order(Side.BUY, 10), orders_today=20)
    assert _reason(decision) == "orders today 20 >= max 20"


def test_a_market_price_beyond_the_collar_is_rejected() -> None:
    # |106 - 100| / 100 = 6 % > 5 %.
    decision = _check(_order(Side.BUY, 10), price=106.0)
    assert _reason(decision) == "market price 106.00 is 6.0% from last 100.00 > collar 5.0% for AAA"


def test_a_limit_order_is_collared_at_its_limit_price() -> None:
    order = _order(Side.BUY, 10, limit_price=94.0)
    # |94 - 100| / 100 = 6 %, though the expected fill price is the last price.
    decision = _check(order, price=100.0)
    assert _reason(decision) == "limit price 94.00 is 6.0% from last 100.00 > collar 5.0% for AAA"
    inside = _order(Side.BUY, 10, limit_price=95.0)
    assert _check(inside).accepted  # exactly 5 %


def test_an_order_that_reduces_a_position_passes_every_exposure_limit() -> None:
    # Hold 300 AAA (weight 0.30, above 0.25) on a book breaking gross and net too.
    book = {"AAA": 300.0, "L1": 1_000.0, "L2": 1_000.0}  # gross 2.30, net 2.30
    marks = {"AAA": 100.0, "L1": 100.0, "L2": 100.0}
    # Sell 20: AAA 280 -> weight 0.28, still above the limit, but the order only shrinks it.
    assert _check(_order(Side.SELL, 20), positions=book, prices=marks).accepted
    # Sell 200 = 20 000 notional (> 10 000), with cash below the minimum and the day's
    # order count used up: risk reduction is never blocked.
    decision = _check(
        _order(Side.SELL, 200), positions=book, prices=marks, cash=0.0, orders_today=99
    )
    assert decision.accepted


def test_covering_a_short_is_a_reduction_too() -> None:
    # Short 200 BBB; buying 200 closes it exactly, whatever the cash.
    decision = _check(_order(Side.BUY, 200, "BBB"), price=50.0, last_price=50.0, cash=0.0)
    assert decision.accepted


def test_a_reducing_order_is_still_collared() -> None:
    decision = _check(_order(Side.SELL, 50), price=70.0)
    assert _reason(decision) == "market price 70.00 is 30.0% from last 100.00 > collar 5.0% for AAA"


def test_an_order_that_flips_a_position_is_not_a_reduction() -> None:
    # Long 100, sell 250: the position becomes short 150, so the order adds risk;
    # 250 * 100 = 25 000 > 10 000 notional.
    decision = _check(_order(Side.SELL, 250))
    assert _reason(decision) == "order notional 25000.00 > max 10000.00 for AAA"


def test_a_reduce_only_flag_on_an_order_that_would_flip_is_rejected() -> None:
    decision = _check(_order(Side.SELL, 150, reduce_only=True), positions={"AAA": 100.0})
    assert "reduce_only sell 150 would not shrink position 100 in AAA" in _reason(decision)


def test_every_violated_limit_is_named_in_one_reason() -> None:
    # 200 * 106 = 21 200 notional; weight 300 * 106 / 100 000 = 0.318; 6 % off last.
    decision = _check(_order(Side.BUY, 200), price=106.0, orders_today=20)
    assert _reason(decision).split("; ") == [
        "market price 106.00 is 6.0% from last 100.00 > collar 5.0% for AAA",
        "order notional 21200.00 > max 10000.00 for AAA",
        "position weight 0.32 > max 0.25 for AAA",
        "orders today 20 >= max 20",
    ]


def test_a_held_symbol_without_a_price_rejects_risk_adding_orders() -> None:
    decision = _check(_order(Side.BUY, 10), positions={"AAA": 100.0, "CCC": 5.0})
    assert _reason(decision) == "no price for held CCC; exposure unknown"


def test_a_bad_price_is_rejected_rather_than_trusted() -> None:
    assert _reason(_check(_order(Side.BUY, 10), price=math.nan)).startswith("invalid price nan")


def test_non_positive_equity_allows_no_new_risk() -> None:
    assert "equity -5.0 is not positive" in _reason(_check(_order(Side.BUY, 1), equity=-5.0))


def test_gross_and_net_are_fractions_of_equity() -> None:
    # 100 * 100 = 10 000 long, 200 * 50 = 10 000 short, equity 50 000.
    gross, net = gross_and_net({"AAA": 100.0, "BBB": -200.0}, {"AAA": 100.0, "BBB": 50.0}, 50_000)
    assert (gross, net) == pytest.approx((0.4, 0.0))


def test_limits_refuse_a_non_positive_bound() -> None:
    with pytest.raises(ValueError, match="max_gross_exposure"):
        RiskLimits(
            max_position_weight=0.25,
            max_gross_exposure=0.0,
            max_net_exposure=1.0,
            max_order_notional=1.0,
            max_orders_per_day=1,
            price_collar_pct=0.05,
        )
