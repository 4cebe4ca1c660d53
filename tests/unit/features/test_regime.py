"""Tests for the HMM regime feature: point in time, able to see regimes, deterministic.

An HMM regime feature is the textbook place for look-ahead to hide (a fit on
the whole series, smoothed state probabilities), so the point-in-time check
runs at cuts on both sides of a refit, and two leaky variants are shown to
fail the same check: one fitted on everything and smoothed, one with honest
expanding fits but smoothed probabilities. hmmlearn is the oracle for the
hand-written forward filter: at the last observation filtering and smoothing
agree, and the filter's log-likelihood is hmmlearn's ``score``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM
from scipy.stats import multivariate_normal

from alphagate.features import (
    PROFILES,
    FeatureProfile,
    FeatureRegistry,
    PointInTimeError,
    assert_point_in_time,
    build_features,
    default_registry,
)
from alphagate.features.regime import (
    P_HIGH_VOL,
    STATE,
    VOLATILITY_WINDOW,
    RegimeModel,
    diagonal_gaussian_log_likelihood,
    fit_regime_model,
    forward_filter,
    observations,
    regime,
    regime_probabilities,
)
from alphagate.testing import synthetic_bars

MIN_HISTORY = 252
REFIT_EVERY = 63
FIRST_REFITS = (MIN_HISTORY - 1, MIN_HISTORY - 1 + REFIT_EVERY, MIN_HISTORY - 1 + 2 * REFIT_EVERY)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """Two symbols of 700 XNYS daily bars."""
    frame = synthetic_bars(["AAA", "BBB"], "2018-01-01", "2020-12-31")
    stamps = frame.index.get_level_values("ts").unique()
    return frame.loc[frame.index.get_level_values("ts") <= stamps[699]]


def regime_only(bars: pd.DataFrame, registry: FeatureRegistry | None = None) -> pd.DataFrame:
    """``build_features`` with a profile of the regime feature alone."""
    registry = FeatureRegistry([regime()]) if registry is None else registry
    profile = FeatureProfile(
        "regime", (regime().name,), calendar_features=False, cross_sectional=False
    )
    return build_features(bars, profile, registry)


def switching_close(segments: list[tuple[int, float]], seed: int = 3) -> np.ndarray:
    """Closes whose daily log returns have standard deviation ``sigma`` for ``bars`` bars each."""
    rng = np.random.default_rng(seed)
    returns = np.concatenate([rng.normal(0.0, sigma, count) for count, sigma in segments])
    return np.asarray(100.0 * np.exp(np.cumsum(returns)))


def as_hmmlearn(model: RegimeModel) -> GaussianHMM:
    """A hmmlearn model with ``model``'s parameters, to ask it for smoothed probabilities."""
    hmm = GaussianHMM(n_components=len(model.startprob), covariance_type="diag")
    hmm.startprob_ = model.startprob
    hmm.transmat_ = model.transmat
    hmm.means_ = model.means
    hmm.covars_ = model.variances
    return hmm


# --------------------------------------------------------------------------- point in time


def test_the_fixture_has_two_symbols_of_700_bars(bars: pd.DataFrame) -> None:
    assert bars.groupby(level="symbol").size().to_dict() == {"AAA": 700, "BBB": 700}


def test_the_regime_feature_is_point_in_time_on_both_sides_of_refits(bars: pd.DataFrame) -> None:
    stamps = bars.index.get_level_values("ts").unique()
    around_refits = [stamps[p + d] for p in FIRST_REFITS[1:] for d in (-1, 0, 1)]
    assert_point_in_time(regime_only, bars, cuts=[*around_refits, stamps[500], stamps[650]])


def test_the_regime_feature_is_point_in_time_at_evenly_spread_cuts(bars: pd.DataFrame) -> None:
    assert_point_in_time(regime_only, bars, cuts=4)


def test_the_regime_feature_is_point_in_time_inside_the_medium_profile(bars: pd.DataFrame) -> None:
    registry = default_registry()
    spec = registry.register(regime())
    profile = PROFILES["medium"].with_features(spec.name)
    assert_point_in_time(lambda b: build_features(b, profile, registry), bars, cuts=2)


