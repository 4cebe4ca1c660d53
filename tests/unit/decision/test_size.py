"""Sizing on hand-computed numbers: vol scaling, Kelly, Bayesian Kelly, the band, the gross."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphagate.decision.size import (
    BayesianKelly,
    kelly_fraction,
    no_trade_band,
    normalise_gross,
    vol_scaled_weight,
)

# --- vol_scaled_weight --------------------------------------------------------------------------


def test_vol_scaled_weight_maps_the_signal_to_noise_ratio_linearly_inside_the_clip() -> None:
    # z = 0.01 / 0.02 = 0.5; w = (0.5 / 2) * 0.1 = 0.025.
    assert vol_scaled_weight(0.01, 0.02, z_max=2.0, max_weight=0.1) == pytest.approx(0.025)


def test_vol_scaled_weight_clips_an_extreme_signal_at_the_maximum_weight() -> None:
    # z = 0.1 / 0.02 = 5, clipped to 2: w = (2 / 2) * 0.1 = 0.1; mirrored for a short.
    assert vol_scaled_weight(0.1, 0.02, z_max=2.0, max_weight=0.1) == 0.1
    assert vol_scaled_weight(-0.1, 0.02, z_max=2.0, max_weight=0.1) == -0.1


@pytest.mark.parametrize("sigma", [0.0, -0.01, math.nan])
def test_vol_scaled_weight_is_zero_without_a_positive_volatility(sigma: float) -> None:
    assert vol_scaled_weight(0.01, sigma, z_max=2.0, max_weight=0.1) == 0.0


@settings(max_examples=300, deadline=None)
@given(
    alpha=st.floats(-1e6, 1e6),
    sigma=st.floats(-1.0, 1e3),
    z_max=st.floats(1e-3, 10.0),
    max_weight=st.floats(0.0, 5.0),
)
def test_vol_scaled_weight_never_exceeds_the_maximum_weight(
    alpha: float, sigma: float, z_max: float, max_weight: float
) -> None:
    w = vol_scaled_weight(alpha, sigma, z_max=z_max, max_weight=max_weight)
    assert -max_weight <= w <= max_weight


# --- kelly_fraction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "payoff", "expected"),
    [
        (0.6, 1.0, 0.2),  # 0.6 - 0.4/1 = 0.2
        (0.5, 2.0, 0.25),  # 0.5 - 0.5/2 = 0.25
        (0.3, 3.0, 0.3 - 0.7 / 3.0),  # 0.3 - 0.2333... = 0.0666...
        (0.4, 1.0, -0.2),  # 0.4 - 0.6/1 = -0.2: no edge on this side, kept signed
    ],
)
def test_kelly_fraction_is_the_closed_form_p_minus_q_over_b(
    p: float, payoff: float, expected: float
) -> None:
    assert kelly_fraction(p, payoff) == pytest.approx(expected)


def test_kelly_fraction_maximises_the_expected_log_growth() -> None:
    # E[log] = p*log(1 + b*f) + (1 - p)*log(1 - f) is highest at f* = 0.25 for p = 0.5, b = 2.
    def growth(f: float) -> float:
        return 0.5 * math.log(1 + 2 * f) + 0.5 * math.log(1 - f)

    f_star = kelly_fraction(0.5, 2.0)
    assert growth(f_star) > growth(f_star - 0.01)
    assert growth(f_star) > growth(f_star + 0.01)


def test_kelly_fraction_rejects_a_non_positive_payoff() -> None:
    with pytest.raises(ValueError, match="payoff"):
        kelly_fraction(0.6, 0.0)


# --- BayesianKelly ------------------------------------------------------------------------------


def test_record_outcome_adds_a_win_to_alpha_and_a_loss_to_beta_in_a_new_value() -> None:
    prior = BayesianKelly(prior_alpha=1.0, prior_beta=1.0)
    after_win = prior.record_outcome(won=True)
    after_loss = prior.record_outcome(won=False)
    assert (after_win.alpha, after_win.beta) == (2.0, 1.0)
    assert (after_loss.alpha, after_loss.beta) == (1.0, 2.0)
    assert (prior.alpha, prior.beta) == (1.0, 1.0)  # the original is unchanged


def test_posterior_mean_and_std_are_those_of_the_beta_distribution() -> None:
    posterior = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, wins=1)
    # Beta(2, 1): mean 2/3; variance 2*1 / (3^2 * 4) = 1/18; std = sqrt(1/18) = 0.2357.
    assert posterior.mean == pytest.approx(2 / 3)
    assert posterior.std == pytest.approx(math.sqrt(1 / 18))


def test_effective_probability_counts_the_model_as_pseudo_outcomes() -> None:
    kelly = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, model_weight=10.0)
    # (10*0.7 + 1) / (10 + 1 + 1) = 8/12 = 0.6667.
    assert kelly.effective_probability(0.7) == pytest.approx(8 / 12)


def test_fraction_is_scaled_kelly_on_the_effective_probability_shrunk_by_uncertainty() -> None:
    kelly = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, model_weight=10.0)
    # p_eff = 8/12 = 2/3; f* = 2/3 - (1/3)/1 = 1/3.
    # Beta(1, 1) std = sqrt(1/(4*3)) = 0.288675; factor = 1 - 0.288675/0.5 = 0.422650.
    # f = 0.5 * 1/3 * 0.422650 = 0.070442.
    expected = 0.5 * (1 / 3) * (1 - math.sqrt(1 / 12) / 0.5)
    assert kelly.fraction(0.7, payoff=1.0) == pytest.approx(expected)
    assert kelly.fraction(0.7, payoff=1.0) == pytest.approx(0.070442, abs=1e-6)


def test_more_evidence_at_the_same_win_rate_raises_the_fraction() -> None:
    short_record = BayesianKelly(prior_alpha=1.0, prior_beta=1.0)
    long_record = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, wins=9, losses=9)
    # Both: p_eff = 0.5 (p_model = 0.5, posterior mean 0.5); f* = 0.5 - 0.5/2 = 0.25.
    # Beta(1, 1): std = sqrt(1/12) = 0.288675 -> f = 0.5 * 0.25 * 0.422650 = 0.052831.
    # Beta(10, 10): std = sqrt(100/(400*21)) = 0.109109 -> f = 0.125 * 0.781782 = 0.097723.
    assert short_record.fraction(0.5, payoff=2.0) == pytest.approx(0.052831, abs=1e-6)
    assert long_record.fraction(0.5, payoff=2.0) == pytest.approx(0.097723, abs=1e-6)


def test_a_win_raises_the_fraction_and_a_loss_lowers_it() -> None:
    start = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, model_weight=10.0)
    # Beta(1, 1): p_eff = 7/12 = 0.583333; f* = 0.166667; f = 0.5 * 0.166667 * 0.422650 = 0.035221.
    # Beta(2, 1): p_eff = 8/13 = 0.615385; f* = 0.230769; std = sqrt(2/36) = 0.235702;
    #   factor = 1 - 0.471405 = 0.528595; f = 0.5 * 0.230769 * 0.528595 = 0.060992.
    # Beta(1, 2): p_eff = 7/13 = 0.538462; f* = 0.076923; f = 0.5 * 0.076923 * 0.528595 = 0.020331.
    assert start.fraction(0.6, payoff=1.0) == pytest.approx(0.035221, abs=1e-6)
    assert start.record_outcome(won=True).fraction(0.6, payoff=1.0) == pytest.approx(
        0.060992, abs=1e-6
    )
    assert start.record_outcome(won=False).fraction(0.6, payoff=1.0) == pytest.approx(
        0.020331, abs=1e-6
    )


def test_a_long_losing_record_overrules_a_confident_model() -> None:
    record = BayesianKelly(prior_alpha=1.0, prior_beta=1.0, losses=100, model_weight=10.0)
    # p_eff = (10*0.6 + 1) / (10 + 1 + 101) = 7/112 = 0.0625: f* < 0, floored at 0.
    assert record.effective_probability(0.6) == pytest.approx(0.0625)
    assert record.fraction(0.6, payoff=1.0) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    kelly=st.builds(
        BayesianKelly,
        prior_alpha=st.floats(0.1, 50.0),
        prior_beta=st.floats(0.1, 50.0),
        wins=st.integers(0, 500),
        losses=st.integers(0, 500),
        model_weight=st.floats(0.0, 100.0),
    ),
    p_model=st.floats(0.0, 1.0),
)
def test_every_win_raises_and_every_loss_lowers_the_effective_probability(
    kelly: BayesianKelly, p_model: float
) -> None:
    p_eff = kelly.effective_probability(p_model)
    assert kelly.record_outcome(won=True).effective_probability(p_model) > p_eff
    assert kelly.record_outcome(won=False).effective_probability(p_model) < p_eff


# --- no_trade_band and normalise_gross ----------------------------------------------------------


def test_no_trade_band_keeps_the_current_weight_for_a_small_change() -> None:
    # |0.12 - 0.10| = 0.02 < 0.05: not worth trading.
    assert no_trade_band(0.10, 0.12, band=0.05) == 0.10


def test_no_trade_band_moves_to_the_target_for_a_change_at_least_the_band() -> None:
    # |0.20 - 0.10| = 0.10 >= 0.05; |0.5 - 0| = 0.5 is not < 0.5.
    assert no_trade_band(0.10, 0.20, band=0.05) == 0.20
    assert no_trade_band(0.0, 0.5, band=0.5) == 0.5


def test_normalise_gross_scales_every_weight_by_the_same_factor() -> None:
    # gross = 0.6 + 0.9 = 1.5 > 1.0; scale = 1/1.5 = 2/3: 0.6 -> 0.4, -0.9 -> -0.6.
    scaled = normalise_gross({"a": 0.6, "b": -0.9}, max_gross=1.0)
    assert scaled == pytest.approx({"a": 0.4, "b": -0.6})


def test_normalise_gross_leaves_a_book_within_the_limit_alone() -> None:
    # gross = 0.3 + 0.2 = 0.5 <= 1.0.
    assert normalise_gross({"a": 0.3, "b": -0.2}, max_gross=1.0) == {"a": 0.3, "b": -0.2}


@settings(max_examples=300, deadline=None)
@given(
    weights=st.dictionaries(st.text(min_size=1, max_size=3), st.floats(-10.0, 10.0), max_size=8),
    max_gross=st.floats(0.0, 5.0),
)
def test_normalise_gross_never_raises_a_weight_and_respects_the_limit(
    weights: dict[str, float], max_gross: float
) -> None:
    scaled = normalise_gross(weights, max_gross)
    assert scaled.keys() == weights.keys()
    assert all(abs(scaled[k]) <= abs(w) for k, w in weights.items())
    if math.fsum(abs(w) for w in weights.values()) > max_gross:
        assert math.fsum(abs(w) for w in scaled.values()) <= max_gross
    else:
        assert scaled == weights
