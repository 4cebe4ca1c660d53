"""PSI and feature profiles, checked against the textbook formula and pandas' binning."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphagate.engine.drift import FeatureProfile, profile_features, psi


def textbook_psi(expected: np.ndarray, actual: np.ndarray, eps: float) -> float:
    """sum (a - e) ln(a / e), empty shares replaced by eps: written out independently."""
    e = np.where(expected < eps, eps, expected)
    a = np.where(actual < eps, eps, actual)
    total = 0.0
    for ei, ai in zip(e, a, strict=True):
        total += (ai - ei) * math.log(ai / ei)
    return total


def test_psi_of_a_known_histogram_matches_the_hand_computed_value() -> None:
    expected = np.array([0.25, 0.25, 0.25, 0.25])
    actual = np.array([0.1, 0.2, 0.3, 0.4])
    # -0.15 ln 0.4 - 0.05 ln 0.8 + 0.05 ln 1.2 + 0.15 ln 1.6
    #  = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228218
    assert psi(expected, actual) == pytest.approx(0.228218, abs=1e-6)
    assert psi(expected, actual) == pytest.approx(textbook_psi(expected, actual, 1e-4), rel=1e-12)


def test_psi_is_zero_for_equal_shares_and_symmetric() -> None:
    shares = np.array([0.1, 0.4, 0.5])
    other = np.array([0.3, 0.3, 0.4])

    assert psi(shares, shares) == 0.0
    assert psi(shares, other) == pytest.approx(psi(other, shares), rel=1e-12)


def test_an_empty_bin_is_floored_at_epsilon_so_the_index_stays_finite() -> None:
    expected = np.array([0.5, 0.5, 0.0])
    actual = np.array([0.4, 0.4, 0.2])

    value = psi(expected, actual, epsilon=1e-4)

    assert math.isfinite(value)
    assert value == pytest.approx(textbook_psi(expected, actual, 1e-4), rel=1e-12)
    assert value > 1.0  # a fifth of the values where training had none is a big shift


def test_psi_refuses_shares_of_different_bins() -> None:
    with pytest.raises(ValueError, match="same bins"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])


def test_deciles_of_training_hold_a_tenth_each() -> None:
    profile = FeatureProfile.from_training(np.arange(1000.0), bins=10)

    # The value at or above position q * (n - 1) = 99.9, 199.8, ...: 100, 200, ...
    np.testing.assert_array_equal(profile.edges, [100.0 * k for k in range(1, 10)])
    np.testing.assert_allclose(profile.shares, np.full(10, 0.1))


def test_bin_shares_agree_with_pandas_left_closed_bins() -> None:
    rng = np.random.default_rng(7)
    profile = FeatureProfile.from_training(rng.normal(size=2000), bins=8)
    live = np.concatenate([rng.normal(0.3, 1.2, size=500), profile.edges[:3]])  # values on edges

    bins = [-np.inf, *profile.edges, np.inf]
    oracle = pd.Series(pd.cut(live, bins=bins, right=False)).value_counts(
        sort=False, normalize=True
    )

    np.testing.assert_allclose(profile.bin_shares(live), oracle.to_numpy(), atol=1e-15)


def test_a_discrete_feature_merges_tied_quantiles_and_counts_its_shares() -> None:
    training = np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 20)

    profile = FeatureProfile.from_training(training, bins=10)

    np.testing.assert_array_equal(profile.edges, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(profile.shares, [0.0, 0.5, 0.3, 0.2])


def test_the_same_population_scores_low_and_a_shifted_one_high() -> None:
    rng = np.random.default_rng(11)
    profile = FeatureProfile.from_training(rng.normal(size=5000))

    same = psi(profile.shares, profile.bin_shares(rng.normal(size=5000)))
    shifted = psi(profile.shares, profile.bin_shares(rng.normal(1.0, 1.0, size=5000)))

    assert same < 0.02
    assert shifted > 0.25


def test_a_profile_survives_its_json_form() -> None:
    profile = FeatureProfile.from_training(np.arange(100.0), bins=4)

    again = FeatureProfile.from_dict(profile.to_dict())

    np.testing.assert_array_equal(again.edges, profile.edges)
    np.testing.assert_array_equal(again.shares, profile.shares)


def test_profiling_needs_as_many_values_as_bins() -> None:
    with pytest.raises(ValueError, match="finite values"):
        FeatureProfile.from_training([1.0, 2.0, np.nan], bins=3)


def test_profile_features_skips_text_and_too_sparse_columns() -> None:
    frame = pd.DataFrame(
        {
            "ret": np.linspace(-1, 1, 50),
            "name": ["x"] * 50,
            "sparse": [1.0, 2.0] + [np.nan] * 48,
        }
    )

    assert list(profile_features(frame, bins=10)) == ["ret"]
