"""Protection on hand-computed numbers: ATR stops, Fibonacci levels, snapping, the recent swing."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.decision.protect import (
    FIBONACCI_RATIOS,
    Stops,
    atr_stops,
    fibonacci_levels,
    recent_swing,
    snap_to_fibonacci,
)


def test_a_long_stop_sits_below_entry_and_its_target_above() -> None:
    # 100 - 1.5*2 = 97; 100 + 3*2 = 106.
    assert atr_stops(100.0, 2.0, 1, stop_mult=1.5, take_mult=3.0) == Stops(97.0, 106.0)


def test_a_short_stop_sits_above_entry_and_its_target_below() -> None:
    # 100 + 1.5*2 = 103; 100 - 3*2 = 94.
    assert atr_stops(100.0, 2.0, -1, stop_mult=1.5, take_mult=3.0) == Stops(103.0, 94.0)


def test_atr_stops_reject_a_side_that_is_not_plus_or_minus_one() -> None:
    with pytest.raises(ValueError, match="side"):
        atr_stops(100.0, 2.0, 0, stop_mult=1.5, take_mult=3.0)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    entry=st.floats(0.01, 1e6),
    atr=st.floats(1e-4, 1e3),
    side=st.sampled_from([1, -1]),
    stop_mult=st.floats(0.1, 10.0),
    take_mult=st.floats(0.1, 10.0),
)
def test_atr_stops_always_bracket_the_entry_on_the_side_of_the_position(
    entry: float, atr: float, side: Literal[1, -1], stop_mult: float, take_mult: float
) -> None:
    stops = atr_stops(entry, atr, side, stop_mult=stop_mult, take_mult=take_mult)
    if side == 1:
        assert stops.stop_loss < entry < stops.take_profit
    else:
        assert stops.take_profit < entry < stops.stop_loss


def test_fibonacci_levels_retrace_down_from_the_high_of_a_move_up() -> None:
    # span = 120 - 100 = 20; level = 120 - r*20.
    levels = fibonacci_levels(120.0, 100.0)
    assert levels == pytest.approx(
        {
            0.236: 115.28,  # 120 - 4.72
            0.382: 112.36,  # 120 - 7.64
            0.5: 110.0,  # 120 - 10
            0.618: 107.64,  # 120 - 12.36
            0.786: 104.28,  # 120 - 15.72
        }
    )


def test_fibonacci_levels_retrace_up_from_the_low_of_a_move_down() -> None:
    # level = 100 + r*20.
    levels = fibonacci_levels(120.0, 100.0, from_high=False)
    assert levels == pytest.approx(
        {0.236: 104.72, 0.382: 107.64, 0.5: 110.0, 0.618: 112.36, 0.786: 115.72}
    )


def test_fibonacci_levels_reject_a_high_below_the_low() -> None:
    with pytest.raises(ValueError, match="below"):
        fibonacci_levels(99.0, 100.0)


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(-1e6, 1e6),
    span=st.floats(0.0, 1e6),
    from_high=st.booleans(),
)
def test_fibonacci_levels_lie_between_the_swing_low_and_high(
    low: float, span: float, from_high: bool
) -> None:
    high = low + span
    levels = fibonacci_levels(high, low, from_high=from_high)
    assert tuple(levels) == FIBONACCI_RATIOS
    assert all(low <= level <= high for level in levels.values())


def test_snap_moves_a_price_to_the_nearest_level_within_reach() -> None:
    levels = fibonacci_levels(120.0, 100.0)
    # Nearest level to 107.9 is 107.64, |107.9 - 107.64| = 0.26 <= 0.5.
    assert snap_to_fibonacci(107.9, levels, max_distance=0.5) == pytest.approx(107.64)


def test_snap_leaves_a_price_alone_when_no_level_is_within_reach() -> None:
    levels = fibonacci_levels(120.0, 100.0)
    # Nearest level to 108.5 is 107.64, 0.86 away: more than 0.5.
    assert snap_to_fibonacci(108.5, levels, max_distance=0.5) == 108.5


def test_snap_breaks_a_tie_toward_the_lower_level() -> None:
    # 11 is 1 away from both 10 and 12.
    assert snap_to_fibonacci(11.0, {0.618: 12.0, 0.5: 10.0}, max_distance=2.0) == 10.0


def test_snap_with_no_levels_returns_the_price() -> None:
    assert snap_to_fibonacci(11.0, {}, max_distance=2.0) == 11.0


@settings(max_examples=200, deadline=None)
@given(
    price=st.floats(90.0, 130.0),
    max_distance=st.floats(0.0, 10.0),
)
def test_snap_never_moves_a_price_further_than_max_distance(
    price: float, max_distance: float
) -> None:
    snapped = snap_to_fibonacci(price, fibonacci_levels(120.0, 100.0), max_distance)
    assert abs(snapped - price) <= max_distance


HIGH = np.array([10.0, 12.0, 11.0, 15.0, 13.0])
LOW = np.array([8.0, 9.0, 7.0, 10.0, 11.0])


def test_recent_swing_takes_the_extremes_of_the_last_lookback_bars() -> None:
    # Last three bars: max(11, 15, 13) = 15, min(7, 10, 11) = 7.
    assert recent_swing(HIGH, LOW, 3) == (15.0, 7.0)


def test_recent_swing_at_t_reads_only_bars_up_to_t() -> None:
    # Bars 0..2: max(10, 12, 11) = 12, min(8, 9, 7) = 7.
    assert recent_swing(HIGH, LOW, 3, t=2) == (12.0, 7.0)
    # Changing later bars (even to NaN) cannot change the swing at t = 2.
    future_high, future_low = HIGH.copy(), LOW.copy()
    future_high[3:] = [1000.0, math.nan]
    future_low[3:] = [-1000.0, math.nan]
    assert recent_swing(future_high, future_low, 3, t=2) == (12.0, 7.0)


def test_recent_swing_refuses_fewer_bars_than_the_lookback() -> None:
    with pytest.raises(ValueError, match="lookback"):
        recent_swing(HIGH, LOW, 4, t=2)


def test_recent_swing_refuses_a_nan_inside_the_window() -> None:
    high = HIGH.copy()
    high[4] = math.nan
    with pytest.raises(ValueError, match="finite"):
        recent_swing(high, LOW, 3)