def smoothed_on_everything(bars: pd.DataFrame) -> pd.DataFrame:
    """The leak to avoid: fit on the whole series, then forward-backward over all of it."""
    pieces = []
    for _, group in bars.groupby(level="symbol", sort=False):
        values = observations(group["close"].to_numpy(dtype=np.float64))
        valid = np.isfinite(values).all(axis=1)
        model = fit_regime_model(values[valid], 2)
        assert model is not None
        z = (values[valid] - model.centre) / model.scale
        p_high = np.full(len(group), np.nan)
        p_high[valid] = as_hmmlearn(model).predict_proba(z)[:, -1]
        pieces.append(pd.DataFrame({P_HIGH_VOL: p_high}, index=group.index))
    return pd.concat(pieces)


def smoothed_with_expanding_fits(bars: pd.DataFrame) -> pd.DataFrame:
    """A subtler leak: the feature's own point-in-time fits, but smoothed probabilities."""
    pieces = []
    for _, group in bars.groupby(level="symbol", sort=False):
        values = observations(group["close"].to_numpy(dtype=np.float64))
        valid = np.isfinite(values).all(axis=1)
        rows = np.flatnonzero(valid)
        p_high = np.full(len(group), np.nan)
        for start in range(MIN_HISTORY - 1, len(group), REFIT_EVERY):
            model = fit_regime_model(values[: start + 1][valid[: start + 1]], 2)
            assert model is not None
            z = (values[rows] - model.centre) / model.scale
            smoothed = as_hmmlearn(model).predict_proba(z)[:, -1]
            segment = (rows >= start) & (rows < start + REFIT_EVERY)
            p_high[rows[segment]] = smoothed[segment]
        pieces.append(pd.DataFrame({P_HIGH_VOL: p_high}, index=group.index))
    return pd.concat(pieces)


def test_a_regime_fitted_and_smoothed_on_the_whole_series_fails_the_check(
    bars: pd.DataFrame,
) -> None:
    stamps = bars.index.get_level_values("ts").unique()
    with pytest.raises(PointInTimeError, match=P_HIGH_VOL) as caught:
        assert_point_in_time(smoothed_on_everything, bars, cuts=[stamps[400], stamps[600]])
    # The whole-series fit changes with every cut, so values long before it change too.
    assert stamps.get_loc(caught.value.ts) < stamps.get_loc(caught.value.cut) - 100


def test_smoothing_alone_leaks_even_with_point_in_time_fits(bars: pd.DataFrame) -> None:
    with pytest.raises(PointInTimeError, match=P_HIGH_VOL) as caught:
        assert_point_in_time(smoothed_with_expanding_fits, bars, cuts=3)
    assert caught.value.ts <= caught.value.cut


# --------------------------------------------------------------------------- the filter


@pytest.fixture(scope="module")
def fitted(bars: pd.DataFrame) -> tuple[RegimeModel, np.ndarray]:
    """A model fitted on one synthetic symbol, and its observations.

    The synthetic bars have a single true regime, so the states overlap and
    the filter is often unsure: where it is, smoothing has something to add.
    """
    values = observations(bars.xs("AAA", level="symbol")["close"].to_numpy(dtype=np.float64))
    values = values[np.isfinite(values).all(axis=1)]
    model = fit_regime_model(values, 2)
    assert model is not None
    return model, values


def test_the_log_likelihood_is_the_diagonal_gaussian_density() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 2))
    means = np.array([[0.0, -1.0], [0.5, 2.0]])
    variances = np.array([[1.0, 0.25], [4.0, 0.5]])
    ours = diagonal_gaussian_log_likelihood(x, means, variances)
    for state in range(2):
        scipy = multivariate_normal(means[state], np.diag(variances[state])).logpdf(x)
        np.testing.assert_allclose(ours[:, state], scipy, rtol=1e-12)


def test_the_filter_agrees_with_hmmlearn_where_filtering_equals_smoothing(
    fitted: tuple[RegimeModel, np.ndarray],
) -> None:
    model, values = fitted
    filtered, log_likelihood = forward_filter(
        model.log_likelihood(values), model.startprob, model.transmat
    )
    hmm = as_hmmlearn(model)
    z = (values - model.centre) / model.scale
    smoothed = hmm.predict_proba(z)
    np.testing.assert_allclose(filtered[-1], smoothed[-1], atol=1e-9)
    assert log_likelihood == pytest.approx(hmm.score(z), rel=1e-10)
    # Everywhere else the filter must not know what smoothing knows.
    assert np.abs(filtered[:-1] - smoothed[:-1]).max() > 0.1


