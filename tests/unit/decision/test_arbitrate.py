"""Tests for the cost model and the choice of horizon net of cost."""

from __future__ import annotations

import math

import pytest

from alphagate.decision.arbitrate import HorizonChoice, choose_horizon, trade_cost


def test_the_cost_adds_spread_risk_over_the_horizon_and_square_root_impact() -> None:
    cost = trade_cost(0.001, 0.02, 20, 1e4, 1e6, k1=0.5, k2=0.1, k3=0.1)
    # 0.5*0.001 + 0.1*0.02*sqrt(20/5) + 0.1*sqrt(1e4/1e6) = 0.0005 + 0.004 + 0.01 = 0.0145
    assert cost == pytest.approx(0.0145, rel=1e-12)
    week = trade_cost(0.001, 0.02, 5, -1e4, 1e6, k1=0.5, k2=0.1, k3=0.1)
    # a sell of the same size: 0.0005 + 0.002*1 + 0.01 = 0.0125
    assert week == pytest.approx(0.0125, rel=1e-12)


@pytest.mark.parametrize(
    ("spread", "sigma", "horizon", "adv", "k1"),
    [
        (-0.1, 0.02, 5, 1e6, 1.0),
        (0.001, 0.02, 0, 1e6, 1.0),
        (0.001, 0.02, 5, 0.0, 1.0),
        (0.001, 0.02, 5, 1e6, -1.0),
    ],
)
def test_impossible_cost_inputs_are_refused(
    spread: float, sigma: float, horizon: int, adv: float, k1: float
) -> None:
    with pytest.raises(ValueError):
        trade_cost(spread, sigma, horizon, 1.0, adv, k1=k1, k2=1.0, k3=1.0)


def test_the_best_risk_adjusted_net_edge_wins_not_the_largest() -> None:
    expected = {1: 0.004, 5: 0.012, 20: 0.03}
    costs = {1: 0.001, 5: 0.004, 20: 0.02}
    # nets 0.003, 0.008, 0.010; scores 0.003/sqrt(0.2) = 0.006708, 0.008/1 = 0.008,
    # 0.010/sqrt(4) = 0.005 -> h = 5 although h = 20 nets more
    choice = choose_horizon(expected, costs)
    assert choice == HorizonChoice(
        horizon=5, expected=0.012, cost=0.004, net=pytest.approx(0.008), score=pytest.approx(0.008)
    )


def test_a_short_horizon_wins_when_its_edge_per_unit_risk_is_largest() -> None:
    choice = choose_horizon({1: 0.006, 5: 0.012}, {1: 0.001, 5: 0.004})
    # h=1: 0.005/sqrt(0.2) = 0.01118; h=5: 0.008 -> h = 1
    assert choice is not None
    assert choice.horizon == 1
    assert choice.score == pytest.approx(0.005 / math.sqrt(0.2), rel=1e-12)


def test_a_horizon_that_does_not_clear_its_cost_is_never_chosen() -> None:
    choice = choose_horizon({1: 0.002, 20: 0.03}, {1: 0.003, 20: 0.02})
    # h=1 nets 0.002 - 0.003 = -0.001 and is skipped; h=20 nets 0.01 -> 20
    assert choice is not None
    assert choice.horizon == 20


def test_no_horizon_is_chosen_when_every_net_edge_is_zero_or_negative() -> None:
    assert choose_horizon({1: 0.001, 5: 0.004, 20: 0.01}, {1: 0.002, 5: 0.004, 20: 0.02}) is None
    assert choose_horizon({}, {}) is None


def test_a_tie_in_score_goes_to_the_smaller_horizon() -> None:
    # h=5: net 0.25, score 0.25/1; h=20: net 0.5, score 0.5/sqrt(4) = 0.25 (exact in binary)
    choice = choose_horizon({20: 1.0, 5: 0.5}, {20: 0.5, 5: 0.25})
    assert choice is not None
    assert choice.horizon == 5


def test_expected_and_costs_must_name_the_same_horizons() -> None:
    with pytest.raises(ValueError):
        choose_horizon({1: 0.01, 5: 0.02}, {1: 0.001})
