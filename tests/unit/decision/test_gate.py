"""Gates on hand-computed numbers: the barrier multiplier, the blocking gates, their combination."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.decision.gate import (
    GateResult,
    GateSettings,
    apply_gates,
    barrier_gate,
    freshness_gate,
    spread_gate,
)

SETTINGS = GateSettings(gamma=2.0, delta=1.0, g_min=0.1, max_spread_bps=15.0, max_quote_age=5.0)


def test_barrier_gate_multiplies_the_peak_and_valley_factors() -> None:
    # (1 - 0.2)^2 = 0.64; (0.5 + 0.5*0.6)^1 = 0.8; 0.64 * 0.8 = 0.512 > g_min 0.1.
    assert barrier_gate(0.2, 0.6, gamma=2.0, delta=1.0, g_min=0.1) == pytest.approx(0.512)


def test_barrier_gate_never_falls_below_its_floor() -> None:
    # (1 - 0.9)^1 * (0.5 + 0)^1 = 0.05, below g_min 0.2: the floor wins.
    assert barrier_gate(0.9, 0.0, gamma=1.0, delta=1.0, g_min=0.2) == 0.2


def test_barrier_gate_lets_a_position_through_fully_at_a_certain_valley() -> None:
    # (1 - 0)^3 * (0.5 + 0.5*1)^2 = 1.
    assert barrier_gate(0.0, 1.0, gamma=3.0, delta=2.0, g_min=0.0) == 1.0


def test_barrier_gate_with_zero_exponents_is_switched_off() -> None:
    # x^0 = 1 for both factors, even for a certain peak: 0^0 = 1.
    assert barrier_gate(1.0, 0.0, gamma=0.0, delta=0.0, g_min=0.0) == 1.0


def test_barrier_gate_rejects_a_probability_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="p_peak"):
        barrier_gate(1.2, 0.5, gamma=1.0, delta=1.0, g_min=0.0)
    with pytest.raises(ValueError, match="p_valley"):
        barrier_gate(0.5, math.nan, gamma=1.0, delta=1.0, g_min=0.0)


@settings(max_examples=200, deadline=None)
@given(
    p_peak=st.floats(0.0, 1.0),
    p_valley=st.floats(0.0, 1.0),
    gamma=st.floats(0.0, 10.0),
    delta=st.floats(0.0, 10.0),
    g_min=st.floats(0.0, 1.0),
)
def test_barrier_gate_always_lies_between_its_floor_and_one(
    p_peak: float, p_valley: float, gamma: float, delta: float, g_min: float
) -> None:
    g = barrier_gate(p_peak, p_valley, gamma=gamma, delta=delta, g_min=g_min)
    assert g_min <= g <= 1.0


def test_spread_gate_passes_up_to_and_including_the_maximum() -> None:
    assert spread_gate(10.0, 15.0)
    assert spread_gate(15.0, 15.0)
    assert not spread_gate(15.5, 15.0)


def test_spread_gate_blocks_an_unknown_or_crossed_spread() -> None:
    assert not spread_gate(math.nan, 15.0)
    assert not spread_gate(-1.0, 15.0)


def test_freshness_gate_passes_quotes_no_older_than_the_maximum() -> None:
    assert freshness_gate(3.0, 5.0)
    assert freshness_gate(5.0, 5.0)
    assert not freshness_gate(6.0, 5.0)


def test_freshness_gate_blocks_a_quote_from_the_future_or_of_unknown_age() -> None:
    assert not freshness_gate(-1.0, 5.0)
    assert not freshness_gate(math.nan, 5.0)


def test_apply_gates_blocks_a_stale_quote_and_names_the_freshness_gate() -> None:
    result = apply_gates(SETTINGS, spread_bps=10.0, quote_age=6.0, p_peak=0.2, p_valley=0.6)
    assert result.multiplier == 0.0
    assert result.blocked
    assert result.reason is not None
    assert result.reason.startswith("freshness")


def test_apply_gates_blocks_a_wide_spread_and_names_the_spread_gate() -> None:
    result = apply_gates(SETTINGS, spread_bps=20.0, quote_age=1.0)
    assert result.multiplier == 0.0
    assert result.blocked
    assert result.reason is not None
    assert result.reason.startswith("spread")


def test_apply_gates_reports_freshness_first_when_both_blocking_gates_fail() -> None:
    result = apply_gates(SETTINGS, spread_bps=20.0, quote_age=6.0)
    assert result.reason is not None
    assert result.reason.startswith("freshness")


def test_apply_gates_passes_the_barrier_multiplier_when_nothing_blocks() -> None:
    # Same numbers as the first test: 0.64 * 0.8 = 0.512.
    result = apply_gates(SETTINGS, spread_bps=10.0, quote_age=1.0, p_peak=0.2, p_valley=0.6)
    assert result.multiplier == pytest.approx(0.512)
    assert not result.blocked
    assert result.reason is None


def test_apply_gates_without_turning_point_models_keeps_the_whole_position() -> None:
    result = apply_gates(SETTINGS, spread_bps=10.0, quote_age=1.0)
    assert result == GateResult(multiplier=1.0, blocked=False, reason=None)


def test_apply_gates_refuses_a_peak_probability_without_a_valley_one() -> None:
    with pytest.raises(ValueError, match="together"):
        apply_gates(SETTINGS, spread_bps=10.0, quote_age=1.0, p_peak=0.2)