def test_filtered_probabilities_are_distributions(fitted: tuple[RegimeModel, np.ndarray]) -> None:
    model, values = fitted
    filtered, _ = forward_filter(model.log_likelihood(values), model.startprob, model.transmat)
    assert (filtered >= 0).all() and (filtered <= 1).all()
    np.testing.assert_allclose(filtered.sum(axis=1), 1.0, rtol=1e-12)


def test_the_filter_survives_a_state_its_start_rules_out() -> None:
    log_likelihood = np.array([[-1000.0, 0.0], [0.0, -1000.0]])
    filtered, total = forward_filter(log_likelihood, np.array([1.0, 0.0]), np.eye(2))
    np.testing.assert_array_equal(filtered, [[1.0, 0.0], [1.0, 0.0]])
    assert total == pytest.approx(-1000.0)


def test_fitted_states_are_ordered_from_calm_to_volatile() -> None:
    values = observations(switching_close([(200, 0.004), (200, 0.02), (200, 0.01)]))
    model = fit_regime_model(values[np.isfinite(values).all(axis=1)], 3)
    assert model is not None
    assert np.all(np.diff(model.means[:, 1]) > 0)
    np.testing.assert_allclose(model.transmat.sum(axis=1), 1.0)


# --------------------------------------------------------------------------- behaviour


def test_values_are_nan_exactly_before_the_first_fit(bars: pd.DataFrame) -> None:
    spec = regime()
    assert spec.warmup == MIN_HISTORY - 1
    one = bars.xs("AAA", level="symbol")
    out = spec.function(one)
    assert list(out.columns) == [P_HIGH_VOL, STATE]
    assert out.iloc[: spec.warmup].isna().all().all()
    assert out.iloc[spec.warmup :].notna().all().all()


def test_the_state_is_the_most_probable_one(bars: pd.DataFrame) -> None:
    out = regime().function(bars.xs("BBB", level="symbol")).dropna()
    assert set(out[STATE].unique()) <= {0.0, 1.0}
    decided = out[P_HIGH_VOL] != 0.5
    assert ((out[P_HIGH_VOL] > 0.5) == (out[STATE] == 1.0))[decided].all()


def test_a_switch_to_high_volatility_is_picked_up_after_a_short_lag() -> None:
    p_high = regime_probabilities(switching_close([(400, 0.005), (400, 0.03)]))[:, -1]
    # The refit at bar 440 is the first to have seen volatile bars.
    assert np.mean(p_high[440:] > 0.5) > 0.9


def test_calm_and_volatile_spells_are_told_apart_once_both_have_been_seen() -> None:
    """Regimes are relative to the history the model has seen.

    While a symbol has only ever been calm, the two states split calm days
    into calmer and less calm ones, so ``regime_p_high_vol`` then hovers
    around one half. That is what a point-in-time HMM can know; a model fitted
    on the whole series would call those days calm only because it had seen
    the storm that comes later. So the calm spell checked here is the second
    one, after a volatile spell is part of the training history.
    """
    segments = [(300, 0.005), (200, 0.03), (300, 0.005), (200, 0.03)]
    p_high = regime_probabilities(switching_close(segments))[:, -1]
    lag = VOLATILITY_WINDOW + 10  # the rolling volatility needs its window to forget
    assert np.mean(p_high[300 + lag : 500] > 0.5) > 0.8
    assert np.mean(p_high[500 + lag : 800] < 0.5) > 0.9
    assert np.mean(p_high[800 + lag :] > 0.5) > 0.9


def test_two_builds_are_identical(bars: pd.DataFrame) -> None:
    first, second = regime_only(bars), regime_only(bars)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.notna().any().all()


def test_the_spec_name_carries_its_parameters_so_the_cache_tells_them_apart() -> None:
    assert regime().name == "regime_2_63_252"
    assert regime(3, 21, 300).name == "regime_3_21_300"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_states": 1}, "n_states"),
        ({"refit_every": 0}, "refit_every"),
        ({"min_history": 30}, "min_history must be an integer >= 40"),
        ({"n_states": True}, "n_states"),
    ],
)
def test_impossible_parameters_are_refused(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        regime(**arguments)
