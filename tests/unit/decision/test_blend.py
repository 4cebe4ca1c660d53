"""Tests for ridge risk-parity weights, the blend, and the disagreement penalty."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphagate.decision.blend import (
    blend,
    confidence_after_disagreement,
    disagreement,
    ridge_risk_parity_weights,
)


def test_with_identity_covariance_and_no_ridge_weights_follow_positive_expected_returns() -> None:
    w = ridge_risk_parity_weights(np.array([1.0, 2.0, -1.0]), np.eye(3), ridge=0.0)
    # I^-1 mu = (1, 2, -1) -> negatives to 0 -> (1, 2, 0) / 3
    np.testing.assert_allclose(w, [1 / 3, 2 / 3, 0.0], rtol=1e-12)


def test_a_large_ridge_pulls_weights_towards_positive_expected_returns() -> None:
    sigma = np.array([[1.0, 0.5], [0.5, 2.0]])
    w = ridge_risk_parity_weights(np.array([1.0, 3.0]), sigma, ridge=1e8)
    # (Sigma + lambda*I)^-1 mu ~ mu/lambda for lambda >> |Sigma| -> (1, 3)/4
    np.testing.assert_allclose(w, [0.25, 0.75], atol=1e-7)
    without = ridge_risk_parity_weights(np.array([1.0, 3.0]), sigma, ridge=0.0)
    # Sigma^-1 = [[2, -0.5], [-0.5, 1]] / 1.75; Sigma^-1 mu = (0.5, 2.5)/1.75 -> (1/6, 5/6)
    np.testing.assert_allclose(without, [1 / 6, 5 / 6], rtol=1e-12)


def test_two_correlated_signals_share_weight_instead_of_counting_twice() -> None:
    sigma = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 1.0]])
    w = ridge_risk_parity_weights(np.ones(3), sigma, ridge=0.0)
    # 2x2 block inverse: [[1, -0.8], [-0.8, 1]] / (1 - 0.64) -> times (1, 1) = (0.2, 0.2)/0.36
    # = (5/9, 5/9); the independent signal gets 1. Sum 19/9 -> (5/19, 5/19, 9/19)
    np.testing.assert_allclose(w, [5 / 19, 5 / 19, 9 / 19], rtol=1e-12)


def test_a_hedge_the_inverse_suggests_is_dropped_not_shorted() -> None:
    sigma = np.array([[1.0, 0.8], [0.8, 1.0]])
    w = ridge_risk_parity_weights(np.array([1.0, 0.5]), sigma, ridge=0.0)
    # Sigma^-1 mu = (1 - 0.4, -0.8 + 0.5)/0.36 = (0.6, -0.3)/0.36 -> (1, 0)
    np.testing.assert_allclose(w, [1.0, 0.0])


def test_temperature_sharpens_above_one_flattens_below_and_equalises_at_zero() -> None:
    mu, sigma = np.array([1.0, 3.0]), np.eye(2)  # base weights (0.25, 0.75)
    # T = 2: (1/16, 9/16) / (10/16) = (0.1, 0.9)
    np.testing.assert_allclose(ridge_risk_parity_weights(mu, sigma, 0.0, 2.0), [0.1, 0.9])
    # T = 0.5: (0.5, sqrt(0.75)) / (0.5 + sqrt(0.75)) -> first = 1/(1 + sqrt(3))
    half = ridge_risk_parity_weights(mu, sigma, 0.0, 0.5)
    np.testing.assert_allclose(half, [1 / (1 + math.sqrt(3)), math.sqrt(3) / (1 + math.sqrt(3))])
    # T = 0: equal, even for the signal whose weight was clipped to 0
    zero = ridge_risk_parity_weights(np.array([1.0, 2.0, -1.0]), np.eye(3), 0.0, 0.0)
    np.testing.assert_allclose(zero, [1 / 3, 1 / 3, 1 / 3])


def test_a_very_sharp_temperature_does_not_underflow_to_nothing() -> None:
    w = ridge_risk_parity_weights(np.array([1.0, 3.0]), np.eye(2), 0.0, 2000.0)
    # (1/3)^2000 underflows to 0 after dividing by the largest -> (0, 1)
    np.testing.assert_allclose(w, [0.0, 1.0])


def test_no_positive_expected_return_gives_equal_weights() -> None:
    w = ridge_risk_parity_weights(np.array([-1.0, 0.0, -2.0]), np.eye(3), ridge=0.1)
    np.testing.assert_allclose(w, [1 / 3, 1 / 3, 1 / 3])


def test_a_singular_covariance_without_ridge_uses_the_pseudo_inverse() -> None:
    w = ridge_risk_parity_weights(np.ones(2), np.ones((2, 2)), ridge=0.0)
    # pinv([[1, 1], [1, 1]]) = [[1, 1], [1, 1]]/4 -> times (1, 1) = (0.5, 0.5)
    np.testing.assert_allclose(w, [0.5, 0.5])


@pytest.mark.parametrize(
    ("mu", "sigma", "ridge", "temperature"),
    [
        (np.ones(2), np.eye(3), 0.0, 1.0),
        (np.array([1.0, math.nan]), np.eye(2), 0.0, 1.0),
        (np.ones(2), np.eye(2), -1.0, 1.0),
        (np.ones(2), np.eye(2), 0.0, -1.0),
    ],
)
def test_malformed_inputs_are_refused(
    mu: np.ndarray, sigma: np.ndarray, ridge: float, temperature: float
) -> None:
    with pytest.raises(ValueError):
        ridge_risk_parity_weights(mu, sigma, ridge, temperature)


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float]:
    k = draw(st.integers(1, 6))
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    mu = draw(arrays(np.float64, k, elements=unit))
    a = draw(arrays(np.float64, (k, k), elements=unit))
    ridge = draw(st.floats(0.0, 10.0))
    temperature = draw(st.floats(0.0, 5.0))
    return mu, a @ a.T, ridge, temperature


@settings(max_examples=200, deadline=None)
@given(problems())
def test_weights_are_non_negative_and_sum_to_one(
    problem: tuple[np.ndarray, np.ndarray, float, float],
) -> None:
    w = ridge_risk_parity_weights(*problem)
    assert np.all(np.isfinite(w))
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_the_blend_is_the_weighted_mean_and_disagreement_its_weighted_std() -> None:
    p, w = np.array([0.6, 0.4]), np.array([0.75, 0.25])
    # mean = 0.75*0.6 + 0.25*0.4 = 0.55
    assert blend(p, w) == pytest.approx(0.55, rel=1e-12)
    # deviations (0.05, -0.15): 0.75*0.0025 + 0.25*0.0225 = 0.0075 -> sqrt = 0.05*sqrt(3)
    assert disagreement(p, w) == pytest.approx(0.05 * math.sqrt(3), rel=1e-12)
    # weights are rescaled to sum 1: (3, 1) is the same as (0.75, 0.25)
    assert blend(p, np.array([3.0, 1.0])) == pytest.approx(0.55, rel=1e-12)
    assert disagreement(np.array([0.7, 0.7]), np.array([0.5, 0.5])) == 0.0


def test_disagreement_shrinks_confidence_linearly_to_zero_at_the_scale() -> None:
    assert confidence_after_disagreement(0.8, 0.05, 0.2) == pytest.approx(0.6)  # 0.8*(1-0.25)
    assert confidence_after_disagreement(0.8, 0.0, 0.2) == 0.8
    assert confidence_after_disagreement(0.8, 0.3, 0.2) == 0.0  # beyond the scale
    with pytest.raises(ValueError):
        confidence_after_disagreement(0.8, 0.1, 0.0)


def test_blend_refuses_mismatched_or_negative_weights() -> None:
    with pytest.raises(ValueError):
        blend(np.array([0.5, 0.6]), np.array([1.0]))
    with pytest.raises(ValueError):
        disagreement(np.array([0.5, 0.6]), np.array([1.5, -0.5]))
