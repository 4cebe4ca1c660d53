"""Orders that move a position to its target, and the stop-loss and take-profit that protect it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphagate.decision.position_orders import position_orders, protection_levels, target_quantity
from alphagate.decision.protect import Stops
from alphagate.decision.settings import ProtectStep
from alphagate.domain.orders import OrderType, TimeInForce
from alphagate.domain.strategy import OrderIntent

STOPS = Stops(stop_loss=95.0, take_profit=110.0)


def by_leg(orders: list[OrderIntent]) -> dict[str, OrderIntent]:
    return {o.leg: o for o in orders}


def test_opening_a_long_sends_an_entry_with_its_bracket_sized_to_the_entry() -> None:
    legs = by_leg(position_orders("AAA", 0.0, 10.0, STOPS))
    assert set(legs) == {"entry", "entry_stop", "entry_take"}
    assert legs["entry"].quantity == 10.0
    assert legs["entry"].order_type is OrderType.MARKET
    stop, take = legs["entry_stop"], legs["entry_take"]
    assert (stop.quantity, stop.order_type, stop.stop_price) == (-10.0, OrderType.STOP, 95.0)
    assert (take.quantity, take.order_type, take.limit_price) == (-10.0, OrderType.LIMIT, 110.0)
    for child in (stop, take):
        assert child.parent_leg == "entry"
        assert child.oco_group == "entry_bracket"
        assert child.time_in_force is TimeInForce.DAY
        assert not child.reduce_only


def test_holding_reissues_reduce_only_protection_of_the_whole_position() -> None:
    legs = by_leg(position_orders("AAA", 10.0, 10.0, STOPS))
    assert set(legs) == {"stop", "take"}
    assert legs["stop"].quantity == legs["take"].quantity == -10.0
    assert legs["stop"].reduce_only and legs["stop"].parent_leg is None
    assert legs["stop"].oco_group == legs["take"].oco_group == "bracket"


def test_adding_protects_the_kept_part_and_brackets_the_increase() -> None:
    legs = by_leg(position_orders("AAA", 10.0, 15.0, STOPS))
    assert legs["stop"].quantity == -10.0
    assert legs["entry"].quantity == 5.0
    assert legs["entry_stop"].quantity == -5.0


def test_reducing_sells_the_difference_and_protects_only_what_is_kept() -> None:
    legs = by_leg(position_orders("AAA", 10.0, 4.0, STOPS))
    assert set(legs) == {"exit", "stop", "take"}
    assert legs["exit"].quantity == -6.0 and legs["exit"].reduce_only
    assert legs["stop"].quantity == -4.0  # exit + stop can never sell more than the 10 held


def test_closing_sends_one_reduce_only_exit_and_no_protection() -> None:
    orders = position_orders("AAA", -7.0, 0.0, STOPS)
    assert [(o.leg, o.quantity, o.reduce_only) for o in orders] == [("exit", 7.0, True)]


def test_a_flip_closes_first_then_opens_the_new_side_with_its_bracket() -> None:
    short_stops = Stops(stop_loss=105.0, take_profit=90.0)
    legs = by_leg(position_orders("AAA", 10.0, -6.0, short_stops))
    assert set(legs) == {"exit", "entry", "entry_stop", "entry_take"}
    assert legs["exit"].quantity == -10.0
    assert legs["entry"].quantity == -6.0
    assert legs["entry_stop"].quantity == 6.0 and legs["entry_stop"].stop_price == 105.0


def test_without_protection_only_market_orders_move_the_position() -> None:
    orders = position_orders("AAA", 2.0, 5.0, None)
    assert [(o.leg, o.quantity, o.order_type) for o in orders] == [("entry", 3.0, OrderType.MARKET)]
    assert position_orders("AAA", 0.0, 0.0, None) == []


def test_atr_levels_are_multiples_of_the_atr_around_the_close() -> None:
    step = ProtectStep(stop_mult=2.0, take_mult=3.0)
    highs, lows = np.full(5, 101.0), np.full(5, 99.0)
    long = protection_levels(100.0, 1.5, 1, high=highs, low=lows, step=step)
    assert long == Stops(stop_loss=97.0, take_profit=104.5)
    short = protection_levels(100.0, 1.5, -1, high=highs, low=lows, step=step)
    assert short == Stops(stop_loss=103.0, take_profit=95.5)


def test_fibonacci_snapping_moves_a_level_only_within_the_allowed_distance() -> None:
    highs = np.array([100.0, 102.0, 104.0, 106.0, 108.0])
    lows = np.array([90.0, 95.0, 100.0, 103.0, 104.0])
    # Swing 90..108 retraced from the high: 108 - r * 18 = 103.752, 101.124, 99.0,
    # 96.876, 93.852. ATR levels: stop 97.0, take 104.5.
    near = ProtectStep(fibonacci=True, swing_lookback=5, snap_atr=0.5)  # moves up to 0.75
    stops = protection_levels(100.0, 1.5, 1, high=highs, low=lows, step=near)
    assert stops == Stops(stop_loss=pytest.approx(96.876), take_profit=pytest.approx(103.752))
    tight = ProtectStep(fibonacci=True, swing_lookback=5, snap_atr=0.05)  # up to 0.075
    assert protection_levels(100.0, 1.5, 1, high=highs, low=lows, step=tight) == Stops(97.0, 104.5)


def test_no_levels_without_an_atr_or_for_a_long_stop_below_zero() -> None:
    step = ProtectStep()
    highs, lows = np.ones(3), np.ones(3)
    assert protection_levels(100.0, math.nan, 1, high=highs, low=lows, step=step) is None
    assert protection_levels(1.0, 1.0, 1, high=highs, low=lows, step=step) is None


def test_a_target_quantity_rounds_toward_zero_in_whole_units() -> None:
    assert target_quantity(0.25, 10_000.0, 300.0, whole=False) == pytest.approx(2500 / 300)
    assert target_quantity(0.25, 10_000.0, 300.0, whole=True) == 8.0
    assert target_quantity(-0.25, 10_000.0, 300.0, whole=True) == -8.0
    assert target_quantity(0.25, 0.0, 300.0, whole=True) == 0.0
