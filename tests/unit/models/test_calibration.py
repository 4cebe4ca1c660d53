"""Tests for the calibrators in ``alphagate.models.calibration``.

The synthetic data has a known truth: the outcome is drawn with probability
``sigmoid(z)`` while the "model" reports ``sigmoid(s * z)``. ``s = 2.5`` is an
overconfident model, ``s = 0.4`` an underconfident one; temperature scaling
should recover ``T = s`` and Platt scaling the slope ``1 / s``. Every ECE is
measured on a held-out half the calibrator never saw.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from alphagate.models.calibration import (
    CLIP_EPS,
    MIN_CALIBRATION_ROWS,
    Calibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    calibrator_from_dict,
    fit_out_of_fold,
    make_calibrator,
)
from alphagate.models.calibration_metrics import expected_calibration_error

Kind = Literal["isotonic", "sigmoid", "temperature"]
KINDS: tuple[Kind, ...] = ("isotonic", "sigmoid", "temperature")


def miscalibrated(
    scale: float, n: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Reported ``sigmoid(scale * z)`` and outcomes drawn from the true ``sigmoid(z)``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    y = (rng.random(n) < expit(z)).astype(np.float64)
    return np.asarray(expit(scale * z), dtype=np.float64), y


@cache
def fitted(kind: Kind) -> Calibrator:
    """One calibrator per kind on noisy, overconfident data (shared by the property tests)."""
    p, y = miscalibrated(2.5, 3000, seed=11)
    return make_calibrator(kind).fit(p, y)


def oof_frame(n: int, seed: int) -> tuple[pd.Series, pd.Series]:
    """Out-of-fold predictions with NaN on some rows, and labels, on a UTC time index."""
    p, y = miscalibrated(2.5, n, seed)
    index = pd.date_range("2024-01-01 21:00", periods=n, freq="D", tz="UTC", name="ts")
    oof = pd.Series(p, index=index)
    oof.iloc[::7] = np.nan  # purged / embargoed rows no fold predicted
    return oof, pd.Series(y, index=index)


@pytest.mark.parametrize("scale", [2.5, 0.4], ids=["overconfident", "underconfident"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_calibrator_cuts_held_out_ece_to_a_fraction(kind: Kind, scale: float) -> None:
    p, y = miscalibrated(scale, 40_000, seed=1)
    half = len(p) // 2
    calibrator = make_calibrator(kind).fit(p[:half], y[:half])
    calibrated = calibrator.transform(p[half:])
    for strategy in ("uniform", "quantile"):
        before = expected_calibration_error(p[half:], y[half:], 10, strategy)
        after = expected_calibration_error(calibrated, y[half:], 10, strategy)
        assert before > 0.08, f"the synthetic data should be badly calibrated ({strategy})"
        assert after < 0.2 * before
        assert after < 0.02


@pytest.mark.parametrize("scale", [2.5, 0.4])
def test_temperature_recovers_the_true_scale(scale: float) -> None:
    p, y = miscalibrated(scale, 200_000, seed=2)
    calibrator = TemperatureCalibrator().fit(p, y)
    assert calibrator.temperature == pytest.approx(scale, abs=0.1 * scale)
    assert abs(calibrator.temperature - scale) < 0.1


@pytest.mark.parametrize("scale", [2.5, 0.4])
def test_platt_recovers_slope_one_over_scale_and_zero_intercept(scale: float) -> None:
    p, y = miscalibrated(scale, 200_000, seed=3)
    a, b = PlattCalibrator().fit(p, y).params
    assert a == pytest.approx(1 / scale, rel=0.03)
    assert abs(b) < 0.03


def test_isotonic_thresholds_reproduce_sklearn_predictions() -> None:
    p, y = miscalibrated(2.5, 5000, seed=4)
    grid = np.linspace(0.0, 1.0, 2001)
    reference = IsotonicRegression(out_of_bounds="clip").fit(p, y).predict(grid)
    ours = IsotonicCalibrator().fit(p, y).transform(grid)
    np.testing.assert_allclose(ours, np.clip(reference, CLIP_EPS, 1 - CLIP_EPS), atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    values=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=200),
)
def test_every_calibrator_is_non_decreasing_in_p(kind: Kind, values: list[float]) -> None:
    grid = np.sort(np.asarray(values))
    out = fitted(kind).transform(grid)
    assert (np.diff(out) >= 0).all()


def test_isotonic_is_non_decreasing_across_every_threshold_joint() -> None:
    calibrator = fitted("isotonic")
    assert isinstance(calibrator, IsotonicCalibrator)
    xs, _ = calibrator.thresholds
    assert len(xs) > 20
    around = np.concatenate(
        [np.nextafter(xs, -np.inf), xs, np.nextafter(xs, np.inf), (xs[:-1] + xs[1:]) / 2]
    )
    grid = np.sort(np.clip(around, 0.0, 1.0))
    assert (np.diff(calibrator.transform(grid)) >= 0).all()


def test_isotonic_stays_monotone_where_plain_np_interp_overshoots_a_joint() -> None:
    # Found by search: np.interp one ulp below x[1] returns one ulp more than y[1].
    xs = [0.0003668232937631529, 0.000906545802221133]
    ys = [0.008340248079071855, 0.7648087773428319]
    grid = np.array([np.nextafter(xs[1], 0.0), xs[1]])
    raw = np.interp(grid, xs, ys)
    assert raw[0] > raw[1]
    calibrator = IsotonicCalibrator.from_dict(
        {"kind": "isotonic", "version": 1, "x_thresholds": xs, "y_thresholds": ys}
    )
    out = calibrator.transform(grid)
    assert out[0] <= out[1]
    assert out[1] == ys[1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_calibrator_never_reverses_the_ranking_of_an_anti_predictive_model(kind: Kind) -> None:
    p, y = miscalibrated(1.0, 5000, seed=14)
    calibrator = make_calibrator(kind).fit(1.0 - p, y)
    out = calibrator.transform(np.linspace(0.01, 0.99, 491))
    assert (np.diff(out) >= 0).all()
    assert out[-1] - out[0] < 0.05  # nearly flat: no ranking to keep, none invented
    if isinstance(calibrator, PlattCalibrator):
        assert calibrator.params[0] == 0.0
    if isinstance(calibrator, TemperatureCalibrator):
        assert calibrator.temperature == pytest.approx(TemperatureCalibrator.T_MAX, rel=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_stay_inside_the_clip_and_nan_passes_through(kind: Kind) -> None:
    out = fitted(kind).transform(np.array([0.0, 1e-300, 0.5, 1.0, np.nan]))
    assert np.isnan(out[-1])
    assert (out[:-1] >= CLIP_EPS).all()
    assert (out[:-1] <= 1 - CLIP_EPS).all()


@pytest.mark.parametrize("kind", KINDS)
def test_transform_refuses_values_outside_the_unit_interval(kind: Kind) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fitted(kind).transform(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fitted(kind).transform(np.array([0.2, np.inf]))


@pytest.mark.parametrize("kind", KINDS)
def test_dict_round_trip_through_json_gives_bit_identical_transforms(kind: Kind) -> None:
    original = fitted(kind)
    text = json.dumps(original.to_dict())
    restored = calibrator_from_dict(json.loads(text))
    assert type(restored) is type(original)
    assert restored.name == original.name == kind
    assert restored.to_dict() == original.to_dict()
    grid = np.concatenate([np.linspace(0.0, 1.0, 10_001), np.random.default_rng(0).random(5000)])
    assert original.transform(grid).tobytes() == restored.transform(grid).tobytes()
    same_class = type(original).from_dict(json.loads(text))
    assert original.transform(grid).tobytes() == same_class.transform(grid).tobytes()


def test_from_dict_refuses_other_kinds_versions_and_impossible_parameters() -> None:
    with pytest.raises(ValueError, match="expected kind 'sigmoid'"):
        PlattCalibrator.from_dict({"kind": "temperature", "version": 1, "temperature": 2.0})
    with pytest.raises(ValueError, match="version"):
        TemperatureCalibrator.from_dict({"kind": "temperature", "version": 99, "temperature": 2.0})
    with pytest.raises(ValueError, match="must be > 0"):
        TemperatureCalibrator.from_dict({"kind": "temperature", "version": 1, "temperature": 0.0})
    with pytest.raises(ValueError, match="a must be >= 0"):
        PlattCalibrator.from_dict({"kind": "sigmoid", "version": 1, "a": -1.0, "b": 0.0})
    with pytest.raises(ValueError, match="keys"):
        PlattCalibrator.from_dict({"kind": "sigmoid", "version": 1, "a": 1.0})
    with pytest.raises(ValueError, match="increase"):
        IsotonicCalibrator.from_dict(
            {"kind": "isotonic", "version": 1, "x_thresholds": [0.1, 0.9], "y_thresholds": [1, 0]}
        )
    with pytest.raises(ValueError, match="unknown calibrator kind"):
        calibrator_from_dict({"kind": "beta", "version": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_an_unfitted_calibrator_refuses_to_transform_or_save(kind: Kind) -> None:
    calibrator = make_calibrator(kind)
    with pytest.raises(RuntimeError, match="not fitted"):
        calibrator.transform(np.array([0.5]))
    with pytest.raises(RuntimeError, match="not fitted"):
        calibrator.to_dict()


def test_make_calibrator_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown calibrator kind 'beta'"):
        make_calibrator("beta")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_a_fit_on_a_prefix_does_not_depend_on_the_rows_after_it(kind: Kind) -> None:
    k = 600
    oof_a, y_a = oof_frame(1000, seed=5)
    oof_b, y_b = oof_a.copy(), y_a.copy()
    rng = np.random.default_rng(6)
    oof_b.iloc[k:] = rng.random(1000 - k)
    y_b.iloc[k:] = 1.0 - y_b.iloc[k:]
    fit_a = fit_out_of_fold(kind, oof_a.iloc[:k], y_a.iloc[:k])
    fit_b = fit_out_of_fold(kind, oof_b.iloc[:k], y_b.iloc[:k])
    assert fit_a.to_dict() == fit_b.to_dict()
    grid = np.linspace(0.0, 1.0, 1001)
    assert fit_a.transform(grid).tobytes() == fit_b.transform(grid).tobytes()
    # Rows after k that no fold has predicted yet (NaN) are as good as absent.
    future_unpredicted = oof_b.copy()
    future_unpredicted.iloc[k:] = np.nan
    assert fit_out_of_fold(kind, future_unpredicted, y_b).to_dict() == fit_a.to_dict()
    # And the whole of dataset B, future included, does change the fit: the prefix test bites.
    assert fit_out_of_fold(kind, oof_b, y_b).to_dict() != fit_a.to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_rows_without_an_out_of_fold_prediction_are_ignored_whatever_their_label(
    kind: Kind,
) -> None:
    oof, y = oof_frame(800, seed=8)
    missing = oof.isna()
    assert missing.sum() > 100
    flipped = y.copy()
    flipped[missing] = 1.0 - flipped[missing]
    reference = fit_out_of_fold(kind, oof, y).to_dict()
    assert fit_out_of_fold(kind, oof, flipped).to_dict() == reference
    assert fit_out_of_fold(kind, oof[~missing], y[~missing]).to_dict() == reference
    direct = make_calibrator(kind).fit(oof[~missing].to_numpy(), y[~missing].to_numpy())
    assert direct.to_dict() == reference


def test_rows_without_a_label_are_dropped_too() -> None:
    oof, y = oof_frame(400, seed=9)
    unlabelled = y.copy()
    unlabelled.iloc[-30:] = np.nan  # outcomes not known yet at the end of the series
    expected = fit_out_of_fold("sigmoid", oof.iloc[:-30], y.iloc[:-30]).to_dict()
    assert fit_out_of_fold("sigmoid", oof, unlabelled).to_dict() == expected


def test_fit_out_of_fold_refuses_too_few_predicted_rows_counting_only_those() -> None:
    oof, y = oof_frame(2000, seed=10)
    oof.iloc[:] = np.nan
    oof.iloc[: MIN_CALIBRATION_ROWS - 1] = np.linspace(0.05, 0.95, MIN_CALIBRATION_ROWS - 1)
    y.iloc[: MIN_CALIBRATION_ROWS - 1] = np.arange(MIN_CALIBRATION_ROWS - 1) % 2
    with pytest.raises(ValueError, match=r"too few out-of-fold rows to calibrate: 49 of 2000"):
        fit_out_of_fold("isotonic", oof, y)
    oof.iloc[MIN_CALIBRATION_ROWS - 1] = 0.5
    fitted_at_minimum = fit_out_of_fold("isotonic", oof, y)
    assert fitted_at_minimum.transform(np.array([0.5])).shape == (1,)


def test_fit_out_of_fold_refuses_a_single_class() -> None:
    oof, y = oof_frame(300, seed=12)
    with pytest.raises(ValueError, match="single class: all 257 out-of-fold rows have label 1"):
        fit_out_of_fold("temperature", oof, pd.Series(1.0, index=y.index))


def test_fit_out_of_fold_refuses_misaligned_indexes_and_sign_labels() -> None:
    oof, y = oof_frame(300, seed=13)
    with pytest.raises(ValueError, match="same index"):
        fit_out_of_fold("sigmoid", oof, y.iloc[::-1])
    with pytest.raises(ValueError, match="0 or 1"):
        fit_out_of_fold("sigmoid", oof, 2.0 * y - 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_direct_fit_also_refuses_a_single_class(kind: Kind) -> None:
    with pytest.raises(ValueError, match="single class"):
        make_calibrator(kind).fit(np.array([0.2, 0.7, 0.9]), np.zeros(3))


@pytest.mark.parametrize("kind", KINDS)
def test_fitting_twice_on_the_same_rows_gives_the_same_parameters(kind: Kind) -> None:
    p, y = miscalibrated(2.5, 3000, seed=11)
    assert make_calibrator(kind).fit(p, y).to_dict() == fitted(kind).to_dict()
